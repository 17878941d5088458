; lz_decode.asm -- the decoder of the unpacker's own LZ stream (kernel_lib/codec/lz.h).
;
; The kernel unpacker (boot/unpack/) stores most of itself LZ-compressed: its entry code
; runs this decoder first, so it must be small and need nothing but a stack. The host
; links the same object (pack-kernel checks every stream it writes with it; the tests
; compare it with the encoder), so it follows the System V ABI.
;
; u8* lz_decode(u8* out, const u8* in, u8* out_end)
;   Decodes into [out, out_end) and returns the first byte after the stream's last one.
;   Whatever the stream holds, the decoder writes and reads back only inside [out, out_end)
;   (a match is cut at out_end, its offset at the bytes decoded so far) and reads the
;   stream forward from `in`; zero bytes after a damaged stream decode as literals, so
;   2 * (out_end - out) + 64 of them end any stream.
;
; The stream, in the order the decoder reads it: a flag bit per item, 0 a literal byte,
; 1 a match: the offset's high part as an Elias-gamma number h >= 1, then a byte l, offset
; = (h - 1) * 256 + l + 1; then the length - 1 as an Elias-gamma number (lengths >= 2).
; Elias-gamma numbers are interleaved: after the implied leading 1, each further bit of
; the number comes after a 1 flag, and a 0 flag ends it (so zero bytes decode as literals
; and short numbers, never as an endless one). Bits are read from the most significant
; end of bytes taken from the stream as needed; whole bytes (literals, l) come between them.

bits 64
default rel

section .text.lz_decode
global lz_decode
lz_decode:
    push rbx
    mov r9, rdi                     ; out
    mov bl, 0x80                    ; the bit buffer, empty: only its end marker
.next:
    cmp rdi, rdx
    jae .done
    call .bit
    jc .match
    movsb                           ; a literal
    jmp .next
.match:
    call .gamma                     ; h
    lea eax, [rcx - 1]
    shl eax, 8
    lodsb                           ; l
    inc eax                         ; the offset
    push rax
    call .gamma
    inc ecx                         ; the length
    pop rax
    mov r8, rdi
    sub r8, r9
    cmp rax, r8
    cmova rax, r8                   ; not before out
    mov r8, rdx
    sub r8, rdi
    cmp rcx, r8
    cmova rcx, r8                   ; not past out_end
    push rsi
    mov rsi, rdi
    sub rsi, rax
    rep movsb                       ; byte by byte: an offset below the length repeats
    pop rsi
    jmp .next
.done:
    mov rax, rsi
    pop rbx
    ret

; ECX = the next Elias-gamma number. Clobbers nothing else but flags and the bit buffer.
.gamma:
    mov ecx, 1
.gamma_bit:
    call .bit
    jnc .gamma_end
    call .bit
    adc ecx, ecx
    jmp .gamma_bit
.gamma_end:
    ret

; CF = the next bit.
.bit:
    add bl, bl
    jnz .bit_end
    mov bl, [rsi]
    inc rsi
    adc bl, bl                      ; the end marker shifts in behind the byte's 8 bits
.bit_end:
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
