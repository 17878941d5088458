// sys/utsname.h for the freestanding kernel build: asmjit's cpuinfo.cpp includes it on
// every non-Windows target but uses uname() only on Linux and Apple, which the kernel is
// not. Declared, not defined.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

struct utsname {
    char sysname[65];
    char nodename[65];
    char release[65];
    char version[65];
    char machine[65];
};

int uname(struct utsname* out);

#ifdef __cplusplus
}
#endif
