; unpack.asm -- the kernel image's unpacker: kernel.bin is this stub plus the kernel,
; deflated (scripts/pack-kernel); the stub restores the kernel at 1 MiB and enters it.
;
; Entry: 64-bit long mode at KERNEL_LOAD_ADDR (stage2 jumps to the first byte of kernel.bin),
;        RDI = &BootInfo, stage2's identity map and stack.
; Steps: copy the stub and the packed kernel to UNPACK_ADDR (below 1 MiB, out of the way of
;        the kernel's final place), continue there, switch to native execution under PVM
;        (so the decompression is not emulated instruction by instruction), inflate the
;        kernel to KERNEL_LOAD_ADDR, check its size, and jump to it with RDI unchanged.
; Failure: an @error line on COM1 and QEMU's exit device (status 17, boot.kernel), halt.
; The inflater is kernel_lib/util/inflate.cpp, built without SSE (CR4.OSFXSR is off here).

bits 64
default rel

%include "memmap.inc"
%include "errors.inc"

UNPACK_ADDR     equ 0x30000
UNPACK_LIMIT    equ 0x60000                 ; the boot page tables start here

extern pvm_try_native
extern inflate_entry                        ; i64 (const u8*, usize, u8*, usize)
extern __unpack_end

section .text.entry
global unpack_start
unpack_start:
    jmp short unpack_body
    align 8
; Patched by scripts/pack-kernel.
header:
.magic:         db "BFUNPK1", 0
.packed_size:   dd 0
.unpacked_size: dd 0
unpack_body:
    cld
    mov r12, rdi                            ; BootInfo
    lea rsi, [rel unpack_start]             ; where stage2 put us (KERNEL_LOAD_ADDR)
    mov rdi, UNPACK_ADDR
    mov ecx, [rel header.packed_size]
    add rcx, __unpack_end - UNPACK_ADDR
    rep movsb
    mov rax, continue_low
    jmp rax

section .text
continue_low:
    call pvm_try_native
    mov rdi, __unpack_end                   ; the packed kernel follows the stub
    mov esi, [header.packed_size]
    mov rdx, KERNEL_LOAD_ADDR
    mov rcx, KERNEL_MAX_BYTES
    call inflate_entry
    mov ecx, [header.unpacked_size]
    cmp rax, rcx
    jne .failed
    mov rdi, r12
    mov rax, KERNEL_LOAD_ADDR
    jmp rax
.failed:
    lea rsi, [message]
.print:
    lodsb
    test al, al
    jz .exit
    mov dx, COM1_PORT
    out dx, al
    jmp .print
.exit:
    mov al, ERR_BOOT_KERNEL
    out QEMU_EXIT_PORT, al
.halt:
    cli
    hlt
    jmp .halt

; The inflater is built freestanding; these are the two library calls it may make.
global memset
memset:                                     ; void* memset(void* d, int c, size_t n)
    mov r8, rdi
    mov eax, esi
    mov rcx, rdx
    rep stosb
    mov rax, r8
    ret
global memcpy
memcpy:                                     ; void* memcpy(void* d, const void* s, size_t n)
    mov rax, rdi
    mov rcx, rdx
    rep movsb
    ret

section .rodata
message:
    db 13, 10, '@error {"code":"boot.kernel","message":"unpack: the packed kernel is damaged '
    db '(it did not inflate to its recorded size); rebuild the image"}', 13, 10
    db '@exit 17', 13, 10, 0
