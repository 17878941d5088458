; isr.asm -- interrupt and exception entry stubs.
;
; Vectors 0-31 (CPU exceptions) and 32-47 (the remapped PIC lines) have a stub each; every
; other vector shares isr_stub_unexpected, which reports vector 255. Each stub pushes a zero error code when the CPU does not push one, then its vector, and
; jumps to isr_common, which saves every general register and calls
; isr_dispatch(InterruptFrame*) (exceptions.kernel.cpp) with the frame on the stack:
;   r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax vector error rip cs rflags rsp ss
; The dispatcher may edit the frame (the fault guard rewrites rip/rsp to resume
; elsewhere); the registers are restored from it before iretq.

bits 64
default rel

extern isr_dispatch

section .text

isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld
    mov rdi, rsp                        ; the frame; 16-byte aligned here (176 bytes pushed)
    call isr_dispatch
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                         ; vector and error code
    iretq

; Vectors whose exceptions push an error code themselves.
%define HAS_ERROR_CODE(v) ((v) == 8 || (v) == 10 || (v) == 11 || (v) == 12 || (v) == 13 || (v) == 14 || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

%assign vector 0
%rep 48
isr_stub_ %+ vector:
%if HAS_ERROR_CODE(vector)
    push byte vector
%else
    push byte 0
    push byte vector
%endif
    jmp isr_common
%assign vector vector + 1
%endrep

global isr_stub_unexpected
isr_stub_unexpected:
    push byte 0
    push qword 255
    jmp isr_common

section .rodata
align 8
global isr_stub_table
isr_stub_table:
%assign vector 0
%rep 48
    dq isr_stub_ %+ vector
%assign vector vector + 1
%endrep
