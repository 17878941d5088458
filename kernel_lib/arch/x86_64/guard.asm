; guard.asm -- the two halves of the fault guard (kernel_lib/debug/fault_guard.h).
;
; guard_call(GuardContext* context, void (*fn)(void*), void* arg) saves the callee-saved
; registers and the stack pointer in *context, calls fn(arg) and returns 0. When a CPU
; exception hits fn, the exception handler rewrites its frame to resume at guard_resume
; with RDI = context, which restores the saved registers and returns 1 from guard_call.
; GuardContext layout: rbx, rbp, r12, r13, r14, r15, rsp (7 x 8 bytes).

bits 64

section .text

global guard_call
guard_call:
    mov [rdi + 0], rbx
    mov [rdi + 8], rbp
    mov [rdi + 16], r12
    mov [rdi + 24], r13
    mov [rdi + 32], r14
    mov [rdi + 40], r15
    mov [rdi + 48], rsp                 ; points at our return address
    sub rsp, 8                          ; realign for the call
    mov rax, rsi
    mov rdi, rdx
    call rax
    add rsp, 8
    xor eax, eax
    ret

global guard_resume
guard_resume:
    mov rbx, [rdi + 0]
    mov rbp, [rdi + 8]
    mov r12, [rdi + 16]
    mov r13, [rdi + 24]
    mov r14, [rdi + 32]
    mov r15, [rdi + 40]
    mov rsp, [rdi + 48]
    mov eax, 1
    ret
