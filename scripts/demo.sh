#!/bin/sh
# The demo: builds sonde, starts a real runc container and shows what it executes, as it happens.
#   sudo scripts/demo.sh
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
echo "demo: building sonde (release)..."
swift build -c release --product sonde 2>&1 | grep -E "error|warning: unre|Compiling sonde|Build complete" || true
sonde=$(swift build -c release --show-bin-path)/sonde

work=$(mktemp -d /tmp/sonde-demo.XXXXXX)
name="sonde-demo-$$"
cleanup() {
    [ -n "${tracer:-}" ] && kill "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null || true
    runc delete --force "$name" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

sh scripts/make-rootfs.sh "$work/rootfs"
(cd "$work" && runc spec)
# The container's job: a little shell session with a failing command in it.
script='echo hello from the container; uname -a; /bin/ls /; cat /etc/passwd; /bin/missing-tool --help; sleep 1; exit 3'
sed -i 's/"terminal": true/"terminal": false/' "$work/config.json"
python3 - "$work/config.json" "$script" <<'PY'
import json, sys
path, script = sys.argv[1], sys.argv[2]
config = json.load(open(path))
config["process"]["args"] = ["sh", "-c", script]
json.dump(config, open(path, "w"), indent=1)
PY

echo "demo: tracing every exec of new runc containers, then starting container $name"
"$sonde" trace exec --runtime runc --timeout 8 &
tracer=$!
sleep 2
runc run --bundle "$work" "$name" </dev/null >"$work/container.log" 2>&1 || echo "demo: the container exited with status $?"
wait "$tracer" || true
tracer=""
echo "demo: what the container printed:"
sed 's/^/    /' "$work/container.log"
