#!/bin/bash
# Runs a command on another kernel: boots a Debian kernel package in qemu (TCG, no network) with
# this machine's root shared read-only under a writable overlay, the cgroup layout asked for and
# the kernel filesystems sonde needs, runs the command there and returns its output and status.
#
#   scripts/kernel-vm.sh [--kernel PACKAGE] [--cgroup v2|v1|hybrid] [--timeout SECONDS]
#                        [--memory MB] [--cpus N] [--cpu MODEL] [--cache DIR] [--cwd DIR] [--out DIR]
#                        -- COMMAND [ARG...]
#
# PACKAGE defaults to the kernel Debian 12 ships (what linux-image-amd64 depends on); it is fetched
# with `apt-get download` into the cache (default /var/cache/sonde-kernels) and unpacked there,
# never installed. The command runs as root in a chroot of the host's root with cwd DIR (default:
# the current directory). Writes land in guest memory and are gone when the guest powers off;
# /run/vm/out inside the guest is this run's result directory on the host: DIR of --out, else a
# new one under /tmp (printed at the end).
# Exit status: the command's; 124 on timeout; 2 when the kernel package cannot be had.
set -euo pipefail

kernel_package=""
cgroup=v2
timeout=900
memory=4096
cpus=2
# qemu64: glibc then takes its SSE2 string functions, which TCG runs far faster than the AVX ones
# it picks on -cpu max.
cpu=qemu64
out=""
cache=/var/cache/sonde-kernels
cwd=$PWD

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "kernel-vm: error: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --kernel) kernel_package=$2; shift 2 ;;
        --cgroup) cgroup=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --memory) memory=$2; shift 2 ;;
        --cpus) cpus=$2; shift 2 ;;
        --cpu) cpu=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --cache) cache=$2; shift 2 ;;
        --cwd) cwd=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) usage ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || usage
case $cgroup in v2|v1|hybrid) ;; *) die "--cgroup must be v2, v1 or hybrid" ;; esac
[ "$(id -u)" = 0 ] || die "run as root (the guest shares / with root's view of it)"
for tool in qemu-system-x86_64 busybox cpio dpkg-deb depmod timeout; do
    command -v $tool >/dev/null || die "$tool not found (sh scripts/setup.sh installs qemu-system-x86, busybox-static, cpio, kmod)"
done
# busybox-static's binary: the initramfs has no libc.
busybox=/bin/busybox

# The kernel package: the one Debian 12's linux-image-amd64 points at, unless named.
if [ -z "$kernel_package" ]; then
    shipped() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1; }
    kernel_package=$(shipped)
    # A fresh machine may have no package lists yet.
    [ -n "$kernel_package" ] || { apt-get update -qq >&2 || true; kernel_package=$(shipped); }
    [ -n "$kernel_package" ] || die "cannot tell which kernel Debian ships: apt-cache knows no linux-image-amd64 (run apt-get update)"
fi
mkdir -p "$cache"
deb=$(ls "$cache/${kernel_package}_"*.deb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$deb" ]; then
    echo "kernel-vm: downloading $kernel_package into $cache" >&2
    # apt's sandbox user cannot write a root-owned cache; download as root, quietly.
    (cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "$kernel_package" >&2) ||
        die "cannot download kernel package $kernel_package (is it in apt's lists? try apt-get update, or name one with --kernel; apt-cache search linux-image-6)"
    deb=$(ls "$cache/${kernel_package}_"*.deb 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$deb" ] || die "apt-get download left no ${kernel_package}_*.deb in $cache"
fi
tree="$cache/$(basename "$deb" .deb)"
if [ ! -e "$tree/.unpacked" ]; then
    rm -rf "$tree"
    dpkg-deb -x "$deb" "$tree" || die "cannot unpack $deb"
    touch "$tree/.unpacked"
fi
version=$(ls "$tree/lib/modules" | head -1)
vmlinuz="$tree/boot/vmlinuz-$version"
[ -f "$vmlinuz" ] || die "$deb holds no kernel image (boot/vmlinuz-$version)"
modules="$tree/lib/modules/$version"
[ -f "$modules/modules.dep" ] || depmod -b "$tree" "$version" || die "depmod failed on $tree"

# This run's directory: initramfs, the command, the console log and the result.
run=$(mktemp -d /tmp/kernel-vm.XXXXXX)
qemu_pid=""
cleanup() {
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then kill "$qemu_pid" 2>/dev/null || true; fi
    rm -rf "$run/initramfs" "$run/initramfs.cpio.gz"
    if [ -n "$out" ]; then rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -n "$out" ]; then
    rm -rf "$out" && mkdir -p "$out" && ln -s "$(cd "$out" && pwd)" "$run/out"
else
    mkdir -p "$run/out"
fi
mkdir -p "$run/initramfs/bin" "$run/initramfs/modules"

# The initramfs needs the 9p chain and overlayfs, each after what it depends on (modules.dep).
ordered=""
add_module() {
    local name=$1 path deps dep
    path=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$modules/modules.dep" | head -1 | cut -d: -f1 || true)
    [ -n "$path" ] || die "kernel $version has no module $name"
    case " $ordered " in *" $path "*) return ;; esac
    deps=$(grep -E "^$path:" "$modules/modules.dep" | cut -d: -f2 || true)
    for dep in $deps; do add_module "$(basename "$dep" | sed 's/\.ko.*//')"; done
    ordered="$ordered $path"
}
for m in 9p 9pnet_virtio virtio_pci overlay; do add_module $m; done
load=""
for path in $ordered; do
    cp "$modules/$path" "$run/initramfs/modules/"
    load="$load $(basename "$path")"
done
cp "$busybox" "$run/initramfs/bin/busybox"

# The command, quoted for sh, and where it runs.
{
    printf 'cd %q || exit 125\n' "$cwd"
    printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$run/out/command"
# %q is bash's: run the command with the host's bash.
echo "$cgroup" > "$run/out/cgroup"

cat > "$run/initramfs/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc 2>/dev/null || { mkdir -p /proc && mount -t proc proc /proc; }
mkdir -p /sys /dev /host /upper /root
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "kernel-vm guest: \$*"; echo 1 > /proc/sys/kernel/sysrq; echo o > /proc/sysrq-trigger; sleep 60; }
for m in $load; do insmod /modules/\$m || fail "insmod \$m failed"; done
# msize: 9p's default 8 KiB makes reading the toolchain crawl.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose host /host || fail "cannot mount the host's root"
mount -t tmpfs -o mode=0755 tmpfs /upper
mkdir -p /upper/upper /upper/work
r=/root
mount -t overlay -o lowerdir=/host,upperdir=/upper/upper,workdir=/upper/work overlay \$r || fail "cannot mount the overlay"
# The command's directory stays visible when it lies where the guest mounts fresh tmpfs (a clone
# under /tmp or /run): set aside before those mounts, moved back after.
case "$cwd" in /tmp/*|/run/*) mkdir -p /kept && mount -o bind "\$r$cwd" /kept || fail "cannot keep $cwd" ;; esac
mount -t proc proc \$r/proc
mount -t sysfs sysfs \$r/sys
mount -t devtmpfs devtmpfs \$r/dev
mkdir -p \$r/dev/pts \$r/dev/shm \$r/dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts \$r/dev/pts
mount -t tmpfs tmpfs \$r/dev/shm
mount -t mqueue mqueue \$r/dev/mqueue
mount -t tmpfs -o mode=0755 tmpfs \$r/run
mount -t tmpfs -o mode=1777 tmpfs \$r/tmp
case "$cwd" in /tmp/*|/run/*) mkdir -p "\$r$cwd" && mount -o move /kept "\$r$cwd" || fail "cannot keep $cwd" ;; esac
mount -t tracefs tracefs \$r/sys/kernel/tracing
mount -t debugfs debugfs \$r/sys/kernel/debug
mount -t bpf bpf \$r/sys/fs/bpf
# The kernel's own modules where modprobe (the host's, in the chroot) looks for them.
mkdir -p \$r/lib/modules/$version
mount --bind /host$modules \$r/lib/modules/$version
mkdir -p \$r/run/vm/out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out \$r/run/vm/out || fail "cannot mount the result directory"
case $cgroup in
v2)
    mount -t cgroup2 cgroup2 \$r/sys/fs/cgroup ;;
v1|hybrid)
    mount -t tmpfs -o mode=0755 cgroup \$r/sys/fs/cgroup
    for c in \$(awk 'NR > 1 && \$4 == 1 { print \$1 }' /proc/cgroups); do
        mkdir -p \$r/sys/fs/cgroup/\$c
        mount -t cgroup -o \$c cgroup \$r/sys/fs/cgroup/\$c || fail "cannot mount cgroup v1 controller \$c"
    done
    if [ $cgroup = hybrid ]; then
        mkdir -p \$r/sys/fs/cgroup/unified
        mount -t cgroup2 cgroup2 \$r/sys/fs/cgroup/unified
    fi ;;
esac
ip link set lo up
hostname sonde-vm
echo "kernel-vm guest: \$(uname -r), cgroup $cgroup, running the command"
chroot \$r /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/swift/usr/bin \
    HOME=/root TERM=dumb LANG=C.UTF-8 SONDE_KERNEL_VM=$cgroup /bin/bash /run/vm/out/command < /dev/null
echo \$? > \$r/run/vm/out/status
sync
umount \$r/run/vm/out
poweroff -f
sleep 60
EOF
chmod +x "$run/initramfs/init"
(cd "$run/initramfs" && find . | cpio -o -H newc --quiet | gzip -1 > "$run/initramfs.cpio.gz")

echo "kernel-vm: booting $version ($kernel_package) with cgroup $cgroup, $cpus CPUs, $memory MB, timeout ${timeout}s" >&2
# TCG: a KVM boot hung on machines of this kind. panic=-1 and -no-reboot: a guest panic ends qemu.
# timeout(1) bounds the run: it stops qemu (its child only) when the time is up and exits 124.
timeout --kill-after=20 "$timeout" qemu-system-x86_64 -accel tcg -cpu "$cpu" -smp "$cpus" -m "$memory" -machine q35 \
    -kernel "$vmlinuz" -initrd "$run/initramfs.cpio.gz" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 sysrq_always_enabled=1 rdinit=/init" \
    -virtfs local,path=/,mount_tag=host,security_model=passthrough,readonly=on,multidevs=remap \
    -virtfs local,path="$(readlink -f "$run/out")",mount_tag=out,security_model=passthrough \
    -nic none -display none -monitor none -serial stdio -no-reboot < /dev/null &
qemu_pid=$!
qemu_status=0
wait "$qemu_pid" || qemu_status=$?
qemu_pid=""

echo "kernel-vm: results in $(readlink -f "$run/out")" >&2
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
    echo "kernel-vm: error: the guest did not finish within ${timeout}s; qemu was stopped" >&2
    exit 124
fi
if [ ! -s "$run/out/status" ]; then
    echo "kernel-vm: error: the guest ended without the command's status (see the console output above)" >&2
    exit 125
fi
exit "$(cat "$run/out/status")"
