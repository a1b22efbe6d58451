#!/bin/sh
# Runs every test of sonde: the unit lane (no root, parallel), the docs' generated examples, the
# kernel-matrix lane and the integration lane, with real BPF and real containers.
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
# The unit lane: no root, in parallel, in seconds (scripts/unit-tests.sh says which targets).
sh scripts/unit-tests.sh --skip-build
# Every generated block of README.md and docs/ must be what the code prints today (scripts/gen-docs.sh).
SONDE=.build/debug/sonde KUBECTL_SONDE=.build/debug/kubectl-sonde sh scripts/gen-docs.sh --check
# The kernel-matrix lane: the core tests again on Debian 12's own kernel (6.1) in qemu, with pure
# cgroup v2 and with cgroup v1 only (docs/kernels.md). Fetches the kernel package on first use.
# It runs first so that the host suite's summary is the last thing printed; both always run.
lane=0
bash scripts/kernel-matrix.sh || lane=$?
# The integration lane, one test at a time: they share the kernel, cgroups and runc's state, on two cores.
swift test --skip-build --no-parallel --skip "$(sh scripts/unit-tests.sh --targets)"
if [ "$lane" -ne 0 ]; then echo "scripts/test.sh: the kernel-matrix lane failed (exit $lane, see its table above)" >&2; exit "$lane"; fi
