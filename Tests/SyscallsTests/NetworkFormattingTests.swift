import Testing
import Syscalls

/// Sockets, addresses, polling. Expected strings are strace 6.1's output on this machine.
@Suite struct NetworkFormattingTests {
    let address: UInt64 = 0x7ffd_4745_9170
    let loopback: [UInt8] = [127, 0, 0, 1]

    @Test func sockets() {
        #expect(line("socket", [2, 1 | 0o2000000, 0], returns: 13) == "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 13")
        #expect(line("socket", [2, 1 | 0o2000000 | 0o4000, 6], returns: 3) ==
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP) = 3")
        #expect(line("socket", [10, 2, 17], returns: 14) == "socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP) = 14")
        #expect(line("socket", [1, 1, 0], returns: 15) == "socket(AF_UNIX, SOCK_STREAM, 0) = 15")
        #expect(line("socket", [1, 2, 1], returns: 4) == "socket(AF_UNIX, SOCK_DGRAM, 1) = 4")
        #expect(line("socket", [16, 3 | 0o2000000, 0], returns: 8) == "socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 8")
        #expect(line("socket", [17, 3, 0x300], returns: 9) == "socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) = 9")
        #expect(line("socket", [2, 2, 1], returns: -13) == "socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) = -1 EACCES (Permission denied)")
        #expect(line("socket", [99, 99, 99], returns: -22) ==
            "socket(0x63 /* AF_??? */, SOCK_RAW|0x60 /* SOCK_??? */, 99) = -1 EINVAL (Invalid argument)")
        #expect(line("socket", [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], returns: -22) ==
            "socket(0xffffffff /* AF_??? */, SOCK_CLOEXEC|SOCK_NONBLOCK|0xfff7f7ff, 4294967295) = -1 EINVAL (Invalid argument)")
        #expect(line("socketpair", [1, 5 | 0o4000, 0, 0x7000], [3: Pack().u32(6).u32(7).data], returns: 0) ==
            "socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_NONBLOCK, 0, [6, 7]) = 0")
        #expect(line("listen", [13, 128], returns: 0) == "listen(13, 128) = 0")
        #expect(line("shutdown", [13, 2], returns: 0) == "shutdown(13, SHUT_RDWR) = 0")
        #expect(line("accept4", [reg(-1), 0, 0, 0xFFFF_FFFF], returns: -9) ==
            "accept4(-1, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK|0xfff7f7ff) = -1 EBADF (Bad file descriptor)")
        #expect(line("accept", [3, 0, 0], returns: -11) == "accept(3, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)")
    }

    @Test func inetAddresses() {
        let sin = sockaddrIn(port: 80, address: loopback)
        #expect(line("connect", [3, address, 16], [1: sin], returns: -111) ==
            "connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = -1 ECONNREFUSED (Connection refused)")
        #expect(line("connect", [3, address, 20], [1: raw(sin.bytes + [0, 0, 0, 0])], returns: -22) ==
            "connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}, 20) = -1 EINVAL (Invalid argument)")
        #expect(line("connect", [3, address, 8], [1: raw(Array(sin.bytes.prefix(8)))], returns: -22) ==
            "connect(3, {sa_family=AF_INET, sa_data=\"\\0P\\177\\0\\0\\1\"}, 8) = -1 EINVAL (Invalid argument)")
        #expect(line("connect", [3, address, 2], [1: raw(Array(sin.bytes.prefix(2)))], returns: -22) ==
            "connect(3, {sa_family=AF_INET}, 2) = -1 EINVAL (Invalid argument)")
        #expect(line("connect", [3, 0x7ffd_3be7_0150, 0], [1: raw([])], returns: -22) ==
            "connect(3, 0x7ffd3be70150, 0) = -1 EINVAL (Invalid argument)")
        #expect(line("connect", [3, 1, 16], [1: faulted], returns: -14) == "connect(3, 0x1, 16) = -1 EFAULT (Bad address)")
        #expect(line("connect", [3, 0, 16], returns: -14) == "connect(3, NULL, 16) = -1 EFAULT (Bad address)")
        let any = sockaddrIn(port: 0, address: loopback)
        #expect(line("bind", [13, address, 16], [1: any], returns: 0) ==
            "bind(13, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0")
        let local = raw([UInt8](repeating: 0, count: 15) + [1])
        let six = sockaddrIn6(port: 443, address: local.bytes)
        #expect(line("connect", [14, address, 28], [1: six], returns: 0) ==
            "connect(14, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}, 28) = 0")
        let linkLocal: [UInt8] = [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1]
        let short = sockaddrIn6(port: 80, flowinfo: 5, address: linkLocal, scope: 2)
        #expect(line("connect", [3, address, 24], [1: raw(Array(short.bytes.prefix(24)))], returns: -22) ==
            "connect(3, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, \"fe80::1\", &sin6_addr)}, 24) = -1 EINVAL (Invalid argument)")
        let mapped: [UInt8] = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 1, 2, 3, 4]
        #expect(line("connect", [3, address, 28], [1: sockaddrIn6(port: 80, address: mapped)], returns: -22) ==
            "connect(3, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::ffff:1.2.3.4\", &sin6_addr), sin6_scope_id=0}, 28) = -1 EINVAL (Invalid argument)")
        let unknown = Pack().u16(99).raw(Array("abcdef".utf8)).zeros(8).data
        #expect(line("connect", [3, address, 16], [1: unknown], returns: -22) ==
            "connect(3, {sa_family=0x63 /* AF_??? */, sa_data=\"abcdef\\0\\0\\0\\0\\0\\0\\0\\0\"}, 16) = -1 EINVAL (Invalid argument)")
        #expect(line("sendto", [14, 0x7000, 5, 0x40 | 0x4000, address, 28], [1: text("hello"), 4: six], returns: 5) ==
            "sendto(14, \"hello\", 5, MSG_DONTWAIT|MSG_NOSIGNAL, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}, 28) = 5")
    }

    @Test func localAndNetlinkAddresses() {
        #expect(line("connect", [15, address, 110], [1: sockaddrUn(Array("/run/nope.sock".utf8), length: 110)], returns: -2) ==
            "connect(15, {sa_family=AF_UNIX, sun_path=\"/run/nope.sock\"}, 110) = -1 ENOENT (No such file or directory)")
        #expect(line("connect", [15, address, 11], [1: sockaddrUn([0] + Array("abstract".utf8), length: 11)], returns: -111) ==
            "connect(15, {sa_family=AF_UNIX, sun_path=@\"abstract\"}, 11) = -1 ECONNREFUSED (Connection refused)")
        #expect(line("bind", [3, address, 2], [1: sockaddrUn([], length: 2)], returns: 0) == "bind(3, {sa_family=AF_UNIX}, 2) = 0")
        let long = [UInt8](repeating: 0x42, count: 108)
        #expect(line("connect", [3, address, 110], [1: sockaddrUn(long, length: 110)], returns: -2) ==
            "connect(3, {sa_family=AF_UNIX, sun_path=\"\(String(repeating: "B", count: 108))\"}, 110) = -1 ENOENT (No such file or directory)")
        let autobound = sockaddrUn([0] + Array("888a2".utf8), length: 8)
        #expect(line("getsockname", [3, address, 0x7000], [1: autobound, 2: Pack().u32(110).data], returns: 0) ==
            "getsockname(3, {sa_family=AF_UNIX, sun_path=@\"888a2\"}, [110 => 8]) = 0")
        #expect(line("bind", [8, address, 12], [1: Pack().u16(16).u16(0).u32(0).u32(0).data], returns: 0) ==
            "bind(8, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0")
        #expect(line("connect", [8, address, 12], [1: Pack().u16(16).u16(0).u32(1234).u32(5).data], returns: 0) ==
            "connect(8, {sa_family=AF_NETLINK, nl_pid=1234, nl_groups=0x000005}, 12) = 0")
    }

    @Test func addressesTheKernelFillsIn() {
        let sin = sockaddrIn(port: 46673, address: loopback)
        #expect(line("getsockname", [3, address, 0x7000], [1: sin, 2: Pack().u32(16).data], returns: 0) ==
            "getsockname(3, {sa_family=AF_INET, sin_port=htons(46673), sin_addr=inet_addr(\"127.0.0.1\")}, [16]) = 0")
        #expect(line("getpeername", [5, address, 0x7000], [1: sin, 2: Pack().u32(128).data], returns: 0) ==
            "getpeername(5, {sa_family=AF_INET, sin_port=htons(46673), sin_addr=inet_addr(\"127.0.0.1\")}, [128 => 16]) = 0")
        let peer = sockaddrIn(port: 41282, address: loopback)
        #expect(line("accept4", [3, address, 0x7000, 0o2000000], [1: peer, 2: Pack().u32(16).data], returns: 5) ==
            "accept4(3, {sa_family=AF_INET, sin_port=htons(41282), sin_addr=inet_addr(\"127.0.0.1\")}, [16], SOCK_CLOEXEC) = 5")
        #expect(line("recvfrom", [5, 0x7100, 100, 0, 0x7ffd_b527_ef60, 0x7000],
                     [1: text("ping\n"), 4: raw([]), 5: Pack().u32(128).data], returns: 5) ==
            "recvfrom(5, \"ping\\n\", 100, 0, 0x7ffdb527ef60, [128 => 0]) = 5")
        #expect(line("recvfrom", [14, address, 100, 0x40, 0, 0], returns: -11) ==
            "recvfrom(14, 0x7ffd47459170, 100, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)")
        #expect(unfinishedLine("accept4", [3, address, 0x7000, 0], [2: Pack().u32(16).data]) == "accept4(3,  <unfinished ...>")
    }

    @Test func socketOptionsAndFlags() {
        #expect(line("setsockopt", [13, 1, 2, 0x7000, 4], [3: Pack().u32(1).data], returns: 0) ==
            "setsockopt(13, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0")
        #expect(line("setsockopt", [4, 6, 1, 0x7000, 4], [3: Pack().u32(1).data], returns: 0) ==
            "setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0")
        #expect(line("getsockopt", [4, 1, 4, 0x7000, 0x7100], [3: Pack().u32(0).data, 4: Pack().u32(4).data], returns: 0) ==
            "getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0")
        #expect(line("sendto", [reg(-1), 0x7000, 0, 0xFFFF_FFFF, 0, 0], [1: text("")], returns: -9) ==
            "sendto(-1, \"\", 0, MSG_OOB|MSG_PEEK|MSG_DONTROUTE|MSG_CTRUNC|MSG_PROBE|MSG_TRUNC|MSG_DONTWAIT|MSG_EOR|MSG_WAITALL|MSG_FIN|MSG_SYN|MSG_CONFIRM|MSG_RST|MSG_ERRQUEUE|MSG_NOSIGNAL|MSG_MORE|MSG_WAITFORONE|MSG_SENDPAGE_NOTLAST|MSG_BATCH|MSG_NO_SHARED_FRAGS|MSG_ZEROCOPY|MSG_FASTOPEN|MSG_CMSG_CLOEXEC|MSG_CMSG_COMPAT|0x1bf00000, NULL, 0) = -1 EBADF (Bad file descriptor)")
        #expect(line("sendto", [99, 0x7000, 1, 0x8004_0000, 0, 0], [1: text("x")], returns: -9) ==
            "sendto(99, \"x\", 1, MSG_BATCH|MSG_CMSG_COMPAT, NULL, 0) = -1 EBADF (Bad file descriptor)")
    }

    @Test func pollingAndEvents() {
        let fds = Pack().u32(0).u16(1).u16(1).u32(1).u16(2 | 4).u16(4).data
        #expect(line("poll", [0x7000, 2, 0], [0: fds], returns: 2) ==
            "poll([{fd=0, events=POLLIN}, {fd=1, events=POLLPRI|POLLOUT}], 2, 0) = 2 ([{fd=0, revents=POLLIN}, {fd=1, revents=POLLOUT}])")
        let three = Pack().u32(3).u16(1).u16(1).u32(0xFFFF_FFFF).u16(1).u16(0).u32(4).u16(4).u16(4).data
        #expect(line("poll", [0x7000, 3, 100], [0: three], returns: 2) ==
            "poll([{fd=3, events=POLLIN}, {fd=-1}, {fd=4, events=POLLOUT}], 3, 100) = 2 ([{fd=3, revents=POLLIN}, {fd=4, revents=POLLOUT}])")
        #expect(line("poll", [0x7000, 1, 0], [0: Pack().u32(0xFFFF_FFFF).u16(0xFFFF).u16(0).data], returns: 0) ==
            "poll([{fd=-1}], 1, 0) = 0 (Timeout)")
        let event = Pack().u32(1 | 0x8000_0000).u64(0x123_4567).data
        #expect(line("epoll_ctl", [3, 1, 0, 0x7000], [3: event], returns: -1) ==
            "epoll_ctl(3, EPOLL_CTL_ADD, 0, {events=EPOLLIN|EPOLLET, data={u32=19088743, u64=19088743}}) = -1 EPERM (Operation not permitted)")
        #expect(line("epoll_ctl", [reg(-1), 2, reg(-1), 0x7ffe_2caa_93d4], [3: event], returns: -9) ==
            "epoll_ctl(-1, EPOLL_CTL_DEL, -1, 0x7ffe2caa93d4) = -1 EBADF (Bad file descriptor)")
        let every = Pack().u32(0xFFFF_FFFF).u64(0).data
        #expect(line("epoll_ctl", [reg(-1), 9, reg(-1), 0x7000], [3: every], returns: -9) ==
            "epoll_ctl(-1, 0x9 /* EPOLL_CTL_??? */, -1, {events=EPOLLIN|EPOLLPRI|EPOLLOUT|EPOLLERR|EPOLLHUP|EPOLLNVAL|EPOLLRDNORM|EPOLLRDBAND|EPOLLWRNORM|EPOLLWRBAND|EPOLLMSG|EPOLLRDHUP|EPOLLEXCLUSIVE|EPOLLWAKEUP|EPOLLONESHOT|EPOLLET|0xfffd800, data={u32=0, u64=0}}) = -1 EBADF (Bad file descriptor)")
        let ready = Pack().u32(1).u64(0xFFFF_FFFF_0000_0007).data
        #expect(line("epoll_wait", [5, 0x7000, 4, reg(-1)], [1: ready], returns: 1) ==
            "epoll_wait(5, [{events=EPOLLIN, data={u32=7, u64=18446744069414584327}}], 4, -1) = 1")
        #expect(line("epoll_wait", [3, 0x7000, 4, 0], [1: raw([])], returns: 0) == "epoll_wait(3, [], 4, 0) = 0")
        #expect(line("epoll_create1", [0xFFFF_FFFF], returns: -22) == "epoll_create1(EPOLL_CLOEXEC|0xfff7ffff) = -1 EINVAL (Invalid argument)")
        #expect(line("epoll_create1", [0], returns: 5) == "epoll_create1(0) = 5")
        #expect(line("eventfd2", [0, 0xFFFF_FFFF], returns: -22) ==
            "eventfd2(0, EFD_SEMAPHORE|EFD_CLOEXEC|EFD_NONBLOCK|0xfff7f7fe) = -1 EINVAL (Invalid argument)")
        #expect(line("eventfd2", [0, 0o2004000], returns: 6) == "eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 6")
    }
}
