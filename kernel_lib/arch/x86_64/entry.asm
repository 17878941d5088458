; entry.asm -- the kernel's first instructions.
;
; Entry: 64-bit long mode at the first byte of kernel.bin (linked at 1 MiB), from stage2,
;        with RDI = &BootInfo, interrupts off, [0, BootInfo.mapped_bytes) identity mapped.
; Does:  switches to native execution under PVM when that hypervisor runs us (pvm.asm;
;        before anything it could not emulate), clears .bss, switches to the boot stack,
;        enables SSE and -- when CPUID and the CPU's XSAVE support allow it -- CR4.OSXSAVE
;        and the AVX and AVX-512 register state in XCR0 (under PVM XCR0 is the host's and
;        XSETBV faults, so XCR0 is left alone; CR4.OSXSAVE is still set, or CPUID would
;        report OSXSAVE clear and the kernel would settle for SSE2 while the host's XCR0 has
;        AVX-512 on), runs the global constructors and calls
;        kernel_start(const BootInfo*), which never returns.

bits 64
default rel

CR0_MP          equ 1 << 1
CR0_EM          equ 1 << 2
CR4_OSFXSR      equ 1 << 9
CR4_OSXMMEXCPT  equ 1 << 10
CR4_OSXSAVE     equ 1 << 18
XCR0_X87        equ 1 << 0
XCR0_SSE        equ 1 << 1
XCR0_AVX        equ 1 << 2
XCR0_AVX512     equ (1 << 5) | (1 << 6) | (1 << 7)   ; opmask, ZMM_Hi256, Hi16_ZMM

BOOT_STACK_BYTES equ 64 * 1024

extern kernel_start
extern pvm_try_native
extern pvm_native
extern __bss_start
extern __bss_end
extern __init_array_start
extern __init_array_end

section .text.entry
global _start
_start:
    cli
    cld
    mov r12, rdi                        ; BootInfo, kept in a callee-saved register
    call pvm_try_native

    ; .bss (including the boot stack) is zeroed before anything uses the stack.
    lea rdi, [__bss_start]
    lea rcx, [__bss_end]
    sub rcx, rdi
    xor eax, eax
    rep stosb
    lea rsp, [boot_stack_top]
    xor ebp, ebp                        ; ends frame-pointer backtraces

    ; SSE: no x87 emulation, FPU monitoring on, FXSAVE and SIMD exceptions enabled.
    mov rax, cr0
    and rax, ~CR0_EM
    or rax, CR0_MP
    mov cr0, rax
    mov rax, cr4
    or rax, CR4_OSFXSR | CR4_OSXMMEXCPT
    mov cr4, rax

    ; AVX / AVX-512 state: only components the CPU supports in XSAVE (CPUID 0Dh) and whose
    ; instructions it reports (CPUID 1 / 7). Under PVM only CR4.OSXSAVE (see the top).
    mov eax, 1
    cpuid
    bt ecx, 26                          ; XSAVE
    jnc .no_xsave
    mov r13d, ecx                       ; CPUID.1:ECX
    mov rax, cr4
    or rax, CR4_OSXSAVE
    mov cr4, rax
    cmp byte [pvm_native], 0
    jne .no_xsave
    mov eax, 0x0D
    xor ecx, ecx
    cpuid
    mov r14d, eax                       ; XCR0 bits the CPU supports
    mov r15d, XCR0_X87 | XCR0_SSE
    bt r13d, 28                         ; AVX
    jnc .set_xcr0
    test r14d, XCR0_AVX
    jz .set_xcr0
    or r15d, XCR0_AVX
    mov eax, 7
    xor ecx, ecx
    cpuid
    bt ebx, 16                          ; AVX512F
    jnc .set_xcr0
    mov eax, r14d
    and eax, XCR0_AVX512
    cmp eax, XCR0_AVX512
    jne .set_xcr0
    or r15d, XCR0_AVX512
.set_xcr0:
    xor ecx, ecx
    mov eax, r15d
    xor edx, edx
    xsetbv
.no_xsave:
    fninit
    ldmxcsr [mxcsr_default]

    ; Global constructors (the code base keeps them free of side effects).
    lea rbx, [__init_array_start]
.ctor:
    lea rax, [__init_array_end]
    cmp rbx, rax
    jae .ctors_done
    call [rbx]
    add rbx, 8
    jmp .ctor
.ctors_done:

    mov rdi, r12
    call kernel_start
.hang:
    cli
    hlt
    jmp .hang

section .rodata
mxcsr_default: dd 0x1F80                ; all exceptions masked, round to nearest

section .bss nobits alloc noexec write align=4096
; The page below the stack is unmapped once the kernel's page tables are up
; (kernel_lib/mem/paging.kernel.cpp): an overflow faults instead of corrupting .bss.
global boot_stack_guard
boot_stack_guard:
    resb 4096
global boot_stack_bottom
boot_stack_bottom:
    resb BOOT_STACK_BYTES
global boot_stack_top
boot_stack_top:
