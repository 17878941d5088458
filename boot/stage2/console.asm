; console.asm -- stage2 output: screen (BIOS INT 10h teletype) and COM1 (polled UART).
;
; Real mode, included by stage2.asm. Every routine keeps the registers it does not name.
; Failures go through fail_begin / fail_end, which write the `@error` and `@exit` lines
; the kernel also uses, leave QEMU through its exit device and halt on hardware.

bits 16

; serial_init -- program COM1 for 115200 baud, 8N1, FIFOs on.
; IN: nothing. OUT: nothing. CLOBBERS: nothing.
serial_init:
    pusha
    mov si, .table
.next:
    mov dx, COM1_PORT
    add dl, [si]
    mov al, [si + 1]
    out dx, al
    add si, 2
    cmp si, .table_end
    jb .next
    popa
    ret
.table:         ; (register offset, value)
    db 1, 0x00  ; no interrupts
    db 3, 0x80  ; DLAB on
    db 0, 0x01  ; divisor 1 = 115200 baud
    db 1, 0x00
    db 3, 0x03  ; 8N1, DLAB off
    db 2, 0xC7  ; FIFOs on and cleared
    db 4, 0x03  ; DTR + RTS
.table_end:

; screen_putc -- one character on the screen. IN: AL. CLOBBERS: nothing.
screen_putc:
    pusha
    mov ah, 0x0E
    mov bx, 0x0007
    int 0x10
    popa
    ret

; serial_putc -- one character on COM1 (bounded wait, so a missing UART cannot hang).
; IN: AL. CLOBBERS: nothing.
serial_putc:
    pusha
    mov ah, al
    mov dx, COM1_PORT + 5
    mov cx, 0xFFFF
.wait:
    in al, dx
    test al, 0x20
    loopz .wait
    mov dx, COM1_PORT
    mov al, ah
    out dx, al
    popa
    ret

; putc -- one character on screen and COM1. IN: AL. CLOBBERS: nothing.
putc:
    call screen_putc
    jmp serial_putc

; puts -- NUL-terminated string on screen and COM1.
; IN: SI = string. OUT: SI = byte after the NUL. CLOBBERS: nothing else.
puts:
    push ax
.loop:
    lodsb
    test al, al
    jz .done
    call putc
    jmp .loop
.done:
    pop ax
    ret

; print_dec -- unsigned decimal on screen and COM1. IN: EAX. CLOBBERS: nothing.
print_dec:
    push bx
    mov bx, putc
    call dec_to
    pop bx
    ret

; dec_to -- unsigned decimal through a chosen output routine.
; IN: EAX = value, BX = routine taking AL (putc, screen_putc, serial_putc). CLOBBERS: nothing.
dec_to:
    pushad
    mov esi, 10
    xor cx, cx
.divide:
    xor edx, edx
    div esi
    push dx
    inc cx
    test eax, eax
    jnz .divide
.emit:
    pop ax
    add al, '0'
    call bx
    loop .emit
    popad
    ret

; print_hex8 -- two hex digits. IN: AL. CLOBBERS: nothing.
print_hex8:
    pusha
    mov cx, 2
    mov ah, al
.digit:
    rol ah, 4
    mov al, ah
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'A' - '0' - 10
.out:
    call putc
    loop .digit
    popa
    ret

; print_mib -- EAX bytes as whole MiB, rounded up, with the unit. CLOBBERS: nothing.
print_mib:
    push eax
    add eax, 0xFFFFF
    jnc .no_carry
    mov eax, 0xFFFFFFFF
.no_carry:
    shr eax, 20
    call print_dec
    mov si, txt_mib
    call puts
    pop eax
    ret

; print_name -- a payload name (at most PAYLOAD_NAME_BYTES, NUL-padded).
; IN: SI = name. CLOBBERS: nothing.
print_name:
    pusha
    mov cx, PAYLOAD_NAME_BYTES
.char:
    lodsb
    test al, al
    jz .done
    call putc
    loop .char
.done:
    popa
    ret

; fail_begin -- start an error report: CRLF '@error {"code":"boot.NAME","message":"'.
; The caller prints the message with puts/print_dec/..., then jumps to fail_end.
; IN: SI = error record: db number, code name (NUL-terminated). CLOBBERS: everything.
fail_begin:
    lodsb
    mov [fail_number], al
    push si
    mov si, txt_error_open
    call puts
    pop si
    call puts
    mov si, txt_error_mid
    jmp puts

; fail_end -- finish the report ('"}' and '@exit N'), exit QEMU, halt. Does not return.
fail_end:
    mov si, txt_error_close
    call puts
    movzx eax, byte [fail_number]
    call print_dec
    mov si, txt_crlf
    call puts
    mov al, [fail_number]
    out QEMU_EXIT_PORT, al
.halt:
    cli
    hlt
    jmp .halt

; fail -- a report whose message is one fixed string.
; IN: SI = error record (number, code name), DI = message. Does not return.
fail:
    push di
    call fail_begin
    pop si
    call puts
    jmp fail_end

txt_error_open:  db 13, 10, '@error {"code":"boot.', 0
txt_error_mid:   db '","message":"stage2: ', 0
txt_error_close: db '"}', 13, 10, '@exit ', 0
txt_crlf:        db 13, 10, 0
txt_mib:         db ' MiB', 0
fail_number:     db 0

; print_hex32 -- eight hex digits with a 0x prefix. IN: EAX. CLOBBERS: nothing.
print_hex32:
    push eax
    push si
    mov si, txt_hex_prefix
    call puts
    pop si
    rol eax, 8
    call print_hex8
    rol eax, 8
    call print_hex8
    rol eax, 8
    call print_hex8
    rol eax, 8
    call print_hex8
    pop eax
    ret

txt_hex_prefix: db '0x', 0
