; idle.asm -- how an idle worker core sleeps and wakes (kernel_lib/smp/work_team.h).
;
; 64-bit kernel code, linked into .text. A worker that has had no job for a while calls
; smp_idle_halt with interrupts off; the boot core wakes it with a fixed IPI whose vector
; (kl::smp wake vector, see smp.kernel.cpp) points at smp_wake_interrupt. The interrupt
; may already be pending when the worker gets here: STI's one-instruction delay means it
; is taken at the HLT, which then ends, so no wake-up is lost.
; Under PVM STI, CLI and HLT trap to the hypervisor (tens of microseconds): that cost is
; paid only on the way into and out of a sleep.

bits 64
default rel

MSR_X2APIC_EOI  equ 0x80B

section .text

; void smp_idle_halt() -- IN: IF = 0. OUT: IF = 0, after an interrupt. CLOBBERS: nothing.
global smp_idle_halt
smp_idle_halt:
    sti
    hlt
    cli
    ret

; The wake-up interrupt: only acknowledges it (the worker's loop looks for the job).
; EOI through the xAPIC's MMIO register, or the x2APIC MSR when smp_lapic_eoi is 0.
global smp_wake_interrupt
smp_wake_interrupt:
    push rax
    mov rax, [smp_lapic_eoi]
    test rax, rax
    jz .x2apic
    mov dword [rax], 0
    pop rax
    iretq
.x2apic:
    push rcx
    push rdx
    mov ecx, MSR_X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop rdx
    pop rcx
    pop rax
    iretq

; The local APIC's spurious-interrupt vector (0xFF, set by kl::smp::lapic): no EOI, by the
; APIC's rules; nothing to do.
global smp_spurious_interrupt
smp_spurious_interrupt:
    iretq

section .data
align 8
; The EOI register's address (xAPIC) or 0 (x2APIC); set by kl::smp::lapic::init.
global smp_lapic_eoi
smp_lapic_eoi: dq 0
