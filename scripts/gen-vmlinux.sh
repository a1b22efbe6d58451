#!/bin/sh
# Regenerates the committed bpf/include/vmlinux/x86_64/vmlinux.h from this machine's kernel BTF
# (bpftool btf dump). Only needed when a program wants a kernel type the committed header lacks:
# the programs are CO-RE, so the header need not match the kernels they run on.
#   scripts/gen-vmlinux.sh
set -eu
cd "$(dirname "$0")/.."
[ "$(uname -m)" = x86_64 ] || { echo "gen-vmlinux: sonde's programs are built for x86_64" >&2; exit 1; }
sh bpf/build-object.sh vmlinux bpf/include/vmlinux/x86_64
echo "gen-vmlinux: wrote bpf/include/vmlinux/x86_64/vmlinux.h from Linux $(uname -r)"
