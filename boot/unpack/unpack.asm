; unpack.asm -- the kernel image's unpacker: kernel.bin is this stub plus the kernel,
; passed through the x86 branch filter and packed by the context-mixing codec
; (kernel_lib/codec/, boot/tools/pack-kernel.main.cpp); the stub restores the kernel at
; 1 MiB and enters it.
;
; Entry: 64-bit long mode at KERNEL_LOAD_ADDR (stage2 jumps to the first byte of kernel.bin),
;        RDI = &BootInfo, stage2's identity map and stack.
; Steps: copy the stub and the packed kernel to UNPACK_ADDR (below 1 MiB, out of the way of
;        the kernel's final place), continue there on the unpacker's own stack, switch to
;        native execution under PVM (so the decompression is not emulated instruction by
;        instruction), decode the kernel to KERNEL_LOAD_ADDR, check its CRC, and jump to it
;        with RDI and RSP as stage2 left them.
; Memory: UNPACK_ADDR .. UNPACK_LIMIT (stub + packed kernel), the stack below UNPACK_ADDR
;        (it grows into stage2's disk bounce buffer, idle by now), and the kernel's 3 MiB
;        at 1 MiB: the image, then the codec's tables up to PAYLOAD_BASE.
; Failure: an @error line on COM1 and QEMU's exit device (status 17, boot.kernel), halt.
; The decoder is kernel_lib/codec/cm.cpp, built without SSE (CR4.OSFXSR is off here); it
; makes no library calls (should the compiler ever emit a memset or memcpy, the link fails).

bits 64
default rel

%include "memmap.inc"
%include "errors.inc"

UNPACK_STACK_TOP equ UNPACK_ADDR            ; 64 KiB down to BOUNCE_ADDR are free (memmap.inc)

extern pvm_try_native
extern unpack_entry                         ; i64 (packed, packed size, out, size, buckets, CRC)
extern __unpack_end

section .text.entry
global unpack_start
unpack_start:
    jmp short unpack_body
    align 8
; Patched by pack-kernel (boot/tools/pack-kernel.main.cpp), which finds the magic at offset 8:
;   +8   magic           "BFUNPK3", 0
;   +16  packed_size     u32, bytes of packed kernel right after the stub (at __unpack_end)
;   +20  unpacked_size   u32, bytes of kernel image it decodes to
;   +24  bucket_count    u32, the size of the codec's context table (kernel_lib/codec/cm.h)
;   +28  crc             u32, CRC-32C of the kernel image
header:
.magic:         db "BFUNPK3", 0
.packed_size:   dd 0
.unpacked_size: dd 0
.bucket_count:  dd 0
.crc:           dd 0
    ; Assemble-time guard: a negative TIMES count stops the build if the offsets that
    ; pack-kernel relies on ever move.
    times -((header.magic - unpack_start) != 8) db 0
    times -((header.crc - unpack_start) != 28) db 0
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
    mov r13, rsp                            ; stage2's stack, handed on to the kernel
    mov rsp, UNPACK_STACK_TOP
    call pvm_try_native
    mov rdi, __unpack_end                   ; the packed kernel follows the stub
    mov esi, [header.packed_size]
    mov rdx, KERNEL_LOAD_ADDR
    mov ecx, [header.unpacked_size]
    mov r8d, [header.bucket_count]
    mov r9d, [header.crc]
    call unpack_entry
    test rax, rax
    jnz .failed
    mov rsp, r13                            ; the kernel starts on stage2's stack
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

section .rodata
message:
    db 13, 10, '@error {"code":"boot.kernel","message":"unpack: the packed kernel is damaged '
    db '(it does not decode to the recorded image and CRC); rebuild the image"}', 13, 10
    db '@exit 17', 13, 10, 0
