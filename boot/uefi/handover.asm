; handover.asm -- the UEFI loader's last step: from the firmware's machine state to the
; kernel's entry, the way stage2 enters it (boot/stage2/longmode.asm: long_mode_entry).
;
; Entry: 64-bit long mode on the firmware's GDT, page tables and stack, after
;        ExitBootServices, interrupts off. Microsoft x64 calling convention (PE/COFF):
;        RCX = &KernelEntry (boot/uefi/main.efi.cpp).
; Does:  loads its own GDT (flat 64-bit code and data) and an empty IDT, switches to the
;        loader's identity map and to the kernel's first stack (both below 1 MiB), copies
;        kernel.bin to KERNEL_LOAD_ADDR and jumps there with RDI = &BootInfo.
; Memory: writes only [KERNEL_LOAD_ADDR, + kernel size) and its own stack; reads the packed
;        kernel from the loader's buffer. Nothing of the firmware is touched from the first
;        instruction on, so the firmware's own memory may be reused by now.
; Never returns.

bits 64
default rel

%include "memmap.inc"

struc KernelEntry
    .page_tables    resq 1
    .stack_top      resq 1
    .kernel_source  resq 1
    .kernel_size    resq 1
    .bootinfo       resq 1
endstruc

GDT_CODE64 equ 0x08
GDT_DATA64 equ 0x10

section .text
global bareflow_enter_kernel
bareflow_enter_kernel:
    cli
    cld
    mov r8, [rcx + KernelEntry.page_tables]
    mov r9, [rcx + KernelEntry.stack_top]
    mov rsi, [rcx + KernelEntry.kernel_source]
    mov r10, [rcx + KernelEntry.kernel_size]
    mov r11, [rcx + KernelEntry.bootinfo]

    lgdt [gdt_descriptor]
    lidt [empty_idt]
    push GDT_CODE64                     ; far return: CS from our GDT
    lea rax, [.reloaded]
    push rax
    retfq
.reloaded:
    mov eax, GDT_DATA64
    mov ds, eax
    mov es, eax
    mov ss, eax
    xor eax, eax
    mov fs, eax
    mov gs, eax
    mov cr3, r8
    mov rsp, r9

    mov rdi, KERNEL_LOAD_ADDR
    mov rcx, r10
    rep movsb
    mov rdi, r11
    mov eax, KERNEL_LOAD_ADDR
    jmp rax

section .data
align 16
gdt:
    dq 0
    dq 0x00AF9A000000FFFF               ; 0x08: code, 64-bit
    dq 0x00CF92000000FFFF               ; 0x10: data
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dq gdt
empty_idt:
    dw 0
    dq 0
