; stage1.asm -- BareFlow's master boot record (512 bytes).
;
; Entry: 16-bit real mode, loaded by the BIOS at 0000:7C00, DL = boot drive.
; Exit:  jumps to stage2 at 0000:8000 in real mode with DL = boot drive.
; Memory: the stack below 0x7C00 and stage2's area; the disk address packet is in the MBR.
;
; It checks for the INT 13h extensions, reads stage2 by LBA (AH=42h; stage2 is at most
; STAGE2_MAX_SECTORS = 64 sectors, below the 127-sector limit of one call) from the sectors
; named in the slots that scripts/mkimage patches, checks stage2's signature and jumps to it. Each failure prints its own message on the screen and COM1 as
; an `@error` line plus `@exit N`, writes N to QEMU's exit device and halts.

bits 16
org 0x7C00

%include "memmap.inc"
%include "bootinfo.inc"
%include "errors.inc"

start:
    jmp short main
    nop
    ; BIOS parameter block area: some BIOSes write drive geometry here when they boot a
    ; USB stick, so no code or data lives in it.
    times 0x5A - ($ - $$) db 0

main:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, STACK_TOP
    sti
    jmp 0:.cs_normalized                ; some BIOSes enter at 07C0:0000
.cs_normalized:
    cld
    push dx                             ; DL = boot drive, for stage2

    ; INT 13h extensions: AH=41h must answer BX=AA55h with bit 0 (packet access) in CX.
    mov ah, 0x41
    mov bx, 0x55AA
    int 0x13
    mov si, err_no_extensions
    jc fail
    cmp bx, 0xAA55
    jne fail
    test cl, 1
    jz fail

    ; Read stage2 with one AH=42h call: it is at most STAGE2_MAX_SECTORS (< 127) sectors,
    ; and the disk address packet with its LBA and count is the slot mkimage patched.
    mov si, dap
    mov ah, 0x42
    int 0x13
    mov si, err_read
    jc fail

    mov si, err_stage2
    cmp dword [STAGE2_ADDR + STAGE2_SLOT_MAGIC], 'BFS2'
    jne fail
    pop dx
    jmp 0:STAGE2_ADDR

; fail -- report an error and halt.
; IN: SI = error record: db number, then the code name and the message, each NUL-terminated.
; OUT: does not return.
fail:
    lodsb
    push ax                             ; AL = the error number
    mov di, si                          ; DI = code name, then the message
    mov si, txt_error_open
    call puts                           ; SI moves on to txt_error_mid
    xchg si, di
    call puts                           ; the code name
    xchg si, di
    call puts                           ; '","message":"'
    xchg si, di
    call puts                           ; the message
    xchg si, di
    call puts                           ; '"}' CRLF '@exit '
    pop ax
    push ax
    aam                                 ; AH = tens, AL = units (numbers are 10..99)
    add ax, '00'
    xchg al, ah
    call putc
    mov al, ah
    call putc
    call puts                           ; CRLF
    pop ax
    out QEMU_EXIT_PORT, al              ; leaves QEMU; harmless on hardware
.halt:
    cli
    hlt
    jmp .halt

; puts -- print a NUL-terminated string on screen and COM1.
; IN: SI = string. OUT: SI = byte after the NUL. CLOBBERS: AL.
puts:
    lodsb
    test al, al
    jz .done
    call putc
    jmp puts
.done:
    ret

; putc -- print one character on screen (INT 10h teletype) and COM1 (polled, bounded wait).
; COM1 is used as the BIOS left it (there is no room to program the UART here; QEMU needs
; no set-up, and on hardware the screen carries the message).
; IN: AL = character. CLOBBERS: nothing.
putc:
    pusha
    mov ah, 0x0E
    mov bx, 0x0007
    int 0x10
    popa
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

; Printed in this order by fail (puts leaves SI on the next string).
txt_error_open:  db '@error {"code":"boot.', 0
txt_error_mid:   db '","message":"', 0
txt_error_close: db '"}', 13, 10, '@exit ', 0
txt_crlf:        db 13, 10, 0

err_no_extensions:
    db ERR_BOOT_NO_DISK_EXTENSIONS, 'no_disk_extensions', 0, 'no INT 13h extensions', 0
err_read:
    db ERR_BOOT_DISK_READ, 'disk_read', 0, 'stage2 read failed', 0
err_stage2:
    db ERR_BOOT_KERNEL, 'kernel', 0, 'no stage2 signature', 0

; Size guard: if code and strings grow past the slots, NASM stops here with
; "TIMES value is negative".
stage1_code_end:
    times STAGE1_SLOTS_OFFSET - ($ - $$) db 0

; ---- slots patched by scripts/mkimage ----------------------------------------------------
; The disk address packet that loads stage2 is itself the slot: mkimage writes the count
; and the LBA (offsets STAGE1_SLOT_STAGE2_SECTORS / STAGE1_SLOT_STAGE2_LBA).
slot_magic:          dd 'BFS1'
dap:                 db 16, 0
slot_stage2_sectors: dw 0
                     dw STAGE2_ADDR & 0xF, STAGE2_ADDR >> 4
slot_stage2_lba:     dq 1

    times PARTITION_TABLE_OFFSET - ($ - $$) db 0
partition_table:
    times 64 db 0                       ; written by mkimage: one active entry
    dw 0xAA55
