#!/bin/sh
# /init of the kernel-initiator test guest (built by build-initramfs.sh).
# Logs in to a tsgt target with the Linux iSCSI initiator (iscsi_tcp and
# open-iscsi), runs an ext4 round trip on the LUN and powers off. Progress
# goes to the serial console as lines the host test parses:
#   TSGT-STEP <name> ok [details]
#   TSGT-RESULT PASS | TSGT-RESULT FAIL <why>
# Parameters come from the kernel command line (tsgt.<key>=<value>):
#   mode       iscsiadm (iscsid + discovery + node login/logout) | iscsistart
#   portal     target IPv4 address (default 10.0.2.100: qemu's guestfwd relays
#              it to tsgt on the host's loopback; nothing else is reachable)
#   port       target TCP port (default 3260)
#   target     target IQN;  initiator  this guest's IQN
#   user secret      one-way CHAP (the target authenticates us)
#   tuser tsecret    mutual CHAP (we authenticate the target), optional
#   duser dsecret    discovery-session CHAP, optional (iscsiadm mode)
#   digest     None | CRC32C (header and data digests), default None
#   nonce      written into /hello.txt for the host to check
#   bigmb      size of the random file written and checksummed (MiB)
#   trim       1: the LUN is thin; write and delete a file, then fstrim

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /mnt
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin

step() { echo "TSGT-STEP $*"; }
finish() {
  sync
  poweroff -f
  sleep 5
  exit 1 # panic=-1 and qemu -no-reboot end the VM if poweroff did not
}
fail() {
  echo "TSGT-RESULT FAIL $*"
  echo "--- guest dmesg (tail)"
  dmesg | tail -n 60
  echo "--- end of guest dmesg"
  finish
}

MODE=iscsiadm PORTAL=10.0.2.100 PORT=3260 TARGET='' INITIATOR='' USER='' SECRET=''
TUSER='' TSECRET='' DUSER='' DSECRET='' DIGEST=None NONCE=none BIGMB=16 TRIM=0
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    tsgt.mode=*) MODE=${arg#*=} ;;
    tsgt.portal=*) PORTAL=${arg#*=} ;;
    tsgt.port=*) PORT=${arg#*=} ;;
    tsgt.target=*) TARGET=${arg#*=} ;;
    tsgt.initiator=*) INITIATOR=${arg#*=} ;;
    tsgt.user=*) USER=${arg#*=} ;;
    tsgt.secret=*) SECRET=${arg#*=} ;;
    tsgt.tuser=*) TUSER=${arg#*=} ;;
    tsgt.tsecret=*) TSECRET=${arg#*=} ;;
    tsgt.duser=*) DUSER=${arg#*=} ;;
    tsgt.dsecret=*) DSECRET=${arg#*=} ;;
    tsgt.digest=*) DIGEST=${arg#*=} ;;
    tsgt.nonce=*) NONCE=${arg#*=} ;;
    tsgt.bigmb=*) BIGMB=${arg#*=} ;;
    tsgt.trim=*) TRIM=${arg#*=} ;;
  esac
done
[ -n "$TARGET" ] && [ -n "$INITIATOR" ] || fail "tsgt.target and tsgt.initiator are required"
step boot ok "kernel=$(uname -r) mode=$MODE digest=$DIGEST"

# Modules in dependency order; an accelerated crc variant may be refused by
# this CPU, the generic one in the list covers it.
while read -r ko; do
  insmod "$ko" 2>/dev/null || echo "insmod $(basename "$ko") refused (ignored)"
done </etc/modules.order
for m in iscsi_tcp sd_mod ext4 virtio_net; do
  [ -d "/sys/module/$m" ] || fail "module $m did not load"
done
step modules ok

ip link set lo up
ip link set eth0 up || fail "no eth0 (virtio-net)"
# qemu user networking: 10.0.2.0/24; the target (guestfwd) is on-link, no route needed.
ip addr add 10.0.2.15/24 dev eth0
step network ok "$(ip -4 -o addr show eth0 | awk '{print $4}')"

DISK=/dev/sda
wait_disk() {
  i=0
  while [ ! -b "$DISK" ]; do
    i=$((i + 1))
    [ "$i" -gt 150 ] && return 1
    sleep 0.1
  done
  return 0
}
wait_no_disk() {
  i=0
  while [ -b "$DISK" ]; do
    i=$((i + 1))
    [ "$i" -gt 150 ] && return 1
    sleep 0.1
  done
  return 0
}

# --- iscsid + iscsiadm: SendTargets discovery, node records, logout -------
write_iscsid_conf() {
  mkdir -p /etc/iscsi/nodes /etc/iscsi/send_targets /etc/iscsi/ifaces /run/lock/iscsi /var/lib/iscsi
  echo "InitiatorName=$INITIATOR" >/etc/iscsi/initiatorname.iscsi
  {
    echo "node.startup = manual"
    echo "node.session.auth.authmethod = CHAP"
    echo "node.session.auth.username = $USER"
    echo "node.session.auth.password = $SECRET"
    if [ -n "$TUSER" ]; then
      echo "node.session.auth.username_in = $TUSER"
      echo "node.session.auth.password_in = $TSECRET"
    fi
    if [ -n "$DUSER" ]; then
      echo "discovery.sendtargets.auth.authmethod = CHAP"
      echo "discovery.sendtargets.auth.username = $DUSER"
      echo "discovery.sendtargets.auth.password = $DSECRET"
    fi
    echo "node.conn[0].iscsi.HeaderDigest = $DIGEST"
    echo "node.conn[0].iscsi.DataDigest = $DIGEST"
    # Fail fast instead of open-iscsi's two-minute recovery waits.
    echo "node.session.initial_login_retry_max = 2"
    echo "node.conn[0].timeo.login_timeout = 10"
    echo "node.session.timeo.replacement_timeout = 10"
    echo "node.conn[0].timeo.noop_out_interval = 5"
    echo "node.conn[0].timeo.noop_out_timeout = 5"
  } >/etc/iscsi/iscsid.conf
}
start_iscsid() {
  write_iscsid_conf
  iscsid || fail "iscsid did not start"
  # iscsiadm exits 20 (ISCSI_ERR_ISCSID_NOTCONN) until iscsid listens.
  i=0
  while :; do
    iscsiadm -m session >/dev/null 2>&1
    [ $? -ne 20 ] && break
    i=$((i + 1))
    [ "$i" -gt 50 ] && fail "iscsid does not answer"
    sleep 0.1
  done
}
no_session_left() {
  # 21 = ISCSI_ERR_NO_OBJS_FOUND
  iscsiadm -m session >/dev/null 2>&1
  [ $? -eq 21 ]
}

NODE="-m node -T $TARGET -p $PORTAL:$PORT,1"
adm_login() {
  iscsiadm $NODE --login
}
adm_logout() {
  iscsiadm $NODE --logout && no_session_left
}

# --- iscsistart: the boot-time initiator (no iscsid, no discovery) -------
istart_login() {
  set -- -i "$INITIATOR" -t "$TARGET" -g 1 -a "$PORTAL" -p "$PORT" -u "$USER" -w "$SECRET" \
    -P "node.conn[0].iscsi.HeaderDigest=$DIGEST" -P "node.conn[0].iscsi.DataDigest=$DIGEST"
  [ -n "$TUSER" ] && set -- "$@" -U "$TUSER" -W "$TSECRET"
  iscsistart "$@"
}
# As after an iSCSI root boot: iscsid starts, adopts the kernel session that
# iscsistart made, and logs it out. While adopting, iscsid may drop the
# connection and log in again, so logout is retried until it takes.
istart_logout() {
  start_iscsid
  i=0
  until iscsiadm -m session -u >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -gt 40 ] && return 1
    sleep 0.5
  done
  no_session_left
}

do_login() {
  case "$MODE" in
    iscsiadm) adm_login ;;
    iscsistart) istart_login ;;
  esac
}
do_logout() {
  case "$MODE" in
    iscsiadm) adm_logout ;;
    iscsistart) istart_logout ;;
  esac
}

case "$MODE" in
  iscsiadm | iscsistart) ;;
  *) fail "unknown tsgt.mode $MODE" ;;
esac

if [ "$MODE" = iscsiadm ]; then
  start_iscsid
  step iscsid ok
  out=$(iscsiadm -m discovery -t sendtargets -p "$PORTAL:$PORT" -o nonpersistent 2>&1) || fail "discovery: $out"
  echo "$out" | while read -r line; do echo "TSGT-DISCOVERED $line"; done
  echo "$out" | grep -q " $TARGET\$" || fail "discovery did not list $TARGET"
  step discovery ok
  # SendTargets reports the target's own portal (the host's 127.0.0.1); the
  # guest reaches it through qemu at $PORTAL, so the node record is made by hand
  # (discovery ran with -o nonpersistent and stored none).
  iscsiadm -m node -o new -T "$TARGET" -p "$PORTAL:$PORT,1" >/dev/null || fail "iscsiadm -m node -o new"
  # A wrong CHAP secret must be refused (and open-iscsi gives up at once on
  # an authentication failure, RFC 7143 §11.13.5 status 0x0201).
  iscsiadm $NODE -o update -n node.session.auth.password -v WrongSecret0000 || fail "iscsiadm -o update"
  iscsiadm $NODE --login >/tmp/badchap.out 2>&1
  rc=$?
  # 24 = ISCSI_ERR_LOGIN_AUTH_FAILED: the target answered "authentication failure"
  [ "$rc" -eq 24 ] || { cat /tmp/badchap.out; fail "login with a wrong CHAP secret: iscsiadm exit $rc, want 24"; }
  no_session_left || fail "a session exists after the refused login"
  iscsiadm $NODE -o update -n node.session.auth.password -v "$SECRET" || fail "iscsiadm -o update"
  step badchap ok
  if [ -n "$TUSER" ]; then
    # Mutual CHAP: a target that cannot prove the secret we expect is refused by us.
    iscsiadm $NODE -o update -n node.session.auth.password_in -v WrongTarget0000 || fail "iscsiadm -o update"
    iscsiadm $NODE --login >/tmp/badchap.out 2>&1
    rc=$?
    # 19 = ISCSI_ERR_FATAL_LOGIN: iscsid gave up on the target's CHAP_R
    [ "$rc" -eq 19 ] || { cat /tmp/badchap.out; fail "login expecting another target secret: iscsiadm exit $rc, want 19"; }
    no_session_left || fail "a session exists after the refused mutual CHAP"
    iscsiadm $NODE -o update -n node.session.auth.password_in -v "$TSECRET" || fail "iscsiadm -o update"
    step badmutual ok
  fi
fi

do_login || fail "login to $TARGET at $PORTAL:$PORT"
wait_disk || fail "$DISK did not appear after login"
step login ok "$(cat /sys/block/sda/device/vendor 2>/dev/null | tr -d ' ')"
SIZE=$(blockdev --getsize64 "$DISK")
step disk ok "size=$SIZE"

mkfs.ext4 -F -q -L tsgt "$DISK" || fail "mkfs.ext4"
step mkfs ok

mount -t ext4 "$DISK" /mnt || fail "mount after mkfs"
step mount ok

echo "hello from the kernel initiator $NONCE" >/mnt/hello.txt || fail "write hello.txt"
mkdir /mnt/dir || fail "mkdir"
i=1
while [ "$i" -le 200 ]; do
  echo "small file $i $NONCE" >"/mnt/dir/f$i" || fail "write dir/f$i"
  i=$((i + 1))
done
dd if=/dev/urandom of=/mnt/big.bin bs=1M count="$BIGMB" 2>/dev/null || fail "write big.bin"
SUM=$(sha256sum /mnt/big.bin | cut -d' ' -f1)
echo "$SUM" >/mnt/big.sha256
sync || fail "sync"
step write ok "sha256=$SUM"

if [ "$TRIM" = 1 ]; then
  # sd picks its discard method from the LU's VPD B0h/B2h (SBC-3 §4.7.3):
  # "unmap" or "writesame_16" on a thin LUN, "full" on a thick one.
  MODE_FILE=$(ls /sys/class/scsi_disk/*/provisioning_mode 2>/dev/null | head -n 1)
  PMODE=$(cat "$MODE_FILE" 2>/dev/null)
  dd if=/dev/zero of=/mnt/junk.bin bs=1M count=32 2>/dev/null || fail "write junk.bin"
  sync
  rm /mnt/junk.bin
  sync
  out=$(fstrim -v /mnt 2>&1) || fail "fstrim: $out (provisioning_mode=$PMODE)"
  TRIMMED=$(echo "$out" | sed -n 's/.*[( ]\([0-9][0-9]*\) bytes.*/\1/p')
  step trim ok "mode=$PMODE discard_max=$(cat /sys/block/sda/queue/discard_max_bytes) trimmed=${TRIMMED:-?}"
fi

umount /mnt || fail "umount"
step umount ok

# Nothing cached in the guest may stand in for the target from here on.
forget_cache() {
  blockdev --flushbufs "$DISK" 2>/dev/null
  echo 3 >/proc/sys/vm/drop_caches
}

if [ "$MODE" = iscsiadm ]; then
  do_logout || fail "logout"
  wait_no_disk || fail "$DISK still present after logout"
  step logout ok
  adm_login || fail "second login"
  wait_disk || fail "$DISK did not appear after the second login"
  step relogin ok
fi
forget_cache

e2fsck -fn "$DISK" >/tmp/fsck.out 2>&1
rc=$?
[ "$rc" -eq 0 ] || { cat /tmp/fsck.out; fail "e2fsck -fn exit $rc"; }
step fsck ok

mount -t ext4 "$DISK" /mnt || fail "remount"
step remount ok
[ "$(cat /mnt/hello.txt)" = "hello from the kernel initiator $NONCE" ] || fail "hello.txt differs"
n=$(ls /mnt/dir | wc -l)
[ "$n" -eq 200 ] || fail "dir has $n files, want 200"
i=1
while [ "$i" -le 200 ]; do
  [ "$(cat "/mnt/dir/f$i")" = "small file $i $NONCE" ] || fail "dir/f$i differs"
  i=$((i + 1))
done
SUM2=$(sha256sum /mnt/big.bin | cut -d' ' -f1)
[ "$SUM2" = "$SUM" ] || fail "big.bin sha256 $SUM2, wrote $SUM"
step read ok "sha256=$SUM2"
umount /mnt || fail "final umount"
step umount2 ok

do_logout || fail "final logout"
wait_no_disk || fail "$DISK still present after the final logout"
step logout2 ok

echo "TSGT-RESULT PASS"
finish
