// Host-only: a whole file in memory, the way the kernel receives a model (one buffer).
//
// The file is mapped read-only (page-aligned, shared with the page cache, so a 1 GB model
// costs no copy); the engine's views point into the mapping until free_file().
#pragma once

#include "kernel_lib/base/error.h"

namespace tllama::host {

struct FileBuffer {
    const u8* data = nullptr;  // [size] bytes, page-aligned; null for an empty file
    u64 size = 0;
};

// Errors: IoOpen (cannot open / not a regular file), IoRead (cannot map or read);
// `what` names the file's role in the message ("model", "tokenizer").
kl::ErrorOr<FileBuffer> load_file(const char* path, const char* what);
void free_file(FileBuffer& file);

}
