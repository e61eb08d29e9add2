// glibc's allocator told to keep freed memory in the heap (see FreedMemoryRetention.swift).
#include "CKernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int tk_retain_freed_memory(size_t largest_heap_block) {
#if defined(__GLIBC__)
    int mapped = mallopt(M_MMAP_THRESHOLD, (int)largest_heap_block);
    int trimmed = mallopt(M_TRIM_THRESHOLD, 0x7FFFFFFF);
    return mapped == 1 && trimmed == 1;
#else
    (void)largest_heap_block;
    return 0;
#endif
}
