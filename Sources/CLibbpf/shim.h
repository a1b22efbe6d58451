// libbpf's public API, imported into Swift as the CLibbpf module (Debian's libbpf-dev 1.1).
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
