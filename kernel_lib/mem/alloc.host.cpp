// Host implementation of kl::mem::allocate: aligned_alloc with a descriptive error.
#include <stdlib.h>
#include <unistd.h>

#include "kernel_lib/mem/alloc.h"

namespace kl::mem {

ErrorOr<void*> allocate(usize size, usize alignment, const char* what)
{
    if (alignment < sizeof(void*))
        alignment = sizeof(void*);
    void* p = aligned_alloc(alignment, align_up(size == 0 ? 1 : size, alignment));
    if (!p)
        return Error::make(ErrorCode::OutOfMemory, "out of memory allocating %s: %zu bytes requested, about %llu MiB available",
            what, size, static_cast<unsigned long long>(available_bytes() / MiB));
    return p;
}

void release(void* pointer)
{
    free(pointer);
}

u64 available_bytes()
{
    long pages = sysconf(_SC_AVPHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    return pages > 0 && page_size > 0 ? static_cast<u64>(pages) * static_cast<u64>(page_size) : 0;
}

}
