// Host file loading by mmap (see load_file.h).
#include "tinyllama/host/load_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tllama::host {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

ErrorOr<FileBuffer> load_file(const char* path, const char* what)
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
    if (file.size > 0) {
        void* p = mmap(nullptr, file.size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int saved = errno;
            close(fd);
            return Error::make(ErrorCode::IoRead, "cannot map %s file %s (%llu bytes): %s", what, path,
                static_cast<unsigned long long>(file.size), strerror(saved));
        }
        file.data = static_cast<const u8*>(p);
    }
    close(fd);  // the mapping stays valid
    return file;
}

void free_file(FileBuffer& file)
{
    if (file.data)
        munmap(const_cast<u8*>(file.data), file.size);
    file = {};
}

}
