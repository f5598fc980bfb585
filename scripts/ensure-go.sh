#!/usr/bin/env bash
# Makes sure a Go toolchain new enough for go.mod is on PATH; installs the official
# release under /usr/local/go (root) or ~/.local/go when it is missing or too old.
# Prints the directory to put first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(awk '/^go /{print $2; exit}' go.mod)

have_ok() {
	local bin=$1
	[ -x "$bin" ] || return 1
	local have
	have=$("$bin" env GOVERSION 2>/dev/null | sed 's/^go//')
	[ -n "$have" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" = "$want" ]
}

for bin in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "$HOME/.local/go/bin/go"; do
	if [ -n "$bin" ] && have_ok "$bin"; then
		dirname "$bin"
		exit 0
	fi
done

if [ "$(id -u)" = 0 ]; then dest=/usr/local; else dest=$HOME/.local; fi
arch=$(uname -m)
case "$arch" in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; esac
echo "installing Go $want into $dest/go" >&2
command -v curl >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq curl ca-certificates >&2; }
tmp=$(mktemp -d)
curl -fsSL "https://go.dev/dl/go${want}.linux-${arch}.tar.gz" -o "$tmp/go.tgz" >&2
rm -rf "$dest/go" && mkdir -p "$dest" && tar -C "$dest" -xzf "$tmp/go.tgz"
rm -rf "$tmp"
echo "$dest/go/bin"
