#!/bin/sh
# Runs every test of sonde: unit tests and integration tests with real BPF and real containers.
#   scripts/test.sh   (as root)
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
# The daemon's generated API must match proto/sonde.proto (hash check unless the generators are built).
sh scripts/gen-proto.sh --check
bash scripts/setup-podman.sh
# A private containerd for the tests; stopped again when they end, whatever the outcome.
bash scripts/setup-containerd.sh
trap 'bash scripts/setup-containerd.sh stop' EXIT
swift build --build-tests
# The kernel-matrix lane: the core tests again on Debian 12's own kernel (6.1) in qemu, with pure
# cgroup v2 and with cgroup v1 only (docs/kernels.md). Fetches the kernel package on first use.
# It runs first so that the host suite's summary is the last thing printed; both always run.
lane=0
bash scripts/kernel-matrix.sh || lane=$?
# One test at a time: they share the kernel, cgroups and runc's state, on two cores.
swift test --skip-build --no-parallel
if [ "$lane" -ne 0 ]; then echo "scripts/test.sh: the kernel-matrix lane failed (exit $lane, see its table above)" >&2; exit "$lane"; fi
