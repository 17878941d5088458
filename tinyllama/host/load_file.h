// Host-only: a whole file in memory, the way the kernel receives a model (one buffer).
//
// Two placements. Mapped: the file mapped read-only (page-aligned, shared with the page
// cache, no copy), for tokenizers, profiles and texts, and for a model when asked
// (bareflow-host --mmap). Copied: read into private memory that the OS is asked to back
// with 2 MiB pages (madvise), then made read-only: a model's weights are walked end to end
// for every token, and with 4 KiB pages every 4 KiB of them costs a TLB miss. The kernel
// maps all memory with 2 MiB pages, so this is also how it runs. Measured on TinyLlama
// Q4_K_M (one core, alternating): token by token 1.03x the tokens a second, the prefill as
// fast or up to 1.04x (a mapping gets 2 MiB pages for part of the page cache, varying), the
// start 0.35 -> 0.25 s once the file is in the page cache. The costs: the copy beside the
// page cache's (which the OS can drop), and ~1 s more for a first start after memory got
// fragmented (Linux compacts it for the 2 MiB pages).
// The engine's views point into the buffer until free_file().
#pragma once

#include "kernel_lib/base/error.h"

namespace tllama::host {

enum class Placement { Mapped, Copied };

struct FileBuffer {
    const u8* data = nullptr;  // [size] bytes, page-aligned (Copied: 2 MiB-aligned); null for an empty file
    u64 size = 0;
    void* region = nullptr;    // what free_file() unmaps: the mapping, or the copy's reservation
    u64 region_size = 0;
};

// Errors: IoOpen (cannot open / not a regular file), IoRead (cannot map or read), OutOfMemory
// (Copied: no memory for the copy; --mmap maps instead); `what` names the file's role in the
// message ("model", "tokenizer").
kl::ErrorOr<FileBuffer> load_file(const char* path, const char* what, Placement placement = Placement::Mapped);
void free_file(FileBuffer& file);

}
