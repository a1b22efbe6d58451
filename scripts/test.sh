#!/bin/sh
# Runs every test of sonde: unit tests and integration tests with real BPF and real containers.
#   sudo scripts/test.sh
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
[ -x scripts/setup-podman.sh ] && sh scripts/setup-podman.sh
[ -x scripts/setup-containerd.sh ] && sh scripts/setup-containerd.sh
swift build --build-tests
swift test --skip-build
