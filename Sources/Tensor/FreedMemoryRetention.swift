import CKernels

/// The process's allocator settings for training loops.
public enum FreedMemoryRetention {
    /// Makes glibc's allocator keep freed memory in the process's heap for reuse instead of
    /// returning it to the system: buffers of up to 32 MB come from the heap rather than from fresh
    /// mappings, and the heap is never trimmed. A training step frees and reallocates the same
    /// buffers every step; returned to the system, each comes back as new pages the kernel has to
    /// zero (12 % of the samples in a profile of prompt tuning on the default model). A training
    /// loop's peak barely moves (13–18 MiB in the training benchmarks), but what the heap holds is
    /// not given back until the process ends, so work that follows training with buffers of other
    /// sizes can peak higher (the 1.5B demo's closing evaluation: 2558 → 2763 MiB).
    ///
    /// Process-wide, so Tailor never calls it on its own: `tailor finetune`, `tailor-bench train`
    /// and the fine-tuning demo do, and a host that trains can. Returns false where it does not apply
    /// (another C library) or glibc refused a setting.
    @discardableResult
    public static func enable() -> Bool {
        tk_retain_freed_memory(32 << 20) == 1  // glibc's largest mmap threshold on 64-bit
    }
}
