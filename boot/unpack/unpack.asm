; unpack.asm -- the kernel image's unpacker: kernel.bin is this stub plus the kernel,
; passed through the x86 branch filter and packed by the context-mixing codec
; (kernel_lib/codec/, boot/tools/pack-kernel.main.cpp); the stub restores the kernel at
; 1 MiB and enters it.
;
; Entry: 64-bit long mode at KERNEL_LOAD_ADDR (stage2 jumps to the first byte of kernel.bin),
;        RDI = &BootInfo, stage2's identity map and stack.
; Layout: this entry (the header, the copy, the LZ decoder: stored as it is), the body (the
;        rest of the stub, LZ-compressed: kernel_lib/codec/lz.h), the packed kernel.
; Steps: copy all three to UNPACK_ADDR (below 1 MiB, out of the way of the kernel's final
;        place), restore the body at UNPACK_BODY_ADDR and continue there on the unpacker's
;        own stack, switch to native execution under PVM (so the decompression is not
;        emulated instruction by instruction), decode the kernel to KERNEL_LOAD_ADDR, check
;        its CRC, and jump to it with RDI and RSP as stage2 left them.
; Memory: UNPACK_ADDR .. UNPACK_LIMIT (entry + packed body + packed kernel), the body and
;        the stack above it in stage2's disk bounce buffer (idle by now; unpack.ld), and the
;        memory from 1 MiB to PAYLOAD_BASE: the image, then the codec's tables.
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
extern lz_decode                            ; u8* (out, in, out end): the end of the stream
extern __entry_end
extern __body_end

section .text.entry
global unpack_start
unpack_start:
    jmp short unpack_body
    align 8
; Patched by pack-kernel (boot/tools/pack-kernel.main.cpp), which finds the magic at offset 8:
;   +8   magic           "BFUNPK4", 0
;   +16  packed_size     u32, bytes of packed kernel right after the packed body
;   +20  unpacked_size   u32, bytes of kernel image it decodes to
;   +24  bucket_count    u32, the size of the codec's context table (kernel_lib/codec/cm.h)
;   +28  crc             u32, CRC-32C of the kernel image
;   +32  body_size       u32, bytes of LZ-compressed body right after the entry (at __entry_end)
;   +36  body_crc        u32, CRC-32C of the restored body
header:
.magic:         db "BFUNPK4", 0
.packed_size:   dd 0
.unpacked_size: dd 0
.bucket_count:  dd 0
.crc:           dd 0
.body_size:     dd 0
.body_crc:      dd 0
    ; Assemble-time guard: a negative TIMES count stops the build if the offsets that
    ; pack-kernel relies on ever move.
    times -((header.magic - unpack_start) != 8) db 0
    times -((header.body_crc - unpack_start) != 36) db 0
unpack_body:
    cld
    mov r12, rdi                            ; BootInfo
    lea rsi, [rel unpack_start]             ; where stage2 put us (KERNEL_LOAD_ADDR)
    mov rdi, UNPACK_ADDR
    mov ecx, [rel header.packed_size]
    add ecx, [rel header.body_size]
    add rcx, __entry_end - UNPACK_ADDR
    rep movsb
    mov rax, restore_body
    jmp rax
restore_body:
    mov r13, rsp                            ; stage2's stack, handed on to the kernel
    mov rsp, UNPACK_STACK_TOP
    mov rdi, UNPACK_BODY_ADDR
    mov rsi, __entry_end
    mov rdx, __body_end
    call lz_decode
    ; A damaged body must not run: its CRC-32C (bit by bit) against the header's.
    mov r14, rax
    mov rsi, UNPACK_BODY_ADDR
    mov ecx, __body_end - UNPACK_BODY_ADDR
    mov eax, -1
.crc_byte:
    xor al, [rsi]
    inc rsi
    mov dl, 8
.crc_bit:
    shr eax, 1
    jnc .crc_next
    xor eax, 0x82F63B78
.crc_next:
    dec dl
    jnz .crc_bit
    loop .crc_byte
    not eax
    cmp eax, [header.body_crc]
    jne unpack_failed
    mov rax, r14
    jmp continue_low

; A damaged kernel.bin: an @error line on COM1, QEMU's exit device, halt.
unpack_failed:
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
message:
    db 13, 10, '@error {"code":"boot.kernel","message":"unpack: the packed kernel is damaged '
    db '(it does not decode to the recorded image and CRC); rebuild the image"}', 13, 10
    db '@exit 17', 13, 10, 0

section .text
continue_low:
    mov r14, rax                            ; the packed kernel follows the packed body
    call pvm_try_native
    mov rdi, r14
    mov esi, [header.packed_size]
    mov rdx, KERNEL_LOAD_ADDR
    mov ecx, [header.unpacked_size]
    mov r8d, [header.bucket_count]
    mov r9d, [header.crc]
    call unpack_entry
    test rax, rax
    jnz unpack_failed
    mov rsp, r13                            ; the kernel starts on stage2's stack
    mov rdi, r12
    mov rax, KERNEL_LOAD_ADDR
    jmp rax
