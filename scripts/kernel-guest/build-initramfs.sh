#!/usr/bin/env bash
# Builds the initramfs of the kernel-initiator test guest (test/kernel/):
# busybox, the modules for virtio networking + iSCSI over TCP + SCSI disks +
# ext4, open-iscsi's iscsistart/iscsid/iscsiadm, mkfs.ext4/e2fsck/debugfs with
# their shared libraries, and init.sh as /init.
#
# Usage: build-initramfs.sh <kernel-version> <output.cpio.gz>
# Needs (Debian): linux-image-amd64 busybox-static open-iscsi e2fsprogs kmod cpio.
# Runs unprivileged: everything is copied from the host, nothing is installed.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <kernel-version> <output.cpio.gz>" >&2
  exit 2
fi
KVER=$1
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "missing $1: install $2 (see .ci/run)" >&2; exit 3; }
}
need modprobe kmod
need cpio cpio
need gzip gzip
need ldd libc-bin
[ -d "/lib/modules/$KVER" ] || { echo "missing /lib/modules/$KVER: install linux-image-amd64 (see .ci/run)" >&2; exit 3; }

# A statically linked busybox: the guest has no libc of its own besides the
# libraries copied for the open-iscsi and e2fsprogs binaries.
BUSYBOX=""
for b in /bin/busybox /usr/bin/busybox; do
  if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
done
[ -n "$BUSYBOX" ] || { echo "missing a static busybox: install busybox-static (see .ci/run)" >&2; exit 3; }

find_bin() {
  local p
  for p in "/usr/sbin/$1" "/sbin/$1" "/usr/bin/$1" "/bin/$1"; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  echo "missing $1: install $2 (see .ci/run)" >&2
  exit 3
}
BINS=(
  "$(find_bin iscsistart open-iscsi)"
  "$(find_bin iscsid open-iscsi)"
  "$(find_bin iscsiadm open-iscsi)"
  "$(find_bin mke2fs e2fsprogs)"
  "$(find_bin e2fsck e2fsprogs)"
)

# Modules the guest loads, in dependency order. crc32c-intel and
# crct10dif-pclmul may fail to load on a CPU without the instructions; their
# generic versions are in the list too (softdeps), so /init ignores failures.
ROOT_MODULES=(virtio_pci virtio_net iscsi_tcp sd_mod crc32c_generic ext4)

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/tsgt-initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

mkdir -p "$STAGE"/{bin,sbin,etc/iscsi,proc,sys,dev,run,tmp,mnt,var/lib,lib64,usr/bin,usr/sbin}
cp "$BUSYBOX" "$STAGE/bin/busybox"
ln -s busybox "$STAGE/bin/sh"

# Modules: `modprobe --show-depends` prints "insmod <path>" lines in load order.
: >"$STAGE/etc/modules.order"
for m in "${ROOT_MODULES[@]}"; do
  modprobe --show-depends -S "$KVER" "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
  case "$ko" in
    *.ko) ;;
    *) echo "compressed module $ko: the busybox insmod in the guest cannot load it" >&2; exit 4 ;;
  esac
  mkdir -p "$STAGE$(dirname "$ko")"
  cp "$ko" "$STAGE$ko"
  echo "$ko" >>"$STAGE/etc/modules.order"
done

# Binaries and every shared library they need, at the paths the loader expects.
copy_with_libs() {
  local bin=$1 lib
  mkdir -p "$STAGE$(dirname "$bin")"
  cp "$bin" "$STAGE$bin"
  for lib in $(ldd "$bin" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
    if [ ! -e "$STAGE$lib" ]; then
      mkdir -p "$STAGE$(dirname "$lib")"
      cp -L "$lib" "$STAGE$lib"
    fi
  done
}
for b in "${BINS[@]}"; do copy_with_libs "$b"; done
# mkfs.ext4 is mke2fs under another name; the name selects the ext4 profile.
MKE2FS=${BINS[3]}
ln -sf "$(basename "$MKE2FS")" "$STAGE$(dirname "$MKE2FS")/mkfs.ext4"
# iscsid only answers iscsiadm when getpwuid() knows the peer's uid.
echo 'root:x:0:0:root:/:/bin/sh' >"$STAGE/etc/passwd"
echo 'root:x:0:' >"$STAGE/etc/group"
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$STAGE/etc/mke2fs.conf"

cp "$HERE/init.sh" "$STAGE/init"
chmod 0755 "$STAGE/init"
echo "$KVER" >"$STAGE/etc/tsgt-guest-kernel"

mkdir -p "$(dirname "$OUT")"
TMP_OUT="$OUT.tmp.$$"
(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z | cpio --null --create --format=newc --owner=0:0 --quiet) | gzip -1 >"$TMP_OUT"
mv -f "$TMP_OUT" "$OUT"
echo "initramfs for $KVER: $OUT ($(wc -c <"$OUT") bytes)"
