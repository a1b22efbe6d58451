#!/bin/sh
# Writes docs/syscall-coverage.md from `sonde record syscalls`: how far a recording's dump formats
# each x86_64 syscall against strace 6.1. Run after a build: scripts/gen-syscall-coverage.sh
set -eu
cd "$(dirname "$0")/.."
sonde=${SONDE:-.build/debug/sonde}
table=$("$sonde" record syscalls 2>/dev/null)
count() { printf '%s\n' "$table" | awk -v k="$1" '$3 == k' | wc -l | tr -d ' '; }
names() { printf '%s\n' "$table" | awk -v k="$1" '$3 == k { printf "%s`%s`", (n++ ? ", " : ""), $2 } END { print "" }'; }
{
    echo "# Syscall coverage of a recording's dump"
    echo
    echo "Written by scripts/gen-syscall-coverage.sh from \`sonde record syscalls\`; do not edit by hand."
    echo
    echo "| decoding | syscalls | meaning |"
    echo "| --- | ---: | --- |"
    echo "| strace | $(count strace) | a plan of its own that prints every argument as strace 6.1 does, the structs the kernel fills included (the oracle tests check the common calls against strace) |"
    echo "| partial | $(count partial) | a plan of its own that still differs from strace for some argument |"
    echo "| generic | $(count generic) | named, arguments by their C types (integers, pointers, paths) |"
    echo
    echo "Every syscall is named and its return value decoded (errno names) whatever its row."
    echo
    echo "## Partly decoded"
    echo
    names partial
    echo
    echo "## By their C types"
    echo
    names generic
} > docs/syscall-coverage.md
echo "wrote docs/syscall-coverage.md"
