#!/bin/sh
# Installs what sonde needs on a fresh Debian 12 machine and mounts the kernel filesystems.
# Idempotent; run as root. Used by scripts/demo.sh, scripts/test.sh and .ci/run.
set -eu

packages="libbpf-dev libseccomp-dev bpftool pkg-config libelf-dev zlib1g-dev runc busybox-static util-linux strace gcc libc6-dev python3 protobuf-compiler chromium iproute2 openssl python3-yaml prometheus curl qemu-system-x86 cpio kmod"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# kubectl is not in Debian 12; machines of this kind carry it. The cluster tests run the plugin through it.
command -v kubectl >/dev/null || echo "setup: warning: kubectl not found; install it for \`kubectl sonde\` and the cluster tests"

# Tracepoint programs need tracefs, pinned objects need bpffs; a fresh machine may have neither.
# (sonde mounts them itself too; mounting here makes bpftool usable for whoever debugs.)
grep -q ' /sys/kernel/tracing ' /proc/self/mountinfo || mount -t tracefs tracefs /sys/kernel/tracing
grep -q ' /sys/fs/bpf ' /proc/self/mountinfo || mount -t bpf bpf /sys/fs/bpf
echo "setup: ok (swift $(swift --version 2>/dev/null | head -1 | sed 's/.*version \([0-9.]*\).*/\1/'), $(bpftool version | head -1), $(runc --version | head -1))"
