// Host fault guard: SIGILL/SIGSEGV/SIGBUS/SIGFPE inside the guarded call siglongjmp back.
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include "kernel_lib/debug/fault_guard.h"

namespace kl {

namespace {

// Our handlers are installed for the duration of each guarded call only, so they neither
// depend on nor disturb whatever else handles these signals (test frameworks, sanitizers).
const int g_signals[] = { SIGILL, SIGSEGV, SIGBUS, SIGFPE };
thread_local sigjmp_buf* t_jump = nullptr;
thread_local Fault t_fault;
struct sigaction g_previous[32];

u32 vector_for(int signal, const siginfo_t* info)
{
    switch (signal) {
    case SIGILL: return 6;
    case SIGFPE: return info->si_code == FPE_INTDIV || info->si_code == FPE_INTOVF ? 0 : 19;
    case SIGSEGV: return info->si_code == SEGV_MAPERR || info->si_code == SEGV_ACCERR ? 14 : 13;
    default: return 13;
    }
}

void on_signal(int signal, siginfo_t* info, void* context)
{
    if (!t_jump) {
        // Not ours: restore the previous disposition and let the signal take its course.
        sigaction(signal, &g_previous[signal], nullptr);
        raise(signal);
        return;
    }
    auto* uc = static_cast<ucontext_t*>(context);
    t_fault.vector = vector_for(signal, info);
    t_fault.error_code = 0;
    t_fault.rip = static_cast<u64>(uc->uc_mcontext.gregs[REG_RIP]);
    t_fault.address = t_fault.vector == 14 ? reinterpret_cast<u64>(info->si_addr) : 0;
    siglongjmp(*t_jump, 1);
}

void install()
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = on_signal;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (int signal : g_signals)
        sigaction(signal, &action, &g_previous[signal]);
}

void uninstall()
{
    for (int signal : g_signals)
        sigaction(signal, &g_previous[signal], nullptr);
}

}

ErrorOr<void> run_guarded(void (*fn)(void*), void* arg, Fault* fault)
{
    VERIFY(t_jump == nullptr);
    install();
    sigjmp_buf jump;
    if (sigsetjmp(jump, 1) == 0) {
        t_jump = &jump;
        fn(arg);
        t_jump = nullptr;
        uninstall();
        return {};
    }
    t_jump = nullptr;
    uninstall();
    if (fault)
        *fault = t_fault;
    return Error::make(ErrorCode::CpuException, "%s (%s) at %#llx in guarded code", exception_name(t_fault.vector),
        exception_mnemonic(t_fault.vector), static_cast<unsigned long long>(t_fault.rip));
}

}
