#!/bin/bash
# The kernel-matrix lane: sonde's core tests on Debian 12's own kernel (6.1) in qemu, once with
# pure cgroup v2 and once with cgroup v1 only, plus what must degrade there and say so. Writes
# each layout's log and the support table (table.md) under RESULTS (default .build/kernel-matrix).
#
#   scripts/kernel-matrix.sh [--kernel PACKAGE] [--layouts "v2 v1"] [--results DIR] [--docs]
#
# --docs also puts the table into docs/kernels.md, between its kernel-matrix markers.
# Runs the test binary that `swift build --build-tests` made (scripts/test.sh builds it first).
# Exit status: 0 when every test passed in every layout.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each test as LAYOUTS|AREA|TEST-ID: the layouts it runs in, the column of the support table it
# proves, and the test (swift-testing Suite/test, or XCTest Class/test). TCG runs some 20 to 40
# times slower than the host, so each area gets its core test (every trace gadget's smoke test
# with a runc container), and the supervisor's mount test runs on v2 only: about 10 minutes for
# both layouts.
tests='
v2 v1|recorder|RecorderIntegrationTests/dumpMatchesStraceOnTheSameProgram
v2 v1|recorder|RecorderIntegrationTests/aThreadWhoseProcessMovesIntoARecordedCgroupIsRecorded
v2 v1|trace exec|TraceExecTests/eachExecIsAttributedToItsOwnContainer
v2 v1|trace open|TraceOpenTests/opensAreAttributedToTheirContainerWithFlagsModeAndResult
v2 v1|trace signal|TraceSignalTests/signalsShowSenderTargetAndResultAndFailedKillsTheirError
v2 v1|trace mount|TraceMountTests/mountsAndUnmountsShowSourceTargetTypeFlagsAndResult
v2 v1|trace bind|TraceBindTests/bindsShowTheAddressPortProtocolAndResult
v2 v1|trace tcp|TraceTcpTests/connectAcceptAndCloseWithBothEndsPerContainer
v2 v1|trace ptrace|TracePtraceTests/attachPeekAndDetachShowRequestTargetAndResult
v2 v1|trace oomkill|TraceOOMKillTests/aContainerPastItsLimitShowsTheVictimItsPagesAndTheTrigger
v2 v1|trace startup|TraceStartupTests/aServerContainerReachesEveryMilestoneInOrder
v2 v1|supervisor|SupervisorIntegrationTests/allowedMknodCreatesTheDeviceAndOthersGetEPERM
v2|supervisor|SupervisorIntegrationTests/allowedMountsWorkAndOtherFilesystemsGetEPERM
v2 v1|daemon + hook|DaemonIntegrationTests/testHookRegisteredRuncContainerIsRecordedFromItsFirstSyscall
'

# Inside the guest: run this layout's tests, one line of result per test in results.txt.
if [ "${1:-}" = --in-guest ]; then
    layout=$2 out=/run/vm/out
    binary=.build/debug/sondePackageTests.xctest
    echo "kernel $(uname -r)" > $out/kernel.txt
    : > $out/results.txt
    swift_filter="" xctests=""
    while IFS='|' read -r layouts area id; do
        [ -n "$id" ] || continue
        case " $layouts " in *" $layout "*) ;; *) continue ;; esac
        case $id in
            */test*) xctests="$xctests IntegrationTests.$id" ;;
            *) swift_filter="${swift_filter:+$swift_filter|}$id\\(" ;;
        esac
    done <<< "$tests"
    # One run of each testing library: the binary is loaded once per run, and over 9p that counts.
    rc=0
    "$binary" --testing-library swift-testing --no-parallel --filter "$swift_filter" 2>&1 | tee $out/swift-testing.log || rc=1
    # shellcheck disable=SC2086
    "$binary" $xctests 2>&1 | tee $out/xctest.log || rc=1
    # What 6.1 lacks must be refused at start with the tracepoint named, not fail in the verifier.
    if [ ! -d /sys/kernel/tracing/events/capability ]; then
        message=$(.build/debug/sonde trace capabilities --host --timeout 1 2>&1 >/dev/null || true)
        if echo "$message" | grep -q "needs the tracepoint cap_capable, which this kernel"; then
            echo "degrades|trace capabilities|refused at start (no cap_capable tracepoint)" >> $out/results.txt
        else
            echo "failed|trace capabilities|unclear refusal: $message" >> $out/results.txt; rc=1
        fi
    fi
    if [ ! -d /sys/kernel/tracing/events/sock/sock_send_length ]; then
        message=$(.build/debug/sonde top tcp --host --timeout 1 2>&1 >/dev/null || true)
        if echo "$message" | grep -q "needs the tracepoints sock:sock_send_length, sock:sock_recv_length"; then
            echo "degrades|top tcp|refused at start (no sock_send_length, sock_recv_length tracepoints)" >> $out/results.txt
        else
            echo "failed|top tcp|unclear refusal: $message" >> $out/results.txt; rc=1
        fi
    fi
    # Each test's verdict, from the two libraries' own lines.
    while IFS='|' read -r layouts area id; do
        [ -n "$id" ] || continue
        case " $layouts " in *" $layout "*) ;; *) continue ;; esac
        name=${id#*/}
        if grep -q "Test $name() passed" $out/swift-testing.log || grep -q "Test Case '.*$name' passed" $out/xctest.log; then
            echo "passed|$area|$id" >> $out/results.txt
        else
            echo "failed|$area|$id" >> $out/results.txt; rc=1
        fi
    done <<< "$tests"
    exit $rc
fi

kernel=() layouts="v2 v1" results=.build/kernel-matrix docs=false
while [ $# -gt 0 ]; do
    case $1 in
        --docs) docs=true; shift ;;
        --kernel) kernel=(--kernel "$2"); shift 2 ;;
        --layouts) layouts=$2; shift 2 ;;
        --results) results=$2; shift 2 ;;
        *) echo "usage: scripts/kernel-matrix.sh [--kernel PACKAGE] [--layouts \"v2 v1\"] [--results DIR] [--docs]" >&2; exit 2 ;;
    esac
done
[ -x .build/debug/sondePackageTests.xctest ] && [ -x .build/debug/sonde ] ||
    { echo "kernel-matrix: build first: swift build --build-tests" >&2; exit 2; }
mkdir -p "$results"
# The test rootfs's busybox links, made here once (make-rootfs.sh keeps them in its cache, which
# the guest sees): making them takes hundreds of processes, slow under TCG.
warm=$(mktemp -d) && sh scripts/make-rootfs.sh "$warm" && rm -rf "$warm"
status=0
for layout in $layouts; do
    start=$(date +%s)
    scripts/kernel-vm.sh "${kernel[@]}" --cgroup "$layout" --out "$results/$layout" --timeout 600 \
        -- bash scripts/kernel-matrix.sh --in-guest "$layout" || status=1
    echo "kernel-matrix: cgroup $layout took $(( $(date +%s) - start )) s" | tee "$results/$layout/time.txt"
done
bash scripts/kernel-matrix-table.sh "$results" $layouts > "$results/table.md"
cat "$results/table.md"
if $docs; then
    awk -v table="$results/table.md" '
        /<!-- kernel-matrix table end -->/ { while ((getline line < table) > 0) print line; skip = 0 }
        !skip { print }
        /<!-- kernel-matrix table begin -->/ { skip = 1 }
    ' docs/kernels.md > docs/kernels.md.new && mv docs/kernels.md.new docs/kernels.md
fi
exit $status
