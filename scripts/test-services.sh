#!/usr/bin/env bash
# Starts (and on a fresh Debian machine, as root, installs) the database servers the
# store suites run against and the RabbitMQ the bus tests use, then prints the
# environment that points tests at them:
#   NIMBUS_TEST_MYSQL_URL, NIMBUS_TEST_POSTGRES_URL, NIMBUS_TEST_RABBIT_URL
# A server that cannot be had is left out, and its tests skip saying why.
set -uo pipefail
log() { echo "test-services: $*" >&2; }
root=false; [ "$(id -u)" = 0 ] && root=true
apt_updated=false
install() {
	$root && command -v apt-get >/dev/null || return 1
	if ! $apt_updated; then apt-get update -qq >&2 || return 1; apt_updated=true; fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done; return 1; }

# MariaDB: root without a password on 127.0.0.1:3306.
if ! port_open 3306; then
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || install mariadb-server || log "cannot install MariaDB"
	if [ -x /usr/sbin/mariadbd ] && $root; then
		log "starting MariaDB"
		mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >&2 || true
		wait_port 3306 || log "MariaDB did not come up"
	fi
fi
if port_open 3306 && command -v mariadb >/dev/null; then
	# A fresh install lets root in through the socket only; allow the TCP login too.
	mariadb -uroot -h127.0.0.1 -e 'SELECT 1' >/dev/null 2>&1 ||
		mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" >/dev/null 2>&1
fi
if port_open 3306; then echo "export NIMBUS_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/mysql"; fi

# PostgreSQL: user postgres trusted on 127.0.0.1:5432.
if ! port_open 5432; then
	ls /etc/postgresql/*/main >/dev/null 2>&1 || install postgresql || log "cannot install PostgreSQL"
	if $root && ls /etc/postgresql/*/main >/dev/null 2>&1; then
		log "starting PostgreSQL"
		pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n1)" main start >&2 || true
		wait_port 5432 || log "PostgreSQL did not come up"
	fi
fi
if port_open 5432; then
	if ! psql -h 127.0.0.1 -U postgres -c 'SELECT 1' >/dev/null 2>&1 && $root; then
		# A fresh cluster asks for a password on TCP: trust loopback for the test user.
		hba=$(ls /etc/postgresql/*/main/pg_hba.conf | tail -n1)
		sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba" && pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n1)" main reload >&2
	fi
	echo "export NIMBUS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres"
fi

# RabbitMQ: guest/guest on 127.0.0.1:5672 (RabbitMQ lets guest in from loopback only).
# The bus tests restart it with rabbitmqctl, so they need this machine's broker.
export PATH="$PATH:/usr/sbin"
if ! port_open 5672; then
	command -v rabbitmq-server >/dev/null || install rabbitmq-server || log "cannot install RabbitMQ"
	if $root && command -v rabbitmq-server >/dev/null; then
		if rabbitmqctl -q ping >/dev/null 2>&1; then
			log "starting the RabbitMQ application"   # the node runs, its application was stopped
			rabbitmqctl -q start_app >&2 || true
		else
			log "starting RabbitMQ"
			rabbitmq-server -detached >&2 || true
		fi
		# await_startup needs a node to ask: wait for the node, then for its application.
		for _ in $(seq 1 60); do rabbitmqctl -q ping >/dev/null 2>&1 && break; sleep 1; done
		timeout 120 rabbitmqctl -q await_startup >&2 || log "RabbitMQ did not come up"
		wait_port 5672 || log "RabbitMQ does not listen on 5672"
	fi
fi
if port_open 5672; then echo "export NIMBUS_TEST_RABBIT_URL=amqp://guest:guest@127.0.0.1:5672/"; fi

# QEMU, for the QEMU driver's tests, and the tools they build guest disks, config
# drives and the test image with. Those tests skip, saying why, without QEMU.
qemu_tools="qemu-system-x86_64 qemu-img genisoimage isoinfo mcopy mkfs.vfat sfdisk syslinux cpio"
for t in $qemu_tools; do
	if ! command -v "$t" >/dev/null; then
		install --no-install-recommends qemu-system-x86 qemu-utils genisoimage mtools dosfstools fdisk syslinux syslinux-common cpio ||
			log "cannot install QEMU and its tools"
		break
	fi
done

# libvirt, for the libvirt driver's tests, which start virtlogd and a libvirtd of
# their own when no system libvirtd answers; they skip, saying why, without it.
export PATH="$PATH:/usr/sbin"
if ! command -v libvirtd >/dev/null || ! command -v virtlogd >/dev/null; then
	install --no-install-recommends libvirt-daemon-system libvirt-clients || log "cannot install libvirt"
fi
# Without udev /dev/kvm stays root's alone, and libvirt, whose QEMU runs as
# libvirt-qemu, then probes QEMU anew on every call: give it to group kvm as udev does.
if $root && [ -c /dev/kvm ] && getent group kvm >/dev/null; then chgrp kvm /dev/kvm && chmod 0660 /dev/kvm; fi
