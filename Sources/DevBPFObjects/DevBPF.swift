import BPFObjects

// The programs of bpf/dev/ (benchmark floors, BPFKit's self-test), added to `EmbeddedBPF` by the
// BPFCompiler plugin like the shipped ones, but in this target, which only sonde-bench and the tests
// depend on.
