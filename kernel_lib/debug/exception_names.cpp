// Names of the x86 exception vectors (shared by the kernel's reports and the host guard).
#include "kernel_lib/debug/fault_guard.h"

namespace kl {

namespace {

struct VectorName {
    const char* mnemonic;
    const char* name;
};

constexpr VectorName names[32] = {
    { "#DE", "divide error" }, { "#DB", "debug" }, { "NMI", "non-maskable interrupt" }, { "#BP", "breakpoint" },
    { "#OF", "overflow" }, { "#BR", "bound range exceeded" }, { "#UD", "invalid opcode" },
    { "#NM", "device not available" }, { "#DF", "double fault" }, { "#CSO", "coprocessor segment overrun" },
    { "#TS", "invalid TSS" }, { "#NP", "segment not present" }, { "#SS", "stack-segment fault" },
    { "#GP", "general protection" }, { "#PF", "page fault" }, { "#15", "reserved" },
    { "#MF", "x87 floating-point error" }, { "#AC", "alignment check" }, { "#MC", "machine check" },
    { "#XM", "SIMD floating-point exception" }, { "#VE", "virtualization exception" },
    { "#CP", "control protection" }, { "#22", "reserved" }, { "#23", "reserved" }, { "#24", "reserved" },
    { "#25", "reserved" }, { "#26", "reserved" }, { "#27", "reserved" }, { "#HV", "hypervisor injection" },
    { "#VC", "VMM communication" }, { "#SX", "security exception" }, { "#31", "reserved" },
};

}

const char* exception_name(u32 vector) { return vector < 32 ? names[vector].name : "interrupt"; }
const char* exception_mnemonic(u32 vector) { return vector < 32 ? names[vector].mnemonic : "#??"; }

}
