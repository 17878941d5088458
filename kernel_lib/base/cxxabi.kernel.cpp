// The C++ ABI pieces a freestanding program still needs: pure virtual calls, atexit
// registration and the DSO handle. (The kernel is built without the stack protector: its
// canary checks cost 4.4 KB of the packed image; a wild return or overflow still ends in
// the CPU exception report, and the stack's guard page catches overflows.)
// (operator new/delete live with the heap, kernel_lib/mem/heap_global.kernel.cpp.)
#include "kernel_lib/base/error.h"

extern "C" {

[[noreturn]] void __cxa_pure_virtual()
{
    kl::panic_with(kl::ErrorCode::InternalPanic, "pure virtual function called");
}

// Static destructors never run: the kernel does not return.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
int atexit(void (*)()) { return 0; }

void* __dso_handle = nullptr;

}
