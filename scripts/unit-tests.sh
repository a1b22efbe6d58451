#!/bin/sh
# The unit lane: the test targets that need neither root nor BPF nor containers, run in parallel as
# an unprivileged user (nobody, when started as root), in seconds. The integration lane (BPFKitTests,
# ClusterTests, IntegrationTests) is the rest of `swift test`; scripts/test.sh runs both.
#   scripts/unit-tests.sh [--skip-build]
#   scripts/unit-tests.sh --targets      (prints the unit targets as a regex, for the integration lane)
set -eu
cd "$(dirname "$0")/.."
# Adding a test target: unit when it passes here, else it belongs to the integration lane.
units='LinuxKitTests|SyscallsTests|EventsTests|GadgetsTests|ContainersTests|RecorderTests|AuditTests|SupervisorTests|ReportTests|DaemonTests'
if [ "${1:-}" = --targets ]; then echo "^($units)\\."; exit 0; fi
[ "${1:-}" = --skip-build ] || swift build --build-tests
tests=$(swift build --show-bin-path)/sondePackageTests.xctest

# As root, drop to nobody with no capabilities, so a unit test that needs privileges fails here.
if [ "$(id -u)" -eq 0 ]; then
    home=$(mktemp -d /tmp/sonde-unit.XXXXXX)
    chown 65534:65534 "$home"
    trap 'rm -rf "$home"' EXIT
    set -- setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all env HOME="$home"
else
    set --
fi

start=$(date +%s)
"$@" "$tests" --testing-library swift-testing --parallel --filter "^($units)\."
# XCTest cases, by class (the runner takes a comma-separated list of Module.Class).
classes=$("$tests" --list-tests | grep -E "^($units)\." | sed 's#/.*##' | sort -u | paste -sd, -)
"$@" "$tests" "$classes"
echo "scripts/unit-tests.sh: the unit lane passed in $(( $(date +%s) - start )) s"
