#!/usr/bin/env bash
# Builds the tiny guest the QEMU driver's tests boot, from two Debian packages
# (the cloud kernel and busybox-static), without root-only tools:
#   vmlinuz      the kernel
#   initrd.img   a busybox initramfs that is the whole guest
#   disk.qcow2   a self-booting disk (MBR, FAT16 partition, SYSLINUX, kernel and
#                initramfs), i.e. an image a cloud boots on its own
#   VERSION      what it was built from; a build is kept until this script changes
# into $NIMBUS_TEST_IMAGE_DIR, default ${XDG_CACHE_HOME:-~/.cache}/nimbus/test-image.
#
# On its serial console the guest prints lines that start with "NIMBUS-GUEST:":
#   banner kernel=...                       first thing it does
#   config-drive uuid=... hostname=... ...  what it read from its config drive
#   lease eth0 10.0.2.15/24 router=...      a DHCP lease, one line per NIC
#   ready uptime=...                        booted; the console shell follows
#   acpi power button, powering off         on an ACPI power button press
# Kernel arguments: nimbus.nonet=1 skips DHCP, nimbus.halt=1 powers off once ready.
#
# Needs apt-get (with package lists), dpkg-deb, cpio, gzip; for the disk also
# mtools, dosfstools, fdisk (sfdisk), syslinux, syslinux-common and qemu-utils.
# As root on Debian it installs those that are missing.
set -euo pipefail

if [ -n "${XDG_CACHE_HOME:-}" ] || [ -n "${HOME:-}" ]; then
	OUT=${NIMBUS_TEST_IMAGE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nimbus/test-image}
else
	OUT=${NIMBUS_TEST_IMAGE_DIR:-${TMPDIR:-/tmp}/nimbus-test-image-$(id -u)}
fi
log() { echo "build-test-image: $*" >&2; }
die() { log "$*"; exit 1; }

need_tools() {
	local missing=() t
	for t in apt-get apt-cache dpkg-deb cpio gzip mcopy mkfs.fat sfdisk syslinux qemu-img; do
		command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || [ -x "/sbin/$t" ] || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing the tools for ${missing[*]}"
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			cpio mtools dosfstools fdisk syslinux syslinux-common qemu-utils >&2
	else
		die "missing ${missing[*]}: install cpio mtools dosfstools fdisk syslinux syslinux-common qemu-utils"
	fi
}
export PATH="$PATH:/usr/sbin:/sbin"

BUILDER=$(sha256sum "$0" | cut -c1-16)
built() { [ -f "$OUT/VERSION" ] && [ "$(head -n1 "$OUT/VERSION")" = "builder $BUILDER" ] &&
	[ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ -s "$OUT/disk.qcow2" ]; }
# A built image stays until this script changes or NIMBUS_TEST_IMAGE_REBUILD=1:
# tests need a guest that boots, not the newest kernel.
if [ "${NIMBUS_TEST_IMAGE_REBUILD:-}" != 1 ] && built; then
	echo "$OUT"
	exit 0
fi
mkdir -p "$OUT"
# One build at a time: parallel test packages may ask together.
exec 9>"$OUT/.lock"
flock 9
if [ "${NIMBUS_TEST_IMAGE_REBUILD:-}" != 1 ] && built; then
	echo "$OUT"
	exit 0
fi
need_tools

# The kernel package the cloud metapackage points at today, resolved through apt.
kernel_pkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1; }
KPKG=$(kernel_pkg)
if [ -z "$KPKG" ] && [ "$(id -u)" = 0 ]; then
	apt-get update -qq >&2
	KPKG=$(kernel_pkg)
fi
[ -n "$KPKG" ] || die "apt cannot resolve linux-image-cloud-amd64: run apt-get update"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-test-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# As root, apt-get download would hand the folder to its _apt user.
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
start=$SECONDS

log "fetching $KPKG and busybox-static"
download() { (cd "$WORK" && apt-get download -qq "${sandbox[@]}" "$KPKG" busybox-static >&2); }
if ! download; then
	# Package lists older than the mirror name files it no longer has.
	[ "$(id -u)" = 0 ] || die "apt-get download failed"
	apt-get update -qq >&2
	KPKG=$(kernel_pkg)
	download || die "apt-get download failed"
fi
dpkg-deb -x "$WORK"/linux-image-*.deb "$WORK/kernel"
dpkg-deb -x "$WORK"/busybox-static_*.deb "$WORK/busybox"
BB="$WORK/busybox/bin/busybox"
KVER=$(ls "$WORK/kernel/lib/modules")
MODS="$WORK/kernel/lib/modules/$KVER"

ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,sbin,etc/acpi/PWRF,proc,sys,dev,tmp,run,mnt/config,usr/share/udhcpc,root}
cp "$BB" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"

# Only the modules the guest loads, with what they depend on.
"$BB" depmod -b "$WORK/kernel" "$KVER"
wanted="virtio_pci virtio_blk virtio_net virtio_rng virtio_console button evdev isofs vfat nls_cp437 nls_ascii nls_utf8"
files=""
for m in $wanted; do
	line=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$MODS/modules.dep" || true)
	[ -n "$line" ] || continue # built into the kernel
	files="$files ${line%%:*} ${line#*:}"
done
for f in $(printf '%s\n' $files | sort -u); do
	mkdir -p "$ROOT/lib/modules/$KVER/$(dirname "$f")"
	cp "$MODS/$f" "$ROOT/lib/modules/$KVER/$f"
done
cp "$MODS"/modules.{order,builtin} "$ROOT/lib/modules/$KVER/" 2>/dev/null || true
"$BB" depmod -b "$ROOT" "$KVER"

cat >"$ROOT/usr/share/udhcpc/lease.sh" <<'EOF'
#!/bin/sh
# udhcpc calls this with the lease in its environment.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	if [ -n "$router" ]; then
		ip route replace default via "${router%% *}" dev "$interface"
	fi
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	echo "NIMBUS-GUEST: lease $interface $ip/${mask:-24} router=${router:-none} dns=${dns:-none}" >/dev/console
	;;
esac
exit 0
EOF

cat >"$ROOT/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "NIMBUS-GUEST: acpi power button, powering off" >/dev/console
sync
poweroff -f
EOF

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# The whole guest: PID 1 of the initramfs. It must never exit.
export PATH=/bin:/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "NIMBUS-GUEST: $*" >/dev/console; }
say "banner kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1="*) echo "${w#*=}" ;; esac; done; }
for m in virtio_pci virtio_blk virtio_net virtio_rng virtio_console button evdev isofs vfat nls_cp437 nls_ascii nls_utf8; do
	modprobe "$m" 2>/dev/null
done
mdev -s
ip link set lo up

# The config drive, as cloud-init finds it: the filesystem labelled config-2.
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$2" | head -n1; }
# virtio devices probe as their driver loads; a short retry covers a slow host.
dev=""
for _ in 1 2 3; do
	dev=$(findfs LABEL=config-2 2>/dev/null) && break
	sleep 0.1
	mdev -s
done
if [ -n "$dev" ] && mount -o ro "$dev" /mnt/config 2>/dev/null; then
	md=/mnt/config/openstack/latest/meta_data.json
	uuid=$(field uuid "$md")
	host=$(field hostname "$md")
	[ -n "$host" ] && hostname "$host"
	ud=none
	[ -f /mnt/config/openstack/latest/user_data ] && ud="$(wc -c </mnt/config/openstack/latest/user_data)B"
	nd=no
	[ -f /mnt/config/openstack/latest/network_data.json ] && nd=yes
	say "config-drive uuid=$uuid hostname=$host name=$(field name "$md") user_data=$ud network_data=$nd device=$dev"
else
	say "config-drive none"
fi

if [ "$(arg nimbus.nonet)" != 1 ]; then
	for i in /sys/class/net/eth*; do
		[ -e "$i" ] || continue
		n=${i##*/}
		ip link set "$n" up
		udhcpc -i "$n" -f -q -n -t 10 -T 1 -s /usr/share/udhcpc/lease.sh >/dev/null 2>&1 || say "no lease on $n"
	done
fi
# busybox acpid gives up without its pid and log folders.
acpid -c /etc/acpi -p /run/acpid.pid -l /run/acpid.log
say "ready uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ "$(arg nimbus.halt)" = 1 ]; then
	say "halting"
	poweroff -f
fi
while true; do setsid cttyhack sh -l; sleep 1; done
EOF
chmod 755 "$ROOT/init" "$ROOT/usr/share/udhcpc/lease.sh" "$ROOT/etc/acpi/PWRF/00000080"
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"
echo "root:x:0:" >"$ROOT/etc/group"

NEW="$WORK/out"
mkdir -p "$NEW"
(cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9n >"$NEW/initrd.img"
cp "$WORK/kernel/boot/vmlinuz-$KVER" "$NEW/vmlinuz"

# The disk: an MBR with one bootable FAT16 partition at 1 MiB that holds
# SYSLINUX, the kernel and the initramfs.
RAW="$WORK/disk.raw"
SIZE_MB=32
truncate -s "${SIZE_MB}M" "$RAW"
echo 'start=2048, type=6, bootable' | sfdisk -q --no-reread --no-tell-kernel "$RAW" >/dev/null
mkfs.fat -F 16 -n NIMBUSBOOT --offset 2048 "$RAW" $(((SIZE_MB - 1) * 1024)) >/dev/null
cat >"$WORK/syslinux.cfg" <<'EOF'
SERIAL 0 115200
PROMPT 0
TIMEOUT 0
DEFAULT guest
LABEL guest
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0 quiet
EOF
MTOOLS_SKIP_CHECK=1 mcopy -i "$RAW@@1M" "$NEW/vmlinuz" "$NEW/initrd.img" "$WORK/syslinux.cfg" ::/
syslinux --offset $((2048 * 512)) --install "$RAW"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$RAW" bs=440 count=1 conv=notrunc status=none
qemu-img convert -q -c -f raw -O qcow2 "$RAW" "$NEW/disk.qcow2"
{
	echo "builder $BUILDER"
	dpkg-deb -f "$WORK"/linux-image-*.deb Package Version | paste -sd' '
	dpkg-deb -f "$WORK"/busybox-static_*.deb Package Version | paste -sd' '
} >"$NEW/VERSION"

for f in vmlinuz initrd.img disk.qcow2 VERSION; do mv -f "$NEW/$f" "$OUT/$f"; done
log "built in $((SECONDS - start)) s: $(du -h "$OUT/vmlinuz" "$OUT/initrd.img" "$OUT/disk.qcow2" | awk '{printf "%s %s  ", $2, $1}')"
echo "$OUT"
