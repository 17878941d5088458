// Host dump hook (see dump_file.h).
#include "microjit/dump_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "microjit/jit.h"

namespace mjit {

kl::ErrorOr<void> dump_to_file(const char* directory, const char* name, const u8* code, usize size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.bin", directory, name);
    FILE* f = fopen(path, "wb");
    if (!f)
        return kl::Error::make(kl::ErrorCode::IoOpen, "cannot write JIT dump %s: %s (does the directory exist?)", path, strerror(errno));
    const bool ok = fwrite(code, 1, size, f) == size;
    if (fclose(f) != 0 || !ok)
        return kl::Error::make(kl::ErrorCode::IoWrite, "writing JIT dump %s failed: %s", path, strerror(errno));
    return {};
}

static void file_hook(void* context, const char* name, const u8* code, usize size)
{
    auto written = dump_to_file(static_cast<const char*>(context), name, code, size);
    if (written.is_error())
        kl::print("jit dump: %s\n", written.error().message());
}

void dump_kernels_to(const char* directory)
{
    set_dump_hook(file_hook, const_cast<char*>(directory));
}

}
