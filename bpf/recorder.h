/* Flight recorder ABI (bpf/recorder.bpf.c <-> Sources/Recorder). Plain C, no kernel types.
 *
 * Every recorded container (cgroup) owns one ring per CPU. A ring is one element of an
 * mmapable BPF array (the container's "inner" map, one element per possible CPU), so it can be
 * pinned in bpffs and read by any later sonde process without stopping the writers:
 *
 *   struct sonde_ring_header | u64 checkpoints[RING_SIZE / 4096] | data[RING_SIZE] | slack[MAX_RECORD]
 *
 * The writer (one at a time: the ring is its CPU's) reserves bytes by advancing `head` (an
 * absolute byte count that never wraps),
 * write the record at data[start % RING_SIZE] contiguously (a record that starts near the end
 * runs on into the slack; the next one starts at the wrapped offset), and commit it by writing
 * its start position into the record header last. Records are never split, so a reader walks
 * forward record by record. After wrap-around it cannot know where the oldest record starts,
 * so whenever a record ends in a new 4 KiB page, the writer notes that page's first record start
 * in checkpoints[page % n]: the reader begins at the oldest checkpoint still inside the ring.
 * Everything in [head - RING_SIZE, head) is intact unless a writer is still in the middle of it
 * (the position check then fails, the reader counts it and resyncs at the next checkpoint). */
#ifndef SONDE_RECORDER_H
#define SONDE_RECORDER_H

#define SONDE_REC_PAGE_SHIFT 12
#define SONDE_REC_MAX_RECORD 8192       /* slack after the ring; no record is larger */
#define SONDE_REC_DATA_MAX 4096         /* captured bytes per record, all arguments together */
#define SONDE_REC_STRING_MAX 1024       /* one string argument */
#define SONDE_REC_ARGV_MAX 32           /* execve argv entries kept */
#define SONDE_REC_IOV_MAX 16            /* iovecs kept per array */
#define SONDE_REC_FD_SET_MAX 128        /* bytes of an fd_set kept: fds 0..1023 */
#define SONDE_REC_SIZE_CLASSES 5        /* ring sizes per CPU: 64 KiB << (2 * class) */
#define SONDE_REC_MAX_SLOTS 1024         /* rings at once (recorded cgroups, pool included) */

/* The size class of a ring: 64 KiB, 256 KiB, 1 MiB, 4 MiB, 16 MiB per CPU. */
#define SONDE_REC_RING_SIZE(class) ((1u << 16) << (2 * (class)))

struct sonde_ring_header {
    __u64 head;      /* bytes reserved so far (absolute, never wraps) */
    __u64 written;   /* records committed */
    __u64 dropped;   /* records that could not be written (too large, scratch unavailable, ring busy) */
    __u64 last_enter; /* absolute start of the newest entry record, for the exit that follows it */
    __u64 busy;      /* a record is being written: set before the reservation, cleared after the commit */
    __u64 reserved[3];
};

enum sonde_rec_type {
    SONDE_REC_ENTER = 1,
    SONDE_REC_EXIT = 2,
    SONDE_REC_SIGNAL = 3,      /* struct sonde_rec_signal */
    SONDE_REC_THREAD_EXIT = 4, /* struct sonde_rec_thread_exit */
    SONDE_REC_STACK = 5,       /* struct sonde_rec_stack */
};

enum sonde_rec_flags {
    /* An exit written right after its own entry on the same CPU carries the entry's timestamp
     * instead of reading the clock (a helper call, tens of ns with this kernel's mitigations):
     * its place in the ring already orders it, only its duration is unknown. */
    SONDE_REC_ENTRY_TIME = 1 << 0,
};

/* Every record starts with this; `size` includes it and is a multiple of 8. */
struct sonde_rec_header {
    __u16 size;
    __u8 type;           /* enum sonde_rec_type */
    __u8 nchunks;        /* data chunks that follow the fixed part */
    __u16 nr;            /* syscall number */
    __u16 flags;         /* enum sonde_rec_flags */
    __u32 position;      /* low 32 bits of the record's absolute start: the commit mark */
    __u32 pid;           /* tgid */
    __u32 tid;
    __u32 reserved;
    __u64 timestamp_ns;  /* CLOCK_BOOTTIME */
};

struct sonde_rec_enter {
    struct sonde_rec_header hdr;
    __u64 args[6];
    /* then nchunks x (struct sonde_rec_chunk + bytes, padded to 4) */
};

struct sonde_rec_exit {
    struct sonde_rec_header hdr;
    __s64 ret;
    /* then nchunks x (struct sonde_rec_chunk + bytes, padded to 4) */
};

/* A signal of a recorded thread (hdr.pid/tid: the thread it is for, hdr.nr: the signal number).
 * Generated: written in the sender's context when the kernel queues it (or discards it: `result`),
 * which is the only place a signal that kills a process without a core dump shows its sender (the
 * kernel turns it into a group exit at once). Delivered: written by the thread itself when it
 * takes the signal, with the action the kernel chose. */
enum sonde_rec_signal_event {
    SONDE_SIGNAL_GENERATED = 1,
    SONDE_SIGNAL_DELIVERED = 2,
};

enum sonde_rec_signal_flags {
    SONDE_SIGNAL_HAS_INFO = 1 << 0, /* info holds the kernel's siginfo (else: none was given) */
    SONDE_SIGNAL_KERNEL = 1 << 1,   /* generated with SEND_SIG_PRIV: from the kernel, no sender */
    SONDE_SIGNAL_GROUP = 1 << 2,    /* generated for the whole process, not one thread */
};

#define SONDE_SIGINFO_SIZE 48 /* struct kernel_siginfo on x86_64 */

struct sonde_rec_signal {
    struct sonde_rec_header hdr;
    __u8 event;    /* enum sonde_rec_signal_event */
    __u8 flags;    /* enum sonde_rec_signal_flags */
    __u8 result;   /* generated: the kernel's TRACE_SIGNAL_* (0 delivered, 1 ignored, 2 already pending...) */
    __u8 reserved;
    __u32 reserved2;
    __u64 handler; /* delivered: sa_handler (0 SIG_DFL, 1 SIG_IGN, else the handler's address) */
    __u64 sa_flags;
    __u8 info[SONDE_SIGINFO_SIZE]; /* si_signo, si_errno, si_code, then the union */
};

/* A recorded thread ended (every thread, not only the last). */
struct sonde_rec_thread_exit {
    struct sonde_rec_header hdr;
    __s32 exit_code;   /* wait status: signal in the low 7 bits, 0x80 core dumped, status in bits 8..15 */
    __u8 group_dead;   /* the process's last thread */
    __u8 reserved[3];
};

/* The user stack of a thread taking a signal whose default action dumps core, captured in the
 * kernel before the process is gone (hdr.nr: the signal). Each frame's file is named by its build
 * id and the offset in it: the kernel resolves every frame under one lock of the address space,
 * where looking mappings up one by one is limited to one per run with interrupts off (as they are
 * at delivery). The executable's path comes along to find the files by; user space finds the
 * others among the files the recording shows opened and the container's library directories. */
#define SONDE_REC_STACK_FRAMES 64
#define SONDE_REC_PATH_MAX 256

/* One frame's file: the layout of the kernel's struct bpf_stack_build_id. */
struct sonde_rec_frame_file {
    __s32 status;      /* SONDE_FRAME_FILE_* */
    __u8 build_id[20];
    __u64 offset;      /* the file offset of the frame (status VALID), else its address */
};

enum sonde_rec_frame_file_status {
    SONDE_FRAME_FILE_EMPTY = 0,
    SONDE_FRAME_FILE_VALID = 1, /* build_id and offset */
    SONDE_FRAME_FILE_IP = 2,    /* no file (anonymous memory) or its build id could not be read */
};

struct sonde_rec_stack {
    struct sonde_rec_header hdr;
    __u32 nframes;
    __u32 nfiles;          /* entries of files (0 when the kernel could not tell) */
    __u16 exe_path_start;  /* the executable's path (inside the thread's root) is exe_path[start..] */
    __u16 exe_flags;       /* SONDE_PATH_TRUNCATED */
    __u32 reserved;
    __u64 frames[SONDE_REC_STACK_FRAMES];               /* innermost first */
    struct sonde_rec_frame_file files[SONDE_REC_STACK_FRAMES];
    char exe_path[SONDE_REC_PATH_MAX];
};

enum sonde_rec_path_flags {
    SONDE_PATH_TRUNCATED = 1 << 0, /* deeper than kept: the path misses its first components */
};

enum sonde_rec_chunk_flags {
    SONDE_CHUNK_TRUNCATED = 1 << 0, /* the data went on beyond what was kept */
    SONDE_CHUNK_FAULT = 1 << 1,     /* user memory could not be read */
    SONDE_CHUNK_ARGV_ENTRY = 1 << 2,/* one string of a string array (execve argv), in order */
    SONDE_CHUNK_ARGV_MORE = 1 << 3, /* the string array had more entries than were kept */
    SONDE_CHUNK_IOV_ARRAY = 1 << 4, /* the struct iovec array itself (at most SONDE_REC_IOV_MAX) */
    SONDE_CHUNK_IOV_ENTRY = 1 << 5, /* the bytes behind one iovec, in order */
    SONDE_CHUNK_MSG_NAME = 1 << 6,  /* a msghdr's msg_name (a socket address) */
    SONDE_CHUNK_AT_EXIT = 1 << 7,   /* the kernel's copy of an in-out argument, read at exit */
};

struct sonde_rec_chunk {
    __u8 arg;      /* argument index 0..5 */
    __u8 flags;    /* enum sonde_rec_chunk_flags */
    __u16 len;     /* bytes that follow */
};

/* What to capture for each argument of a syscall, set by user space from its syscall table. */
enum sonde_capture_kind {
    SONDE_CAP_VALUE = 0,
    SONDE_CAP_STRING = 1,
    SONDE_CAP_STRING_ARRAY = 2,
    SONDE_CAP_IN_BUFFER = 3,   /* len = args[len_arg] */
    SONDE_CAP_OUT_BUFFER = 4,  /* at exit, len = min(ret, args[len_arg]) */
    SONDE_CAP_IN_SOCKADDR = 5, /* len = args[len_arg] */
    SONDE_CAP_OUT_SOCKADDR = 6,/* at exit, len = *(socklen_t *)args[len_arg] */
    SONDE_CAP_IN_STRUCT = 7,   /* len = struct_size */
    SONDE_CAP_OUT_STRUCT = 8,  /* at exit when ret >= 0, len = struct_size */
    SONDE_CAP_IN_IOVEC = 9,    /* struct iovec[args[len_arg]] and the bytes behind each */
    SONDE_CAP_OUT_IOVEC = 10,  /* at exit: the array, and ret bytes spread over the entries */
    SONDE_CAP_IN_MSGHDR = 11,  /* struct user_msghdr, its msg_name and its iovecs */
    SONDE_CAP_OUT_MSGHDR = 12, /* at exit: the same, with ret bytes in the iovecs */
    SONDE_CAP_FD_SET = 13,     /* fd_set of args[len_arg] fds: at entry, and at exit when ret > 0 */
    SONDE_CAP_INOUT_STRUCT = 14, /* len = struct_size: at entry, and at exit when ret >= 0 (ioctl, prctl) */
    SONDE_CAP_IN_ARRAY = 15,   /* args[len_arg] elements of struct_size bytes (setgroups) */
    SONDE_CAP_OUT_ARRAY = 16,  /* at exit when ret > 0: min(ret, args[len_arg]) elements of struct_size bytes (getgroups) */
    SONDE_CAP_OUT_PAGES = 17,  /* at exit when ret == 0: one byte per page of args[len_arg] bytes (mincore) */
    SONDE_CAP_SIGFRAME_MASK = 18, /* at entry: the signal mask rt_sigreturn restores, from the frame at the stack pointer */
};

/* rt_sigreturn finds its frame's struct ucontext at the stack pointer (the handler's `ret` popped
 * the frame's return address); uc_sigmask follows uc_flags, uc_link, uc_stack (24 bytes) and the
 * 256-byte struct sigcontext. */
#define SONDE_UCONTEXT_SIGMASK_OFFSET (8 + 8 + 24 + 256)

struct sonde_syscall_schema {
    __u8 kind[6];
    __u8 len_arg[6];
    __u16 struct_size[6];
    __u8 enter_captures; /* any capture at entry */
    __u8 exit_captures;  /* any capture at exit */
    /* The one argument captured at entry / at exit when there is exactly one (most syscalls),
     * else SONDE_CAPTURE_MANY: one direct capture instead of a bpf_loop over six arguments, whose
     * callbacks are indirect calls (costly with retpolines). */
    __u8 single_enter;
    __u8 single_exit;
};

#define SONDE_CAPTURE_MANY 0xff

#define SONDE_REC_MAX_SYSCALLS 512

/* The value of the recorder's target map, by cgroup id (or mount namespace id). */
enum sonde_rec_target_state {
    SONDE_REC_RECORDING = 1, /* selected by user space */
    SONDE_REC_PENDING = 2,   /* a cgroup made while recording: recorded until user space decides */
};

struct sonde_rec_target {
    __u32 slot;           /* key of its rings in rec_rings_c<size_class> */
    __u8 size_class;
    __u8 state;           /* enum sonde_rec_target_state */
    __u16 reserved;
    __u32 buffer_capture; /* bytes kept of read/write buffers, at most SONDE_REC_STRING_MAX */
    __u32 reserved2;
};

/* The fast filter every syscall of every process consults: rec_filter[key & MASK]. An entry holds
 * its full key; a different non-zero key there means a collision, and the hash map rec_targets
 * (which always holds every target) decides. An array lookup is inlined by the verifier; a hash
 * lookup is a call, which on this kind of kernel (return thunks, retpolines) costs more than
 * everything else a process that is not recorded pays. */
#define SONDE_REC_FILTER_SIZE 65536
#define SONDE_REC_FILTER_MASK (SONDE_REC_FILTER_SIZE - 1)

struct sonde_rec_filter_entry {
    __u64 key;      /* 0: free */
    struct sonde_rec_target target;
};

/* Recorder-wide settings in an array map (not constants: pinned programs outlive the process
 * that loaded them, and a later one may change them). */
struct sonde_rec_config {
    __u8 track_new_cgroups; /* give every new v2 cgroup a ring from the free slots */
    __u8 new_size_class;    /* the class of the free slots' rings */
    __u16 reserved;
    __u32 buffer_capture;
};

/* Told to user space through the notification ring buffer. */
enum sonde_rec_notice_kind {
    SONDE_REC_CGROUP_CREATED = 1,
    SONDE_REC_CGROUP_REMOVED = 2,
    SONDE_REC_PROCESS_EXIT = 3,  /* a recorded process died from a signal, or a pid-namespace init exited */
    SONDE_REC_POOL_EMPTY = 4,    /* a new cgroup found no free ring */
};

struct sonde_rec_notice {
    __u32 kind;
    __u32 slot;
    __u64 key;          /* cgroup id (or mount namespace id) */
    __u64 timestamp_ns;
    __u32 pid;
    __s32 exit_code;    /* wait status: signal in the low 7 bits, exit status in bits 8..15 */
    __u8 namespace_init;
    __u8 reserved[3];
    __s32 level;
    char comm[16];
    char path[256];
};

#endif
