import Testing
import Syscalls

/// Expected strings are strace 6.1's output for the same calls on this machine (probe programs run
/// under `strace -f -s 32`), pid prefix and padding removed.
@Suite struct FileFormattingTests {
    let path: UInt64 = 0x5555_5555_4004

    @Test func openFlagsInStracesOrder() {
        let p = path
        #expect(line("open", [p, 0xFFFF_FFFC, 0xFF80], [0: text("/nonexist/x")], returns: -2) ==
            "open(\"/nonexist/x\", O_RDONLY|O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_SYNC|O_DIRECT|O_LARGEFILE|O_NOFOLLOW|O_NOATIME|O_CLOEXEC|O_PATH|O_TMPFILE|FASYNC|0xff80003c, 0177600) = -1 ENOENT (No such file or directory)")
        let many: UInt64 = 2 | 0o100 | 0o200 | 0o400 | 0o1000 | 0o2000 | 0o4000 | 0o10000 | 0o20000 | 0o40000
            | 0o200000 | 0o400000 | 0o1000000 | 0o2000000
        #expect(line("open", [p, many, 0], [0: text("/nonexist/x")], returns: -22) ==
            "open(\"/nonexist/x\", O_RDWR|O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_DSYNC|O_DIRECT|O_NOFOLLOW|O_NOATIME|O_CLOEXEC|O_DIRECTORY|FASYNC, 000) = -1 EINVAL (Invalid argument)")
        #expect(line("open", [p, 2 | 0o4010000 | 0o10000000 | 0o20200000, 0], [0: text("/nonexist/x")], returns: -2) ==
            "open(\"/nonexist/x\", O_RDWR|O_SYNC|O_PATH|O_TMPFILE, 000) = -1 ENOENT (No such file or directory)")
        #expect(line("open", [p, 2 | 0o10000 | 0o20000000, 0], [0: text("/nonexist/x")], returns: -22) ==
            "open(\"/nonexist/x\", O_RDWR|O_DSYNC|__O_TMPFILE, 000) = -1 EINVAL (Invalid argument)")
        #expect(line("open", [p, 0x4000_0000], [0: text("/nonexist")], returns: -2) ==
            "open(\"/nonexist\", O_RDONLY|0x40000000) = -1 ENOENT (No such file or directory)")
        #expect(line("open", [p, 3], [0: text("/nonexist")], returns: -2) ==
            "open(\"/nonexist\", O_ACCMODE) = -1 ENOENT (No such file or directory)")
        #expect(line("open", [p, 0o100, 0], [0: text("/nonexist")], returns: 3) ==
            "open(\"/nonexist\", O_RDONLY|O_CREAT, 000) = 3")
        #expect(line("open", [p, 2 | 0o20200000, 0o600], [0: text("/tmp/sx")], returns: 5) ==
            "open(\"/tmp/sx\", O_RDWR|O_TMPFILE, 0600) = 5")
        #expect(line("open", [p, 2 | 0o2000 | 0o4000 | 0o4010000 | 0o400000 | 0o10000000 | 0o200000 | 0x4000_0000],
                     [0: text("/tmp/sx/f1")], returns: -20) ==
            "open(\"/tmp/sx/f1\", O_RDWR|O_APPEND|O_NONBLOCK|O_SYNC|O_NOFOLLOW|O_PATH|O_DIRECTORY|0x40000000) = -1 ENOTDIR (Not a directory)")
    }

    @Test func openatDirectoryDescriptors() {
        #expect(line("openat", [reg(-100), path, 0o2000000], [1: text("/etc/passwd")], returns: 3) ==
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3")
        #expect(line("openat", [5, path, 0], [1: text("abc")], returns: -9) ==
            "openat(5, \"abc\", O_RDONLY) = -1 EBADF (Bad file descriptor)")
        #expect(line("openat", [reg(-1), path, 0], [1: text("abc")], returns: -9) ==
            "openat(-1, \"abc\", O_RDONLY) = -1 EBADF (Bad file descriptor)")
        // Only the low 32 bits of an int argument count.
        #expect(line("openat", [0x1_FFFF_FF9C, path, 0], [1: text("abc")], returns: -2) ==
            "openat(AT_FDCWD, \"abc\", O_RDONLY) = -1 ENOENT (No such file or directory)")
        #expect(line("close", [0x1_0000_0003], returns: 0) == "close(3) = 0")
        #expect(line("openat", [reg(-100), 1, 0], [1: faulted], returns: -14) ==
            "openat(AT_FDCWD, 0x1, O_RDONLY) = -1 EFAULT (Bad address)")
    }

    @Test func openat2Structures() {
        let create = Pack().u64(2 | 0o100).u64(0o644).u64(0).data
        #expect(line("openat2", [reg(-100), path, 0x7000, 24], [1: text("/nonexist/x"), 2: create], returns: -2) ==
            "openat2(AT_FDCWD, \"/nonexist/x\", {flags=O_RDWR|O_CREAT, mode=0644, resolve=0}, 24) = -1 ENOENT (No such file or directory)")
        let plain = Pack().u64(0).u64(0).u64(0).data
        #expect(line("openat2", [reg(-100), path, 0x7000, 24], [1: text("/nonexist/x"), 2: plain], returns: -2) ==
            "openat2(AT_FDCWD, \"/nonexist/x\", {flags=O_RDONLY, resolve=0}, 24) = -1 ENOENT (No such file or directory)")
        let beneath = Pack().u64(0o2000000).u64(0).u64(0x8 | 0x4).data
        #expect(line("openat2", [reg(-100), path, 0x7000, 24], [1: text("/etc/hosts"), 2: beneath], returns: -18) ==
            "openat2(AT_FDCWD, \"/etc/hosts\", {flags=O_RDONLY|O_CLOEXEC, resolve=RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH}, 24) = -1 EXDEV (Invalid cross-device link)")
    }

    @Test func descriptorFlagsWithoutAccessMode() {
        #expect(line("pipe2", [0, 0xFFFF_FFFF], returns: -22) ==
            "pipe2(NULL, O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_SYNC|O_DIRECT|O_LARGEFILE|O_NOFOLLOW|O_NOATIME|O_CLOEXEC|O_PATH|O_TMPFILE|FASYNC|0xff80003f) = -1 EINVAL (Invalid argument)")
        #expect(line("pipe2", [0x7ffd_0000, 0o2004000], [0: Pack().u32(6).u32(7).data], returns: 0) ==
            "pipe2([6, 7], O_NONBLOCK|O_CLOEXEC) = 0")
        #expect(line("pipe", [0x7ffd_0000], [0: Pack().u32(8).u32(9).data], returns: 0) == "pipe([8, 9]) = 0")
        #expect(line("dup3", [3, 11, 0o2000000], returns: 11) == "dup3(3, 11, O_CLOEXEC) = 11")
        #expect(line("dup2", [3, 10], returns: 10) == "dup2(3, 10) = 10")
    }

    @Test func atFlagsPerCall() {
        let p = path
        #expect(line("faccessat2", [reg(-1), p, 0xFFFF_FFFF, 0xFFFF_FFFF], [1: text("x")], returns: -22) ==
            "faccessat2(-1, \"x\", R_OK|W_OK|X_OK|0xfffffff8, AT_SYMLINK_NOFOLLOW|AT_EACCESS|AT_EMPTY_PATH|0xffffecff) = -1 EINVAL (Invalid argument)")
        #expect(line("faccessat2", [reg(-1), p, 7, 0], [1: text("x")], returns: -9) ==
            "faccessat2(-1, \"x\", R_OK|W_OK|X_OK, 0) = -1 EBADF (Bad file descriptor)")
        let all = "AT_SYMLINK_NOFOLLOW|AT_REMOVEDIR|AT_SYMLINK_FOLLOW|AT_NO_AUTOMOUNT|AT_EMPTY_PATH|AT_RECURSIVE|0xffff60ff"
        #expect(line("newfstatat", [reg(-1), p, 0, 0xFFFF_FFFF], [1: text("x")], returns: -22) ==
            "newfstatat(-1, \"x\", NULL, \(all)) = -1 EINVAL (Invalid argument)")
        #expect(line("unlinkat", [reg(-1), p, 0xFFFF_FFFF], [1: text("x")], returns: -22) ==
            "unlinkat(-1, \"x\", \(all)) = -1 EINVAL (Invalid argument)")
        #expect(line("linkat", [reg(-1), p, reg(-1), p + 8, 0xFFFF_FFFF], [1: text("x"), 3: text("y")], returns: -22) ==
            "linkat(-1, \"x\", -1, \"y\", \(all)) = -1 EINVAL (Invalid argument)")
        #expect(line("fchownat", [reg(-1), p, reg(-1), reg(-1), 0xFFFF_FFFF], [1: text("x")], returns: -22) ==
            "fchownat(-1, \"x\", -1, -1, \(all)) = -1 EINVAL (Invalid argument)")
        #expect(line("utimensat", [reg(-1), p, 0, 0xFFFF_FFFF], [1: text("x")], returns: -22) ==
            "utimensat(-1, \"x\", NULL, \(all)) = -1 EINVAL (Invalid argument)")
        #expect(line("execveat", [reg(-1), p, 0, 0, 0xFFFF_FFFF], [1: text("x")], returns: -22) ==
            "execveat(-1, \"x\", NULL, NULL, \(all)) = -1 EINVAL (Invalid argument)")
        #expect(line("unlinkat", [reg(-100), p, 0x200], [1: text("/tmp/sx/d")], returns: 0) ==
            "unlinkat(AT_FDCWD, \"/tmp/sx/d\", AT_REMOVEDIR) = 0")
        #expect(line("renameat2", [reg(-1), p, reg(-1), p + 8, 0xFFFF_FFFF], [1: text("x"), 3: text("y")], returns: -22) ==
            "renameat2(-1, \"x\", -1, \"y\", RENAME_NOREPLACE|RENAME_EXCHANGE|RENAME_WHITEOUT|0xfffffff8) = -1 EINVAL (Invalid argument)")
        #expect(line("access", [p, 0], [0: text("/etc/passwd")], returns: 0) == "access(\"/etc/passwd\", F_OK) = 0")
    }

    @Test func statFamily() {
        let p = path
        #expect(line("fstat", [3, 0x7ffc_0000], [1: statStruct(mode: 0o100644, size: 1221)], returns: 0) ==
            "fstat(3, {st_mode=S_IFREG|0644, st_size=1221, ...}) = 0")
        #expect(line("stat", [p, 0x7ffc_0000], [0: text("/dev/null"), 1: statStruct(mode: 0o020666, rdev: 0x103)], returns: 0) ==
            "stat(\"/dev/null\", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0")
        #expect(line("lstat", [p, 0x7ffc_0000], [0: text("/"), 1: statStruct(mode: 0o040755, size: 4096)], returns: 0) ==
            "lstat(\"/\", {st_mode=S_IFDIR|0755, st_size=4096, ...}) = 0")
        #expect(line("newfstatat", [reg(-100), p, 0x7ffc_0000, 0x100], [1: text("/etc"), 2: statStruct(mode: 0o040755, size: 4096)], returns: 0) ==
            "newfstatat(AT_FDCWD, \"/etc\", {st_mode=S_IFDIR|0755, st_size=4096, ...}, AT_SYMLINK_NOFOLLOW) = 0")
        #expect(line("lstat", [p, 0x7ffc_a448_7f50], [0: text("/nonexistent/file")], returns: -2) ==
            "lstat(\"/nonexistent/file\", 0x7ffca4487f50) = -1 ENOENT (No such file or directory)")
        let chr = Pack().u32(0x7FF | 0x1000).u32(4096).u64(0).u32(1).u32(0).u32(0).u16(0o020666).u16(0).u64(5).u64(0).zeros(256 - 48).data
        #expect(line("statx", [reg(-100), p, 0, 0, 0x7ffc_0000], [1: text("/dev/null"), 4: chr], returns: 0) ==
            "statx(AT_FDCWD, \"/dev/null\", AT_STATX_SYNC_AS_STAT, 0, {stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFCHR|0666, stx_size=0, ...}) = 0")
        let root = Pack().u32(0xFFF | 0x1000).u32(4096).u64(0x2000).u32(1).u32(0).u32(0).u16(0o040755).u16(0).u64(2).u64(4096).zeros(256 - 48).data
        #expect(line("statx", [reg(-100), p, 0x100 | 0x800, 0xFFF, 0x7ffc_0000], [1: text("/"), 4: root], returns: 0) ==
            "statx(AT_FDCWD, \"/\", AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT, STATX_ALL, {stx_mask=STATX_ALL|STATX_MNT_ID, stx_attributes=STATX_ATTR_MOUNT_ROOT, stx_mode=S_IFDIR|0755, stx_size=4096, ...}) = 0")
        #expect(line("statx", [reg(-1), p, 0xFFFF_FFFF, 0xFFFF_FFFF, 0], [1: text("x")], returns: -22) ==
            "statx(-1, \"x\", AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC|AT_SYMLINK_NOFOLLOW|AT_REMOVEDIR|AT_SYMLINK_FOLLOW|AT_NO_AUTOMOUNT|AT_EMPTY_PATH|AT_RECURSIVE|0xffff00ff, STATX_ALL|STATX_MNT_ID|STATX_DIOALIGN|0xffffc000, NULL) = -1 EINVAL (Invalid argument)")
        #expect(line("statx", [reg(-1), p, 0x4000, 0xFFF, 0], [1: text("x")], returns: -9) ==
            "statx(-1, \"x\", AT_STATX_DONT_SYNC, STATX_ALL, NULL) = -1 EBADF (Bad file descriptor)")
    }

    @Test func modesAndDevices() {
        let p = path
        #expect(line("mkdir", [p, 0o755], [0: text("/tmp/sx/d")], returns: 0) == "mkdir(\"/tmp/sx/d\", 0755) = 0")
        #expect(line("mkdir", [p, 0], [0: text("/tmp/sx/d")], returns: -17) == "mkdir(\"/tmp/sx/d\", 000) = -1 EEXIST (File exists)")
        #expect(line("mkdir", [p, 0o7], [0: text("/tmp/sx/d")], returns: -17) == "mkdir(\"/tmp/sx/d\", 007) = -1 EEXIST (File exists)")
        #expect(line("chmod", [p, 0o100644], [0: text("/nonexist")], returns: 0) == "chmod(\"/nonexist\", 0100644) = 0")
        #expect(line("fchmod", [reg(-1), 0o7777], returns: -9) == "fchmod(-1, 07777) = -1 EBADF (Bad file descriptor)")
        #expect(line("umask", [0o22], returns: 0o22) == "umask(022) = 022")
        #expect(line("mknod", [p, 0o010644, 0], [0: text("/tmp/sx/fifo")], returns: 0) == "mknod(\"/tmp/sx/fifo\", S_IFIFO|0644) = 0")
        #expect(line("mknod", [p, 0o644, 0], [0: text("/nonexist/x")], returns: -2) ==
            "mknod(\"/nonexist/x\", 0644) = -1 ENOENT (No such file or directory)")
        #expect(line("mknod", [p, 0o060644, 0x801], [0: text("/nonexist/x")], returns: -2) ==
            "mknod(\"/nonexist/x\", S_IFBLK|0644, makedev(0x8, 0x1)) = -1 ENOENT (No such file or directory)")
        #expect(line("mknodat", [reg(-100), p, 0o020600, 0x103], [1: text("/tmp/sx/chr")], returns: 0) ==
            "mknodat(AT_FDCWD, \"/tmp/sx/chr\", S_IFCHR|0600, makedev(0x1, 0x3)) = 0")
        #expect(line("fchown", [4, 0, 0xFFFF_FFFF], returns: 0) == "fchown(4, 0, -1) = 0")
    }

    @Test func fcntlCommandsAndResults() {
        #expect(line("fcntl", [3, 3], returns: 0x8000) == "fcntl(3, F_GETFL) = 0x8000 (flags O_RDONLY|O_LARGEFILE)")
        #expect(line("fcntl", [3, 3], returns: 0) == "fcntl(3, F_GETFL) = 0 (flags O_RDONLY)")
        #expect(line("fcntl", [4, 3], returns: 1) == "fcntl(4, F_GETFL) = 0x1 (flags O_WRONLY)")
        #expect(line("fcntl", [3, 1], returns: 1) == "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)")
        #expect(line("fcntl", [3, 1], returns: 0) == "fcntl(3, F_GETFD) = 0")
        #expect(line("fcntl", [3, 2, 1], returns: 0) == "fcntl(3, F_SETFD, FD_CLOEXEC) = 0")
        #expect(line("fcntl", [3, 4, 0o4000], returns: 0) == "fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0")
        #expect(line("fcntl", [3, 1030, 3], returns: 12) == "fcntl(3, F_DUPFD_CLOEXEC, 3) = 12")
        #expect(line("fcntl", [3, 0, 10], returns: 11) == "fcntl(3, F_DUPFD, 10) = 11")
        #expect(line("fcntl", [3, 8, 123], returns: -3) == "fcntl(3, F_SETOWN, 123) = -1 ESRCH (No such process)")
        #expect(line("fcntl", [3, 9], returns: 0) == "fcntl(3, F_GETOWN) = 0")
        #expect(line("fcntl", [3, 1031, 65536], returns: 65536) == "fcntl(3, F_SETPIPE_SZ, 65536) = 65536")
        #expect(line("fcntl", [3, 1032], returns: 65536) == "fcntl(3, F_GETPIPE_SZ) = 65536")
        #expect(line("fcntl", [3, 1033, 1], returns: -1) == "fcntl(3, F_ADD_SEALS, F_SEAL_SEAL) = -1 EPERM (Operation not permitted)")
        #expect(line("fcntl", [3, 1034], returns: -22) == "fcntl(3, F_GET_SEALS) = -1 EINVAL (Invalid argument)")
        #expect(line("fcntl", [3, 10, 29], returns: 0) == "fcntl(3, F_SETSIG, SIGIO) = 0")
        #expect(line("fcntl", [3, 1026, 4 | 0x8000_0000], returns: -20) ==
            "fcntl(3, F_NOTIFY, DN_CREATE|DN_MULTISHOT) = -1 ENOTDIR (Not a directory)")
        #expect(line("fcntl", [3, 1024, 0], returns: -22) == "fcntl(3, F_SETLEASE, F_RDLCK) = -1 EINVAL (Invalid argument)")
        #expect(line("fcntl", [3, 1025], returns: 2) == "fcntl(3, F_GETLEASE) = 0x2 (F_UNLCK)")
        #expect(line("fcntl", [3, 0x63, 1], returns: -22) == "fcntl(3, 0x63 /* F_??? */, 0x1) = -1 EINVAL (Invalid argument)")
        let lock = Pack().u16(1).u16(0).u32(0).i64(0).i64(0).u32(0).u32(0).data
        #expect(line("fcntl", [3, 6, 0x7ffc_0000], [2: lock], returns: -9) ==
            "fcntl(3, F_SETLK, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=0}) = -1 EBADF (Bad file descriptor)")
        let unlocked = Pack().u16(2).u16(0).u32(0).i64(0).i64(0).u32(0).u32(0).data
        // strace shows the lock the kernel wrote back: sonde only has the request, so it prints the address.
        #expect(line("fcntl", [3, 5, 0x7ffc_0000], [2: lock], returns: 0) == "fcntl(3, F_GETLK, 0x7ffc0000) = 0")
        #expect(line("fcntl", [3, 38, 0x7ffc_0000], [2: unlocked], returns: 0) ==
            "fcntl(3, F_OFD_SETLKW, {l_type=F_UNLCK, l_whence=SEEK_SET, l_start=0, l_len=0}) = 0")
    }

    @Test func ioctlRequests() {
        #expect(line("ioctl", [1, 0x5401, 0x7ffc_1d06_e400], returns: -25) ==
            "ioctl(1, TCGETS, 0x7ffc1d06e400) = -1 ENOTTY (Inappropriate ioctl for device)")
        #expect(line("ioctl", [reg(-1), 0x54FF, 0], returns: -9) ==
            "ioctl(-1, _IOC(_IOC_NONE, 0x54, 0xff, 0), 0) = -1 EBADF (Bad file descriptor)")
        #expect(line("ioctl", [reg(-1), 0x5421, 0x1000], [2: faulted], returns: -9) ==
            "ioctl(-1, FIONBIO, 0x1000) = -1 EBADF (Bad file descriptor)")
        #expect(line("ioctl", [0, 0x5421, 0x7ffc_0000], [2: Pack().u32(1).data], returns: 0) == "ioctl(0, FIONBIO, [1]) = 0")
        #expect(line("ioctl", [reg(-1), 0x5451], returns: -9) == "ioctl(-1, FIOCLEX) = -1 EBADF (Bad file descriptor)")
        #expect(line("ioctl", [reg(-1), 0x5413, 0x1000], returns: -9) == "ioctl(-1, TIOCGWINSZ, 0x1000) = -1 EBADF (Bad file descriptor)")
        #expect(line("ioctl", [reg(-1), 0x8004_5401, 0x1000], returns: -9) ==
            "ioctl(-1, _IOC(_IOC_READ, 0x54, 0x1, 0x4), 0x1000) = -1 EBADF (Bad file descriptor)")
        #expect(line("ioctl", [reg(-1), 0x4000_0000, 0x1000], returns: -9) ==
            "ioctl(-1, _IOC(_IOC_WRITE, 0, 0, 0), 0x1000) = -1 EBADF (Bad file descriptor)")
        #expect(line("ioctl", [0, 0x540E, 0], returns: -25) == "ioctl(0, TIOCSCTTY, 0) = -1 ENOTTY (Inappropriate ioctl for device)")
    }

    @Test func miscellaneousFileCalls() {
        let p = path
        #expect(line("lseek", [3, 0, 2], returns: 1221) == "lseek(3, 0, SEEK_END) = 1221")
        #expect(line("lseek", [3, 5, 9], returns: -22) == "lseek(3, 5, 0x9 /* SEEK_??? */) = -1 EINVAL (Invalid argument)")
        #expect(line("lseek", [0, 0xFFFF_FFFF, 0], returns: 0) == "lseek(0, 4294967295, SEEK_SET) = 0")
        #expect(line("flock", [reg(-1), 0xFFFF_FFFF], returns: 0) ==
            "flock(-1, LOCK_SH|LOCK_EX|LOCK_NB|LOCK_UN|LOCK_MAND|LOCK_RW|0xffffff10) = 0")
        #expect(line("fallocate", [reg(-1), 0xFFFF_FFFF, 0, 0], returns: -9) ==
            "fallocate(-1, FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE|FALLOC_FL_NO_HIDE_STALE|FALLOC_FL_COLLAPSE_RANGE|FALLOC_FL_ZERO_RANGE|FALLOC_FL_INSERT_RANGE|FALLOC_FL_UNSHARE_RANGE|0xffffff80, 0, 0) = -1 EBADF (Bad file descriptor)")
        #expect(line("fadvise64", [14, 0, 0, 2], returns: 0) == "fadvise64(14, 0, 0, POSIX_FADV_SEQUENTIAL) = 0")
        #expect(line("close_range", [0, 0, 0xFFFF_FFFF], returns: -22) ==
            "close_range(0, 0, CLOSE_RANGE_UNSHARE|CLOSE_RANGE_CLOEXEC|0xfffffff9) = -1 EINVAL (Invalid argument)")
        #expect(line("close_range", [100, 0xFFFF_FFFF, 4], returns: 0) == "close_range(100, 4294967295, CLOSE_RANGE_CLOEXEC) = 0")
        #expect(line("sendfile", [1, 14, 0, 10], returns: 10) == "sendfile(1, 14, NULL, 10) = 10")
        #expect(line("copy_file_range", [14, 0, 1, 0, 10, 0], returns: -22) ==
            "copy_file_range(14, NULL, 1, NULL, 10, 0) = -1 EINVAL (Invalid argument)")
        #expect(line("readlinkat", [reg(-100), p, 0x7000, 5], [1: text("/proc/self/exe"), 2: text("/tmp/")], returns: 5) ==
            "readlinkat(AT_FDCWD, \"/proc/self/exe\", \"/tmp/\", 5) = 5")
        #expect(line("getcwd", [0x7000, 300], [0: raw(Array("/tmp/sx".utf8) + [0])], returns: 8) == "getcwd(\"/tmp/sx\", 300) = 8")
        #expect(line("inotify_add_watch", [reg(-1), p, 0xFFFF_FFFF], [1: text("x")], returns: -22) ==
            "inotify_add_watch(-1, \"x\", IN_ACCESS|IN_MODIFY|IN_ATTRIB|IN_CLOSE_WRITE|IN_CLOSE_NOWRITE|IN_OPEN|IN_MOVED_FROM|IN_MOVED_TO|IN_CREATE|IN_DELETE|IN_DELETE_SELF|IN_MOVE_SELF|IN_UNMOUNT|IN_Q_OVERFLOW|IN_IGNORED|IN_ONLYDIR|IN_DONT_FOLLOW|IN_EXCL_UNLINK|IN_MASK_CREATE|IN_MASK_ADD|IN_ISDIR|IN_ONESHOT|0x8ff1000) = -1 EINVAL (Invalid argument)")
        #expect(line("inotify_init1", [0xFFFF_FFFF], returns: -22) == "inotify_init1(IN_NONBLOCK|IN_CLOEXEC|0xfff7f7ff) = -1 EINVAL (Invalid argument)")
        #expect(line("memfd_create", [p, 0xFFFF_FFFF], [0: text("x")], returns: -22) ==
            "memfd_create(\"x\", MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_HUGETLB|0x3fffff8|63<<MFD_HUGE_SHIFT) = -1 EINVAL (Invalid argument)")
        #expect(line("getxattr", [p, p + 8, 0x7ffd_b527_f000, 100], [0: text("/tmp"), 1: text("user.x")], returns: -61) ==
            "getxattr(\"/tmp\", \"user.x\", 0x7ffdb527f000, 100) = -1 ENODATA (No data available)")
    }

    @Test func mountCalls() {
        let p = path
        #expect(line("mount", [p, p + 8, p + 16, 0, p + 24],
                     [0: text("tmpfs"), 1: text("/nonexist/x"), 2: text("tmpfs"), 4: text("size=10m,mode=755")], returns: -2) ==
            "mount(\"tmpfs\", \"/nonexist/x\", \"tmpfs\", 0, \"size=10m,mode=755\") = -1 ENOENT (No such file or directory)")
        #expect(line("mount", [p, p + 8, 0, 4096 | 16384, 0], [0: text("/a"), 1: text("/nonexist/x")], returns: -2) ==
            "mount(\"/a\", \"/nonexist/x\", NULL, MS_BIND|MS_REC, NULL) = -1 ENOENT (No such file or directory)")
        #expect(line("mount", [p, p + 8, 0x55d3_acc9_902e, 32 | 4096 | 1, p + 24],
                     [0: text("/a"), 1: text("/nonexist/x"), 2: text("xx"), 4: text("ro")], returns: -2) ==
            "mount(\"/a\", \"/nonexist/x\", 0x55d3acc9902e, MS_RDONLY|MS_REMOUNT|MS_BIND, \"ro\") = -1 ENOENT (No such file or directory)")
        #expect(line("mount", [0, p + 8, 0, 1 << 18, 0], [1: text("/nonexist/x")], returns: -2) ==
            "mount(NULL, \"/nonexist/x\", NULL, MS_PRIVATE, NULL) = -1 ENOENT (No such file or directory)")
        #expect(line("mount", [p, p + 8, p + 16, 0xC0ED_0001, 0], [0: text("a"), 1: text("/nonexist/y"), 2: text("b")], returns: -2) ==
            "mount(\"a\", \"/nonexist/y\", \"b\", MS_MGC_VAL|MS_RDONLY, NULL) = -1 ENOENT (No such file or directory)")
        #expect(line("umount2", [p, 0xFFFF_FFFF], [0: text("/nonexist/y")], returns: -22) ==
            "umount2(\"/nonexist/y\", MNT_FORCE|MNT_DETACH|MNT_EXPIRE|UMOUNT_NOFOLLOW|0xfffffff0) = -1 EINVAL (Invalid argument)")
        #expect(line("umount2", [p, 2], [0: text("/tmp/sx/mnt")], returns: 0) == "umount2(\"/tmp/sx/mnt\", MNT_DETACH) = 0")
    }
}
