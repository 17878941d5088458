// errno.h for the freestanding kernel build. BareFlow's libc never sets errno (failures
// are reported through return values, see kernel_lib/libc/kstdlib.h), so there is no errno
// object; only the usual codes, for code that includes the header without using errno.
#pragma once

#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EIO 5
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define EINVAL 22
#define ENOSPC 28
#define EDOM 33
#define ERANGE 34
#define ENOSYS 38
