#!/bin/sh
# Makes a minimal busybox root filesystem for test and demo containers.
#   scripts/make-rootfs.sh DIR [EXTRA_STATIC_BINARY...]
# Extra binaries (statically linked) are copied into DIR/bin. Idempotent.
set -eu
dir=$1
shift
# busybox-static's binary: it runs in a rootfs with no libc.
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "error: $busybox not found (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/etc" "$dir/root"
# The applet links are made once per busybox binary and copied from then on: one process instead
# of hundreds, which matters under emulation (the kernel-matrix lane runs tests in qemu TCG, where
# it sees this machine's cache read-only).
cache=${SONDE_ROOTFS_CACHE:-/var/cache/sonde/rootfs}
template="$cache/busybox-$(cksum < "$busybox" | cut -d' ' -f1)"
if [ ! -d "$template" ] && mkdir -p "$cache" 2>/dev/null; then
    staging=$(mktemp -d "$template.XXXXXX")
    mkdir "$staging/bin"
    cp "$busybox" "$staging/bin/busybox"
    for applet in $("$busybox" --list); do
        [ -e "$staging/bin/$applet" ] || ln -s busybox "$staging/bin/$applet"
    done
    # Another run may have won the race: then its template stays.
    mv -T "$staging" "$template" 2>/dev/null || rm -rf "$staging"
fi
if [ -d "$template" ]; then
    cp -a "$template/bin/." "$dir/bin/"
else
    cp "$busybox" "$dir/bin/busybox"
    for applet in $("$dir/bin/busybox" --list); do
        [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
    done
fi
echo "root:x:0:0:root:/root:/bin/sh" > "$dir/etc/passwd"
echo "root:x:0:" > "$dir/etc/group"
for extra in "$@"; do cp "$extra" "$dir/bin/"; done
