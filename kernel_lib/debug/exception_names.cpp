// Names of the x86 exception vectors (shared by the kernel's reports and the host guard).
#include "kernel_lib/debug/fault_guard.h"

#include <string.h>

namespace kl {

namespace {

// Each vector's mnemonic and name, one after the other, each ended by NUL: a table of
// pointers to them took 512 bytes (169 bytes of kernel.bin).
constexpr char names[] =
    "#DE\0divide error\0#DB\0debug\0NMI\0non-maskable interrupt\0#BP\0breakpoint\0"
    "#OF\0overflow\0#BR\0bound range exceeded\0#UD\0invalid opcode\0"
    "#NM\0device not available\0#DF\0double fault\0#CSO\0coprocessor segment overrun\0"
    "#TS\0invalid TSS\0#NP\0segment not present\0#SS\0stack-segment fault\0"
    "#GP\0general protection\0#PF\0page fault\0#15\0reserved\0"
    "#MF\0x87 floating-point error\0#AC\0alignment check\0#MC\0machine check\0"
    "#XM\0SIMD floating-point exception\0#VE\0virtualization exception\0"
    "#CP\0control protection\0#22\0reserved\0#23\0reserved\0#24\0reserved\0"
    "#25\0reserved\0#26\0reserved\0#27\0reserved\0#HV\0hypervisor injection\0"
    "#VC\0VMM communication\0#SX\0security exception\0#31\0reserved";

// The index-th string of `names`.
const char* nth_name(u32 index)
{
    const char* name = names;
    for (; index > 0; --index)
        name += strlen(name) + 1;
    return name;
}

}

const char* exception_name(u32 vector) { return vector < 32 ? nth_name(2 * vector + 1) : "interrupt"; }
const char* exception_mnemonic(u32 vector) { return vector < 32 ? nth_name(2 * vector) : "#??"; }

}
