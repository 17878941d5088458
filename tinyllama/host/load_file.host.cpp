// Host file loading by mmap or by a copy in huge-page memory (see load_file.h).
#include "tinyllama/host/load_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel_lib/base/types.h"

namespace tllama::host {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

constexpr u64 huge_page = 2 * kl::MiB;

ErrorOr<void> map_file(int fd, FileBuffer& file, const char* what, const char* path)
{
    void* p = mmap(nullptr, file.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return Error::make(ErrorCode::IoRead, "cannot map %s file %s (%llu bytes): %s", what, path,
            static_cast<unsigned long long>(file.size), strerror(errno));
    file.data = static_cast<const u8*>(p);
    file.region = p;
    file.region_size = file.size;
    return {};
}

// Reserves the size rounded up to 2 MiB plus one 2 MiB of slack (so that the data can start
// on a 2 MiB boundary), asks for huge pages, reads the file in and seals it read-only.
ErrorOr<void> copy_file(int fd, FileBuffer& file, const char* what, const char* path)
{
    const u64 span = kl::align_up<u64>(file.size, huge_page);
    file.region_size = span + huge_page;
    file.region = mmap(nullptr, file.region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (file.region == MAP_FAILED) {
        file.region = nullptr;
        return Error::make(ErrorCode::OutOfMemory, "no memory for a copy of %s file %s (%llu MiB): %s; --mmap maps it instead",
            what, path, static_cast<unsigned long long>(file.size / kl::MiB), strerror(errno));
    }
    u8* data = reinterpret_cast<u8*>(kl::align_up<u64>(reinterpret_cast<u64>(file.region), huge_page));
    (void)madvise(data, span, MADV_HUGEPAGE);  // a wish: without it the copy still works
    for (u64 done = 0; done < file.size;) {
        const ssize_t n = pread(fd, data + done, file.size - done, static_cast<off_t>(done));
        if (n <= 0)
            return Error::make(ErrorCode::IoRead, "cannot read %s file %s at byte %llu of %llu: %s", what, path,
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(file.size),
                n == 0 ? "it ended early (changed while read?)" : strerror(errno));
        done += static_cast<u64>(n);
    }
    (void)mprotect(data, span, PROT_READ);
    file.data = data;
    return {};
}

}

ErrorOr<FileBuffer> load_file(const char* path, const char* what, Placement placement)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return Error::make(ErrorCode::IoOpen, "cannot open %s file %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const int saved = errno;
        close(fd);
        return Error::make(ErrorCode::IoOpen, "%s file %s is not a regular file%s%s", what, path, saved ? ": " : "",
            saved ? strerror(saved) : "");
    }
    FileBuffer file;
    file.size = static_cast<u64>(st.st_size);
    ErrorOr<void> loaded {};
    if (file.size > 0)
        loaded = placement == Placement::Copied ? copy_file(fd, file, what, path) : map_file(fd, file, what, path);
    close(fd);  // a mapping stays valid
    if (loaded.is_error()) {
        free_file(file);
        return loaded.release_error();
    }
    return file;
}

void free_file(FileBuffer& file)
{
    if (file.region)
        munmap(file.region, file.region_size);
    file = {};
}

}
