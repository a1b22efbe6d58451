#!/bin/sh
# Regenerates the marked blocks of README.md and docs/ (<!-- gen:NAME --> ... <!-- /gen:NAME -->):
# usage and fields from each command's --help, the module graph from `swift package dump-package`,
# and live examples run against real runc containers this script starts and removes.
#   scripts/gen-docs.sh                    regenerate everything in place (as root)
#   scripts/gen-docs.sh --no-live          only the deterministic blocks
#   scripts/gen-docs.sh --check            fail (exit 1, with a diff) when a deterministic block is
#                                          stale, a relative link is broken, or a live example's
#                                          column header or JSON keys changed
#   scripts/gen-docs.sh --check --no-live  the same without running containers
# The binaries: SONDE (default .build/debug/sonde) and KUBECTL_SONDE (.build/debug/kubectl-sonde).
set -eu
cd "$(dirname "$0")/.."
SONDE=${SONDE:-.build/debug/sonde}
KUBECTL_SONDE=${KUBECTL_SONDE:-.build/debug/kubectl-sonde}
export SONDE KUBECTL_SONDE
for binary in "$SONDE" "$KUBECTL_SONDE"; do
    [ -x "$binary" ] || { echo "gen-docs: $binary not found: build it (swift build) or set SONDE / KUBECTL_SONDE" >&2; exit 2; }
done
exec python3 scripts/gen-docs.py "$@"
