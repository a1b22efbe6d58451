// The floor of sonde's emulation on this machine: the same system calls in plain C, no policy, no
// Swift. A child notifies mknodat (libseccomp SCMP_ACT_NOTIFY) and times each call; the parent
// answers it - "deny": RECV, read the path, SEND EPERM; "emulate": RECV, read the path, pread the
// caller's status, open its root, openat2(RESOLVE_IN_ROOT) the parent, NOTIF_ID_VALID, mknodat, SEND.
//   supervise-floor deny|emulate DIR      prints "median_ns=M p99_ns=P" (DIR must be writable; tmpfs)
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static long long ns(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
static int cmp(const void*a,const void*b){long long x=*(long long*)a,y=*(long long*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  if(argc!=3){fprintf(stderr,"usage: supervise-floor deny|emulate DIR\n");return 2;}
  int emulate = argv[1][0]=='e'; int N=20000; const char*dirpath=argv[2]; char node[4096]; snprintf(node,sizeof node,"%s/n",dirpath);
  int sv[2]; socketpair(AF_UNIX,SOCK_STREAM,0,sv);
  pid_t child=fork();
  if(child==0){
    scmp_filter_ctx ctx=seccomp_init(SCMP_ACT_ALLOW); seccomp_rule_add(ctx,SCMP_ACT_NOTIFY,SCMP_SYS(mknodat),0);
    seccomp_load(ctx); int fd=seccomp_notify_fd(ctx);
    char c=0; struct iovec io={&c,1}; char ctl[CMSG_SPACE(sizeof(int))]; struct msghdr m={.msg_iov=&io,.msg_iovlen=1,.msg_control=ctl,.msg_controllen=sizeof ctl};
    struct cmsghdr*h=CMSG_FIRSTHDR(&m); h->cmsg_level=SOL_SOCKET;h->cmsg_type=SCM_RIGHTS;h->cmsg_len=CMSG_LEN(sizeof(int));memcpy(CMSG_DATA(h),&fd,sizeof fd);
    sendmsg(sv[1],&m,0); close(fd);
    long long*t=calloc(N,8);
    for(int i=0;i<N;i++){long long a=ns(); int r=mknodat(AT_FDCWD,node,S_IFCHR|0600,makedev(1,3)); t[i]=ns()-a; if(r==0)unlink(node);}
    qsort(t,N,8,cmp); printf("median_ns=%lld p99_ns=%lld\n", t[N/2], t[N*99/100]); exit(0);
  }
  char c; struct iovec io={&c,1}; char ctl[CMSG_SPACE(sizeof(int))]; struct msghdr m={.msg_iov=&io,.msg_iovlen=1,.msg_control=ctl,.msg_controllen=sizeof ctl};
  recvmsg(sv[0],&m,0); int fd; memcpy(&fd,CMSG_DATA(CMSG_FIRSTHDR(&m)),sizeof fd);
  ioctl(fd, SECCOMP_IOW(4, __u64), 1UL);
  char p[64]; snprintf(p,sizeof p,"/proc/%d",child); int dir=open(p,O_PATH|O_DIRECTORY); int st=openat(dir,"status",O_RDONLY);
  struct pollfd pf={fd,POLLIN,0}; char buf[2048], path[4096];
  for(;;){
    if(poll(&pf,1,-1)<0)continue; if(!(pf.revents&POLLIN))break;
    struct seccomp_notif n; memset(&n,0,sizeof n); if(ioctl(fd,SECCOMP_IOCTL_NOTIF_RECV,&n))continue;
    struct iovec l={path,sizeof path},r={(void*)n.data.args[1],sizeof path}; process_vm_readv(n.pid,&l,1,&r,1,0);
    struct seccomp_notif_resp resp={.id=n.id};
    if(emulate){
      pread(st,buf,sizeof buf,0);
      int root=openat(dir,"root",O_PATH); struct open_how h={.flags=O_PATH|O_DIRECTORY,.resolve=RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS};
      int d=syscall(SYS_openat2,root,dirpath,&h,sizeof h); close(root);
      ioctl(fd,SECCOMP_IOCTL_NOTIF_ID_VALID,&n.id);
      if(mknodat(d,"n",S_IFCHR|0600,makedev(1,3)))resp.error=-1; close(d);
    } else resp.error=-1;
    ioctl(fd,SECCOMP_IOCTL_NOTIF_SEND,&resp);
  }
  waitpid(child,0,0);
}
