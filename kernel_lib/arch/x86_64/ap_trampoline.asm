; ap_trampoline.asm -- how an application processor (AP) gets from its startup IPI to C++.
;
; Two parts:
;  1. The trampoline (ap_trampoline_begin..ap_trampoline_end): position-dependent code for
;     AP_TRAMPOLINE_ADDR (0x10000, boot/inc/memmap.inc), kept in .rodata and copied there by
;     kl::smp (kernel_lib/smp/smp.kernel.cpp), which then makes that page read + execute.
;     A STARTUP IPI with vector 0x10 starts the AP in real mode at 1000:0000. It checks
;     that it is the core the parameters are meant for, loads a small GDT, enters 32-bit
;     protected mode, loads the BSP's CR4 bits (PAE, SSE), the kernel's CR3, sets
;     EFER.LME (and NXE like the BSP), turns paging on with the BSP's CR0 bits but WP (NE,
;     MP; caches on: CD and NW as left by INIT are cleared) and jumps to 64-bit code, which
;     takes its stack and index from the parameters and jumps to ap_long_entry.
;     Under PVM all of this runs in the hypervisor's emulator: integer instructions only.
;  2. ap_long_entry (.text, runs where the kernel is linked): registers this core's own
;     zeroed PVM "VIF" page when the BSP runs natively under PVM (kernel_lib/arch/x86_64/
;     pvm.asm: native execution from the next instruction, so before any SSE instruction),
;     then sets CR0.WP, sets XCR0 like the BSP (not under PVM, where XCR0 is the host's),
;     initialises the x87 and MXCSR like the BSP, and calls ap_main(cpu_index), which never
;     returns.
;
; Why WP comes last under PVM (measured on kvm_pvm): a vCPU that enters 64-bit mode with
; CR0.WP already set, on page tables whose entries all have the U bit and a CR3 with bit 12
; clear -- everything PVM's native mode asks for except the VIF page -- is switched to
; native execution at once and the machine resets. Entering with WP clear, registering the
; VIF page, then setting WP works (the boot processor's pvm.asm sets WP before the U bits,
; which avoids the same trap).
;
; The parameters live in the page after the trampoline (AP_PARAMS, read + write), one AP
; at a time: the BSP fills them, starts the AP, and rewrites them only once the AP has
; reported itself online from ap_main (or was put back to sleep with an INIT IPI).
; Their layout (ApParams below) is mirrored by kl::smp::ApParams in
; kernel_lib/smp/percpu.h, whose static_asserts pin the same offsets.
; The AP writes its progress (1 real mode, 2 protected mode, 3 long mode, 4 kernel
; entry) into ApParams.progress, so a core that does not start can be reported by stage.
;
; Also: smp_gs_read32(offset), the per-CPU read behind kl::smp::current_cpu().

%include "memmap.inc"

AP_PARAMS           equ AP_TRAMPOLINE_ADDR + 0x1000
AP_PARAMS_OFFSET    equ 0x1000                  ; the same, from the real-mode segment
MSR_EFER            equ 0xC0000080
MSR_PVM_VIF         equ 0x4b564d10
CR0_PE              equ 1 << 0
CR0_WP              equ 1 << 16

struc ApParams
    .cr3:           resd 1      ; the kernel's PML4 (below 4 GiB, checked by the BSP)
    .cr4:           resd 1      ; CR4 to load before paging (PAE and the BSP's SSE bits)
    .cr0:           resd 1      ; CR0 that turns paging on (PE, PG, ...; not WP, see above)
    .efer:          resd 1      ; EFER bits to set (LME, NXE)
    .apic_id:       resd 1      ; the APIC ID of the core these parameters are for
    .cpu_index:     resd 1      ; its kl::smp index
    .entry:         resq 1      ; ap_long_entry
    .stack_top:     resq 1
    .vif_page:      resq 1      ; physical address of its PVM VIF page, 0 when not under PVM
    .xcr0:          resq 1      ; XCR0 to set, 0 to leave it alone
    .mxcsr:         resd 1
    .progress:      resd 1      ; written by the AP
endstruc
%if ApParams_size != 64
%error "ApParams must stay 64 bytes (kernel_lib/smp/percpu.h mirrors it)"
%endif

; Where a trampoline label ends up once copied to AP_TRAMPOLINE_ADDR.
%define AT_RUN(label) (AP_TRAMPOLINE_ADDR + ((label) - ap_trampoline_begin))

section .rodata.ap_trampoline progbits alloc noexec nowrite align=16

global ap_trampoline_begin
global ap_trampoline_end

bits 16
ap_trampoline_begin:
    cli
    cld
    mov ax, cs                          ; 0x1000: the trampoline's segment
    mov ds, ax
    mov dword [AP_PARAMS_OFFSET + ApParams.progress], 1
    ; A core woken by mistake (a late answer to an earlier, abandoned start) must not run
    ; on another core's stack: compare the initial APIC ID (its low 8 bits).
    mov eax, 1
    cpuid
    shr ebx, 24
    cmp bl, [AP_PARAMS_OFFSET + ApParams.apic_id]
    jne .park
    o32 lgdt [gdt_pointer - ap_trampoline_begin]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword 0x08:AT_RUN(protected_mode)
.park:
    cli
    hlt
    jmp .park

bits 32
protected_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov dword [AP_PARAMS + ApParams.progress], 2
    mov eax, [AP_PARAMS + ApParams.cr4]
    mov cr4, eax
    mov eax, [AP_PARAMS + ApParams.cr3]
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, [AP_PARAMS + ApParams.efer]
    wrmsr
    mov eax, [AP_PARAMS + ApParams.cr0]
    mov cr0, eax                        ; paging on: long mode (compatibility) from here
    jmp 0x18:AT_RUN(long_mode)

bits 64
long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov dword [abs AP_PARAMS + ApParams.progress], 3
    mov rsp, [abs AP_PARAMS + ApParams.stack_top]
    mov edi, [abs AP_PARAMS + ApParams.cpu_index]
    mov rax, [abs AP_PARAMS + ApParams.entry]
    jmp rax

align 16
gdt:
    dq 0
    dq 0x00CF9A000000FFFF               ; 0x08: 32-bit code
    dq 0x00CF92000000FFFF               ; 0x10: data
    dq 0x00AF9A000000FFFF               ; 0x18: 64-bit code
gdt_pointer:
    dw 4 * 8 - 1
    dd AT_RUN(gdt)
ap_trampoline_end:

%if ap_trampoline_end - ap_trampoline_begin > AP_PARAMS_OFFSET
%error "the AP trampoline outgrew its page"
%endif

section .text
bits 64

extern ap_main

; ap_long_entry -- IN: RDI = cpu index, RSP = the AP's stack top, paging on with the
; kernel's CR3, interrupts off. Never returns.
global ap_long_entry
ap_long_entry:
    mov rsi, [abs AP_PARAMS + ApParams.vif_page]
    test rsi, rsi
    jz .native
    mov eax, esi
    or eax, 1
    mov rdx, rsi
    shr rdx, 32
    mov ecx, MSR_PVM_VIF
    wrmsr                               ; PVM: native from the next instruction
.native:
    mov rax, cr0
    or eax, CR0_WP                      ; read-only pages bind the kernel too (and PVM needs it)
    mov cr0, rax
    mov dword [abs AP_PARAMS + ApParams.progress], 4
    mov rax, [abs AP_PARAMS + ApParams.xcr0]
    test rax, rax
    jz .xcr0_done
    mov rdx, rax
    shr rdx, 32
    xor ecx, ecx
    xsetbv
.xcr0_done:
    fninit
    ldmxcsr [abs AP_PARAMS + ApParams.mxcsr]
    xor ebp, ebp                        ; ends frame-pointer backtraces
    call ap_main
.hang:
    cli
    hlt
    jmp .hang

; u32 smp_gs_read32(u64 offset) -- the 32-bit value at GS base + offset (per-CPU data).
global smp_gs_read32
smp_gs_read32:
    mov eax, [gs:rdi]
    ret
