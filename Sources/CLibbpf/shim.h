// libbpf's public API, imported into Swift as the CLibbpf module (Debian's libbpf-dev 1.1).
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include <stdint.h>

/* Atomics on BPF map memory mapped into this process (BPF_F_MMAPABLE arrays), which programs
 * change with their own atomic instructions at the same time. */
static inline uint64_t sonde_atomic_or64(uint64_t *p, uint64_t v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
static inline uint64_t sonde_atomic_and64(uint64_t *p, uint64_t v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t sonde_atomic_add32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline uint64_t sonde_atomic_load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
/* Returns the value found: `expected` when the swap took place. */
static inline uint64_t sonde_atomic_cas64(uint64_t *p, uint64_t expected, uint64_t desired)
{
    __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected;
}
