; pvm.asm -- native execution under PVM, the paravirtual KVM ("kvm_pvm") of some hosts.
;
; Under PVM a guest runs at hardware CPL 3; until the hypervisor can run a vCPU natively it
; emulates it instruction by instruction, and its emulator has no SSE/AVX, so without this
; step the kernel would die on its first vector instruction (or crawl). PVM runs a 64-bit
; CPL 0 vCPU natively once (a) every paging entry has the U bit (the guest kernel's pages
; are user pages to the hardware), (b) CR0.WP is set (without it a write to a read-only
; page hangs the vCPU instead of faulting), (c) CR3 bit 12 is clear (PVM reads it as "Linux
; user page table" and then delivers exceptions as if from user mode), and (d) the guest
; registered a zeroed 4 KiB "VIF" page (virtual interrupt flag) with WRMSR 0x4b564d10.
; Exceptions keep arriving through the guest's own IDT with a normal frame and iretq works,
; but gates with an IST stack escalate to #DF, so the IDT uses none under PVM.
;
; pvm_try_native runs first thing in the kernel unpacker and again in _start (stage2's
; stack, IF = 0), before any SSE instruction; the second call finds the VIF page registered. It detects PVM (CPUID hypervisor bit, the "KVMKVMKVM" leaf, then RDMSR
; 0x4b564d11 == "PVM" under a throw-away IDT whose #GP stub skips the RDMSR, since plain
; KVM and real CPUs fault on that MSR) and switches. On hardware and other hypervisors it
; returns at the first check that fails and changes nothing.
; OUT: EAX = 1 and pvm_native = 1 when the vCPU now runs natively, else EAX = 0.
; CLOBBERS: RAX, RCX, RDX, RSI, RDI, R8.

bits 64
default rel

%include "memmap.inc"

MSR_PVM_VIF         equ 0x4b564d10
MSR_PVM_SIGNATURE   equ 0x4b564d11
MSR_PVM_TSC_KHZ     equ 0x4b564d13
PVM_SIGNATURE       equ 0x4d5650            ; "PVM"
PTE_PRESENT         equ 1
PTE_USER            equ 4
PTE_LARGE           equ 0x80
ADDRESS_MASK        equ 0x000FFFFFFFFFF000

section .text
global pvm_try_native
pvm_try_native:
    push rbx
    mov eax, 1
    cpuid
    bt ecx, 31                              ; a hypervisor at all?
    jnc .not_pvm
    mov eax, 0x40000000
    cpuid
    cmp ebx, 'KVMK'
    jne .not_pvm
    cmp ecx, 'VMKV'
    jne .not_pvm
    cmp edx, 'M'
    jne .not_pvm

    ; RDMSR of the signature MSR, with a #GP gate that skips the 2-byte instruction.
    sidt [saved_idtr]
    lea rax, [gp_skip_rdmsr]
    lea rdi, [probe_idt + 13 * 16]
    mov [rdi], ax
    mov word [rdi + 2], cs
    mov word [rdi + 4], 0x8E00              ; present, ring 0, interrupt gate
    shr rax, 16
    mov [rdi + 6], ax
    shr rax, 16
    mov [rdi + 8], eax
    lidt [probe_idtr]
    mov ecx, MSR_PVM_SIGNATURE
    xor eax, eax
    xor edx, edx
    rdmsr
    lidt [saved_idtr]
    cmp eax, PVM_SIGNATURE
    jne .not_pvm

    ; Already native (the kernel unpacker switched first): nothing more to do.
    mov ecx, MSR_PVM_VIF
    rdmsr
    test eax, 1
    jnz .native

    mov rax, cr0
    or rax, 1 << 16                         ; WP
    mov cr0, rax
    call set_user_bits
    mov rax, cr3
    mov cr3, rax                            ; flush, with the U bits in place

    mov rdi, PVM_VIF_PAGE
    mov ecx, 4096 / 8
    xor eax, eax
    rep stosq
    mov eax, PVM_VIF_PAGE | 1
    xor edx, edx
    mov ecx, MSR_PVM_VIF
    wrmsr                                   ; native from the next instruction
.native:
    mov byte [pvm_native], 1
    mov eax, 1
    pop rbx
    ret
.not_pvm:
    xor eax, eax
    pop rbx
    ret

gp_skip_rdmsr:
    add rsp, 8                              ; the error code
    add qword [rsp], 2                      ; resume after the RDMSR
    iretq

; set_user_bits -- sets U in every present entry of stage2's tables (PML4, PDPT, and the
; page directories of 2 MiB mappings; 1 GiB pages end the walk one level up).
set_user_bits:
    mov r8, ADDRESS_MASK
    mov rsi, cr3
    and rsi, r8
    xor ecx, ecx
.pml4e:
    mov rax, [rsi + rcx * 8]
    test al, PTE_PRESENT
    jz .next_pml4e
    or qword [rsi + rcx * 8], PTE_USER
    and rax, r8
    mov rdi, rax                            ; the PDPT
    xor edx, edx
.pdpte:
    mov rax, [rdi + rdx * 8]
    test al, PTE_PRESENT
    jz .next_pdpte
    or qword [rdi + rdx * 8], PTE_USER
    test al, PTE_LARGE
    jnz .next_pdpte
    and rax, r8                             ; the page directory
    push rcx
    xor ecx, ecx
.pde:
    test byte [rax + rcx * 8], PTE_PRESENT
    jz .next_pde
    or qword [rax + rcx * 8], PTE_USER
.next_pde:
    inc ecx
    cmp ecx, 512
    jb .pde
    pop rcx
.next_pdpte:
    inc edx
    cmp edx, 512
    jb .pdpte
.next_pml4e:
    inc ecx
    cmp ecx, 512
    jb .pml4e
    ret

; u64 pvm_tsc_khz() -- the host's TSC frequency in kHz (PVM only).
global pvm_tsc_khz
pvm_tsc_khz:
    mov ecx, MSR_PVM_TSC_KHZ
    rdmsr
    shl rdx, 32
    or rax, rdx
    ret

section .data
align 16
probe_idtr:
    dw 14 * 16 - 1
    dq probe_idt
saved_idtr:
    dw 0
    dq 0
global pvm_native
pvm_native: db 0
align 16
probe_idt: times 14 * 16 db 0
