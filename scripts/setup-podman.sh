#!/usr/bin/env bash
# Installs podman (Debian's 4.3) and configures it to run containers on this kind of machine: hybrid
# cgroups and no systemd as PID 1 (so cgroupfs and a file event log), runc (crun refuses hybrid
# cgroups here), and ulimits that need no CAP_SYS_RESOURCE. Also makes the busybox rootfs and the
# image localhost/sonde-busybox:latest that sonde's tests run. Idempotent: changes only what differs.
#
#   scripts/setup-podman.sh
#   podman run -d --runtime runc --network none localhost/sonde-busybox:latest sleep 60
set -euo pipefail

CONF=/etc/containers/containers.conf.d/50-sonde.conf
ROOTFS=/var/lib/sonde-test/rootfs
IMAGE=localhost/sonde-busybox:latest

say() { echo "setup-podman: $*"; }

if [[ $(id -u) != 0 ]]; then
    say "must run as root" >&2
    exit 1
fi

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
[[ -x /usr/bin/busybox ]] && /usr/bin/busybox --list >/dev/null 2>&1 || missing+=(busybox-static)
if ((${#missing[@]})); then
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
say "$(podman --version), $(runc --version | head -1)"

# A drop-in, so the distribution's containers.conf stays as it is.
mkdir -p "$(dirname "$CONF")"
cat >"$CONF.new" <<'EOF'
# Written by sonde's scripts/setup-podman.sh.
[containers]
# Raising rlimits needs CAP_SYS_RESOURCE, which the test machines do not have.
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
# No systemd as PID 1: podman manages cgroups itself and logs events to a file.
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
EOF
if cmp -s "$CONF.new" "$CONF" 2>/dev/null; then
    rm -f "$CONF.new"
else
    say "writing $CONF"
    mv "$CONF.new" "$CONF"
fi
say "podman uses cgroup manager $(podman info --format '{{.Host.CgroupManager}}'), runtime $(podman info --format '{{.Host.OCIRuntime.Name}}')"

if [[ ! -x $ROOTFS/bin/busybox ]]; then
    say "making a busybox rootfs in $ROOTFS"
    mkdir -p "$ROOTFS"/{bin,dev,etc,proc,sys,tmp,root}
    cp /usr/bin/busybox "$ROOTFS/bin/busybox"
    for applet in $("$ROOTFS/bin/busybox" --list); do
        [[ -e $ROOTFS/bin/$applet ]] || ln -s busybox "$ROOTFS/bin/$applet"
    done
fi

if podman image exists "$IMAGE"; then
    say "image $IMAGE present"
else
    say "importing $ROOTFS as $IMAGE"
    tar -C "$ROOTFS" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c . |
        podman import --quiet --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$IMAGE" >/dev/null
fi
say "ready: podman run -d --runtime runc --network none $IMAGE sleep 60"
