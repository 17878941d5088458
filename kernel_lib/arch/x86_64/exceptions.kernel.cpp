// CPU exceptions and interrupts: the report for faults nobody expected, the fault guard
// for those somebody did, and a quiet acknowledge for stray PIC interrupts.
//
// An unguarded exception prints its name and vector, the error code, RIP with its symbol,
// CR2 for page faults, every general register and a backtrace from the stack, then the
// `@error` line and exit status 3 (a halt on hardware). Vector 8 (#DF), NMI and #MC run on
// their own IST stacks, so a kernel stack overflow is reported too.
#include <initializer_list>
#include <stdio.h>

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/arch/x86_64/pic.h"
#include "kernel_lib/debug/fault_guard.h"
#include "kernel_lib/debug/symbols.h"
#include "kernel_lib/io/machine.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/io/serial.h"
#include "kernel_lib/debug/report.h"
#include "kernel_lib/smp/parallel.h"

namespace {

struct InterruptFrame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error_code;
    u64 rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(InterruptFrame) == 22 * 8);

struct GuardContext {
    u64 rbx, rbp, r12, r13, r14, r15, rsp;
};

// One guard at a time, armed by one core: a fault on another core is not its business.
GuardContext g_guard_context;
bool g_guard_active = false;
u32 g_guard_cpu = 0;
kl::Fault g_guard_fault;
int g_reporting = 0;

extern "C" char __kernel_start[];
extern "C" char __kernel_end[];

bool in_kernel_image(u64 address)
{
    return address >= reinterpret_cast<u64>(__kernel_start) && address < reinterpret_cast<u64>(__kernel_end);
}

void print_address(const char* label, u64 address)
{
    u64 offset = 0;
    const char* name = kl::debug::kernel_symbols().lookup(address, &offset);
    if (name)
        kl::print("%s%#018llx <%s+%#llx>\n", label, static_cast<unsigned long long>(address), name,
            static_cast<unsigned long long>(offset));
    else
        kl::print("%s%#018llx\n", label, static_cast<unsigned long long>(address));
}

extern "C" char __rodata_start[];  // the end of .text (kernel.ld)

// Whether `address` can be a return address: inside .text, right after a call instruction
// (E8 rel32, or FF /2 in its 2-, 3-, 6- and 7-byte forms, with or without a REX prefix).
bool follows_call(u64 address)
{
    if (address < reinterpret_cast<u64>(__kernel_start) + 8 || address >= reinterpret_cast<u64>(__rodata_start))
        return false;
    const u8* next = reinterpret_cast<const u8*>(address);
    if (next[-5] == 0xE8)
        return true;
    for (int length : { 2, 3, 4, 6, 7, 8 }) {
        const u8* call = next - length;
        const u8* opcode = (call[0] & 0xF0) == 0x40 ? call + 1 : call;
        if (opcode[0] == 0xFF && ((opcode[1] >> 3) & 7) == 2)
            return true;
    }
    return false;
}

// The kernel is built without frame pointers (the packed image is smaller): the backtrace
// is the return addresses found on the stack above the faulting RSP, the words that point
// just after a call in .text. Reliable for the live frames; a stale word can add a line.
void print_backtrace(u64 rsp)
{
    kl::print("backtrace (return addresses on the stack):\n");
    int depth = 0;
    for (u64 at = rsp & ~7ull; depth < 16 && at < rsp + 64 * 1024 && in_kernel_image(at + 8); at += 8) {
        const u64 word = *reinterpret_cast<const u64*>(at);
        if (!follows_call(word))
            continue;
        char label[16];
        snprintf(label, sizeof(label), "  #%-2d ", depth++);
        print_address(label, word);
    }
}

void describe_page_fault(u64 error_code, char* out, usize size)
{
    snprintf(out, size, "%s, %s%s%s", (error_code & 1) ? "protection violation" : "page not present",
        (error_code & 2) ? "write" : "read", (error_code & 16) ? ", instruction fetch" : "",
        (error_code & 8) ? ", reserved bit set" : "");
}

[[noreturn]] void report_fatal(const InterruptFrame& f)
{
    u32 vector = static_cast<u32>(f.vector);
    if (++g_reporting > 1) {
        // A fault while reporting a fault: say the least possible and stop.
        const char text[] = "\nBareFlow: fault while reporting a fault; halting\n@exit 3\n";
        kl::serial::write(text, sizeof(text) - 1);
        kl::x86::outl(0xF4, 3);
        kl::machine::halt_forever();
    }
    kl::print("\nCPU exception: %s %s (vector %u), error code %#llx, on core %u\n", kl::exception_mnemonic(vector),
        kl::exception_name(vector), vector, static_cast<unsigned long long>(f.error_code), kl::smp::current_cpu());
    print_address("  RIP    ", f.rip);
    u64 cr2 = kl::x86::read_cr2();
    if (vector == 14) {
        char what[96];
        describe_page_fault(f.error_code, what, sizeof(what));
        kl::print("  CR2    %#018llx (%s)\n", static_cast<unsigned long long>(cr2), what);
    }
    kl::print("  RAX %016llx  RBX %016llx  RCX %016llx\n", static_cast<unsigned long long>(f.rax),
        static_cast<unsigned long long>(f.rbx), static_cast<unsigned long long>(f.rcx));
    kl::print("  RDX %016llx  RSI %016llx  RDI %016llx\n", static_cast<unsigned long long>(f.rdx),
        static_cast<unsigned long long>(f.rsi), static_cast<unsigned long long>(f.rdi));
    kl::print("  RBP %016llx  RSP %016llx  R8  %016llx\n", static_cast<unsigned long long>(f.rbp),
        static_cast<unsigned long long>(f.rsp), static_cast<unsigned long long>(f.r8));
    kl::print("  R9  %016llx  R10 %016llx  R11 %016llx\n", static_cast<unsigned long long>(f.r9),
        static_cast<unsigned long long>(f.r10), static_cast<unsigned long long>(f.r11));
    kl::print("  R12 %016llx  R13 %016llx  R14 %016llx\n", static_cast<unsigned long long>(f.r12),
        static_cast<unsigned long long>(f.r13), static_cast<unsigned long long>(f.r14));
    kl::print("  R15 %016llx  RFLAGS %08llx  CS %04llx  SS %04llx\n", static_cast<unsigned long long>(f.r15),
        static_cast<unsigned long long>(f.rflags), static_cast<unsigned long long>(f.cs),
        static_cast<unsigned long long>(f.ss));
    print_backtrace(f.rsp);

    char message[160];
    u64 offset = 0;
    const char* symbol = kl::debug::kernel_symbols().lookup(f.rip, &offset);
    snprintf(message, sizeof(message), "%s (%s) at %#llx%s%s%s", kl::exception_name(vector),
        kl::exception_mnemonic(vector), static_cast<unsigned long long>(f.rip), symbol ? " in " : "",
        symbol ? symbol : "", vector == 14 ? " (see CR2 above)" : "");
    kl::report_error(kl::ErrorCode::CpuException, message);
    kl::machine::exit(static_cast<int>(kl::ErrorCode::CpuException));
}

}

extern "C" void guard_resume();
extern "C" u64 guard_call(GuardContext* context, void (*fn)(void*), void* arg);

extern "C" void isr_dispatch(InterruptFrame* frame)
{
    u32 vector = static_cast<u32>(frame->vector);
    if (vector >= kl::arch::pic_vector_base && vector < kl::arch::pic_vector_base + 16u) {
        u8 irq = static_cast<u8>(vector - kl::arch::pic_vector_base);
        // Lines are masked, so only spurious IRQ 7/15 should ever arrive; acknowledge others.
        if (!((irq == 7 || irq == 15) && kl::arch::pic_is_spurious(irq)))
            kl::arch::pic_eoi(irq);
        else if (irq == 15)
            kl::arch::pic_eoi(0);  // the master saw a real cascade interrupt
        return;
    }
    if (g_guard_active && vector < 32 && vector != 2 && vector != 8 && vector != 18
        && kl::smp::current_cpu() == g_guard_cpu) {
        g_guard_active = false;
        g_guard_fault = { vector, frame->error_code, frame->rip, vector == 14 ? kl::x86::read_cr2() : 0 };
        frame->rip = reinterpret_cast<u64>(&guard_resume);
        frame->rdi = reinterpret_cast<u64>(&g_guard_context);
        frame->rsp = g_guard_context.rsp;
        return;
    }
    report_fatal(*frame);
}

namespace kl {

ErrorOr<void> run_guarded(void (*fn)(void*), void* arg, Fault* fault)
{
    VERIFY(!g_guard_active);
    g_guard_cpu = kl::smp::current_cpu();
    g_guard_active = true;
    u64 faulted = guard_call(&g_guard_context, fn, arg);
    g_guard_active = false;
    if (!faulted)
        return {};
    if (fault)
        *fault = g_guard_fault;
    return Error::make(ErrorCode::CpuException, "%s (%s) at %#llx in guarded code", exception_name(g_guard_fault.vector),
        exception_mnemonic(g_guard_fault.vector), static_cast<unsigned long long>(g_guard_fault.rip));
}

}
