// The C++ ABI pieces a freestanding program still needs: the stack protector's guard and
// failure handler, pure virtual calls, atexit registration and the DSO handle.
// (operator new/delete live with the heap, kernel_lib/mem/heap_global.kernel.cpp.)
#include "kernel_lib/base/error.h"

extern "C" {

// The canary -fstack-protector-strong checks; a fixed odd pattern with a zero byte (so
// string overruns cannot reproduce it), replaced from the TSC at start-up.
uintptr_t __stack_chk_guard = 0x00e2b9f1a5c3d7e9ull;

[[noreturn]] void __stack_chk_fail()
{
    kl::panic_with(kl::ErrorCode::StackSmashed, "stack smashing detected (a function's stack canary was overwritten)");
}

[[noreturn]] void __cxa_pure_virtual()
{
    kl::panic_with(kl::ErrorCode::InternalPanic, "pure virtual function called");
}

// Static destructors never run: the kernel does not return.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
int atexit(void (*)()) { return 0; }

void* __dso_handle = nullptr;

}
