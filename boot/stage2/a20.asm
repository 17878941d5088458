; a20.asm -- enable the A20 line and prove it with the wrap-around test.
;
; Real mode, included by stage2.asm. Methods in order: already on, BIOS INT 15h AX=2401,
; the keyboard controller's output port, the "fast A20" port 0x92. The method that worked
; is recorded in BootInfo.a20_method.

bits 16

; a20_is_on -- wrap-around test: does 0xFFFF:0x0510 (= 1 MiB + 0x500) alias 0x0000:0x0500?
; OUT: CF clear when A20 is on, set when addresses wrap. CLOBBERS: nothing.
a20_is_on:
    pusha
    push ds
    push es
    xor ax, ax
    mov ds, ax
    not ax
    mov es, ax
    mov si, 0x0500
    mov di, 0x0510
    mov al, [ds:si]
    mov ah, [es:di]
    push ax
    mov byte [ds:si], 0x00
    mov byte [es:di], 0xFF
    cmp byte [ds:si], 0xFF              ; changed through the alias: wrapped
    pop ax
    mov [es:di], ah
    mov [ds:si], al
    pop es
    pop ds
    popa
    je .wrapped
    clc
    ret
.wrapped:
    stc
    ret

; a20_wait_on -- poll the wrap-around test for a while (the KBC method is slow).
; OUT: CF as a20_is_on. CLOBBERS: nothing.
a20_wait_on:
    push cx
    mov cx, 0x4000
.poll:
    call a20_is_on
    jnc .done
    loop .poll
    stc
.done:
    pop cx
    ret

; kbc_wait_input -- wait until the keyboard controller accepts a byte (bounded).
kbc_wait_input:
    push cx
    push ax
    mov cx, 0xFFFF
.wait:
    in al, 0x64
    test al, 2
    loopnz .wait
    pop ax
    pop cx
    ret

; enable_a20 -- turn A20 on or fail with boot.a20.
; OUT: BootInfo.a20_method set. CLOBBERS: AX, BX, CX, DX.
enable_a20:
    mov dword [BOOTINFO_ADDR + BootInfo.a20_method], A20_ALREADY_ON
    call a20_is_on
    jnc .done

    mov dword [BOOTINFO_ADDR + BootInfo.a20_method], A20_BIOS
    mov ax, 0x2401
    int 0x15
    call a20_wait_on
    jnc .done

    mov dword [BOOTINFO_ADDR + BootInfo.a20_method], A20_KEYBOARD
    cli
    call kbc_wait_input
    mov al, 0xD1                        ; write the output port
    out 0x64, al
    call kbc_wait_input
    mov al, 0xDF                        ; A20 on, CPU reset line inactive
    out 0x60, al
    call kbc_wait_input
    sti
    call a20_wait_on
    jnc .done

    mov dword [BOOTINFO_ADDR + BootInfo.a20_method], A20_FAST
    in al, 0x92
    or al, 2
    and al, 0xFE                        ; never pulse the reset bit
    out 0x92, al
    call a20_wait_on
    jnc .done

    mov si, err_a20
    mov di, msg_a20
    jmp fail
.done:
    ret

err_a20: db ERR_BOOT_A20, 'a20', 0
msg_a20: db 'the A20 line cannot be enabled (BIOS, keyboard controller and port 0x92 all failed)', 0
