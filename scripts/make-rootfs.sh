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
cp "$busybox" "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
    [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$dir/etc/passwd"
echo "root:x:0:" > "$dir/etc/group"
for extra in "$@"; do cp "$extra" "$dir/bin/"; done
