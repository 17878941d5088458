; disk.asm -- the payload directory and the payloads: read by LBA below 1 MiB, copied
; above 1 MiB through unreal mode.
;
; Real mode, included by stage2.asm. Reads go through INT 13h AH=42h in chunks of at most
; BOUNCE_SECTORS sectors into the bounce buffer; each chunk is then copied to its final
; address with 32-bit addressing (unreal mode is re-entered after every BIOS call, since
; a BIOS may reload the segment registers in protected mode). Payloads are placed and
; checked against the memory map before the first byte is read.

bits 16

; enter_unreal -- give DS/ES/FS/GS a 4 GiB limit while staying in real mode (bases 0).
; CLOBBERS: nothing.
enter_unreal:
    pushf
    cli
    push eax
    push bx
    push ds
    push es
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp short .protected                ; serialise before loading selectors
.protected:
    mov bx, GDT_FLAT_DATA
    mov ds, bx
    mov es, bx
    mov fs, bx
    mov gs, bx
    and al, 0xFE
    mov cr0, eax
    jmp short .real
.real:
    xor bx, bx
    mov fs, bx
    mov gs, bx
    pop es
    pop ds
    pop bx
    pop eax
    popf
    ret

; disk_read -- read dap_wanted sectors at dap.lba into dap's buffer, up to 3 tries.
; OUT: CF set on failure with the BIOS status in disk_status. CLOBBERS: nothing.
disk_read:
    pusha
    mov cx, 3
.try:
    mov ax, [dap_wanted]
    mov [dap.count], ax                 ; a failed call may have changed it
    mov si, dap
    mov dl, [boot_drive]
    mov ah, 0x42
    int 0x13
    jnc .ok
    mov [disk_status], ah
    xor ax, ax                          ; reset the disk system, then retry
    mov dl, [boot_drive]
    int 0x13
    loop .try
    popa
    stc
    ret
.ok:
    popa
    clc
    ret

; fail_disk_read -- report a read error of payload DI (or the directory when DI = 0).
fail_disk_read:
    push di
    mov si, err_disk_read
    call fail_begin
    mov si, msg_read_sector
    call puts
    mov eax, [dap.lba]
    call print_dec
    mov si, msg_read_of
    call puts
    pop si
    test si, si
    jnz .payload
    mov si, msg_read_directory
    call puts
    jmp .status
.payload:
    mov al, "'"
    call putc
    call print_name
    mov al, "'"
    call putc
.status:
    mov si, msg_read_status
    call puts
    mov al, [disk_status]
    call print_hex8
    mov si, msg_read_hint
    call puts
    jmp fail_end

; crc32c -- CRC-32C (Castagnoli, reflected; kernel_lib/codec/crc32c.h) of a buffer below 64 KiB.
; IN: SI = buffer, CX = length. OUT: EAX = CRC. CLOBBERS: nothing else.
crc32c:
    push cx
    push dx
    push si
    mov eax, 0xFFFFFFFF
.byte:
    xor al, [si]
    inc si
    mov dl, 8
.bit:
    shr eax, 1
    jnc .no_xor
    xor eax, 0x82F63B78
.no_xor:
    dec dl
    jnz .bit
    loop .byte
    not eax
    pop si
    pop dx
    pop cx
    ret

; load_directory -- read and verify the payload directory (magic, version, count, CRC).
; CLOBBERS: all general registers.
load_directory:
    mov word [dap_wanted], 1
    mov word [dap.offset], DIRECTORY_BUFFER
    mov word [dap.segment], 0
    mov eax, [slot_directory_lba]
    mov [dap.lba], eax
    mov eax, [slot_directory_lba + 4]
    mov [dap.lba + 4], eax
    call disk_read
    jnc .read
    xor di, di
    jmp fail_disk_read
.read:
    mov si, DIRECTORY_BUFFER
    mov di, directory_magic
    mov cx, 8
    repe cmpsb
    mov di, msg_dir_magic
    jne .bad
    cmp dword [DIRECTORY_BUFFER + DirectoryHeader.version], DIRECTORY_VERSION
    mov di, msg_dir_version
    jne .bad
    mov eax, [DIRECTORY_BUFFER + DirectoryHeader.entry_count]
    mov di, msg_dir_count
    test eax, eax
    jz .bad
    cmp eax, DIRECTORY_MAX_ENTRIES
    ja .bad
    ; The CRC covers the sector with its own field zeroed.
    mov ebx, [DIRECTORY_BUFFER + DirectoryHeader.crc32]
    mov dword [DIRECTORY_BUFFER + DirectoryHeader.crc32], 0
    mov si, DIRECTORY_BUFFER
    mov cx, SECTOR_SIZE
    call crc32c
    mov [DIRECTORY_BUFFER + DirectoryHeader.crc32], ebx
    cmp eax, ebx
    jne .bad_crc
    ret
.bad:
    mov si, err_directory
    call fail_begin
    mov si, di
    call puts
    mov si, msg_dir_hint
    call puts
    jmp fail_end
.bad_crc:
    push eax
    mov si, err_directory
    call fail_begin
    mov si, msg_dir_crc_stored
    call puts
    mov eax, ebx
    call print_hex32
    mov si, msg_dir_crc_computed
    call puts
    pop eax
    call print_hex32
    mov si, msg_dir_hint
    call puts
    jmp fail_end

; plan_payloads -- give every directory entry its physical address, check that it lies in
; usable RAM, fill BootInfo.payloads and count the bytes to load. Nothing is read yet.
; Each entry: copy_entry_fields, then place_entry, then the checks.
; CLOBBERS: all general registers.
plan_payloads:
    mov cx, [DIRECTORY_BUFFER + DirectoryHeader.entry_count]
    mov [BOOTINFO_ADDR + BootInfo.payload_count], cx
    mov si, DIRECTORY_BUFFER + DirectoryHeader_size
    mov di, BOOTINFO_ADDR + BootInfo.payloads
    mov dword [payload_cursor], PAYLOAD_BASE
    mov dword [total_bytes], 0
    xor bx, bx                          ; entry index
.entry:
    call copy_entry_fields
    test edx, edx
    jnz plan_fail_too_big               ; 4 GiB or more
    call place_entry                    ; ECX = address, EAX = size
    mov edx, ecx
    add edx, eax
    jc plan_fail_too_big
    test bx, bx
    jz .cursor_done                     ; the kernel sits below the payload area
    mov [payload_cursor], edx
.cursor_done:
    add [total_bytes], eax
    jc plan_fail_too_big
    push eax
    mov eax, ecx
    mov ecx, edx
    call range_is_usable
    pop eax
    jc plan_fail_no_room
    add si, DirectoryEntry_size
    add di, LoadedPayload_size
    inc bx
    cmp bx, [BOOTINFO_ADDR + BootInfo.payload_count]
    jb .entry
    ret

; copy_entry_fields -- copy a directory entry's name, size, CRC and flags into its
; BootInfo entry (address high half zero).
; IN: SI = directory entry, DI = BootInfo.payloads entry
; OUT: EDX = the size's high 32 bits (non-zero: 4 GiB or more)
; CLOBBERS: EAX
copy_entry_fields:
    pusha
    mov cx, PAYLOAD_NAME_BYTES
    rep movsb
    popa
    mov eax, [si + DirectoryEntry.size]
    mov [di + LoadedPayload.size], eax
    mov edx, [si + DirectoryEntry.size + 4]
    mov [di + LoadedPayload.size + 4], edx
    mov eax, [si + DirectoryEntry.crc32]
    mov [di + LoadedPayload.crc32], eax
    mov eax, [si + DirectoryEntry.flags]
    mov [di + LoadedPayload.flags], eax
    mov dword [di + LoadedPayload.address + 4], 0
    ret

; place_entry -- the address of entry BX: entry 0 must be the kernel, loaded at
; KERNEL_LOAD_ADDR (and noted in BootInfo); the others go to the next PAYLOAD_ALIGN boundary
; of the payload area. Fails (no return) on a misnamed or oversized kernel.
; IN: BX = index, SI = directory entry, DI = BootInfo.payloads entry
; OUT: ECX = address, EAX = size (both also stored)
; CLOBBERS: nothing else
place_entry:
    test bx, bx
    jnz .payload
    push si
    push di
    push cx
    mov di, kernel_name
    mov cx, 7                           ; "kernel" and its NUL
    repe cmpsb
    pop cx
    pop di
    pop si
    jne plan_fail_not_kernel
    mov eax, [si + DirectoryEntry.size]
    cmp eax, KERNEL_MAX_BYTES
    ja plan_fail_kernel_too_big
    mov dword [di + LoadedPayload.address], KERNEL_LOAD_ADDR
    mov dword [BOOTINFO_ADDR + BootInfo.kernel_address], KERNEL_LOAD_ADDR
    mov [BOOTINFO_ADDR + BootInfo.kernel_size], eax
    mov ecx, KERNEL_LOAD_ADDR
    ret
.payload:
    mov ecx, [payload_cursor]
    add ecx, PAYLOAD_ALIGN - 1
    and ecx, ~(PAYLOAD_ALIGN - 1)
    mov [di + LoadedPayload.address], ecx
    mov eax, [si + DirectoryEntry.size]
    ret

; The failures of plan_payloads, each printing its own message, then halting.
plan_fail_not_kernel:
    mov si, err_directory
    mov di, msg_not_kernel
    jmp fail
plan_fail_kernel_too_big:               ; EAX = the kernel's size
    push eax
    mov si, err_kernel
    call fail_begin
    mov si, msg_kernel_size
    call puts
    pop eax
    call print_dec
    mov si, msg_kernel_limit
    call puts
    jmp fail_end
plan_fail_too_big:                      ; DI = BootInfo entry
    push di
    mov si, err_memory
    call fail_begin
    mov si, msg_payload
    call puts
    pop si
    call print_name
    mov si, msg_too_big
    call puts
    jmp fail_end
plan_fail_no_room:
    ; EAX = size, DI = BootInfo entry, [di + address] = where it would go.
    push di
    push eax
    mov si, err_memory
    call fail_begin
    mov si, msg_payload
    call puts
    pop eax
    pop si
    push si
    call print_name
    mov si, msg_needs
    call puts
    call print_mib
    mov si, msg_at
    call puts
    pop di
    mov eax, [di + LoadedPayload.address]
    call print_mib
    call find_usable
    jc .no_region
    push ebx
    mov si, msg_region_ends
    call puts
    pop eax
    test edx, edx
    jz .print_end
    mov eax, 0xFFFFFFFF
.print_end:
    call print_mib
    jmp .hint
.no_region:
    mov si, msg_no_region
    call puts
.hint:
    mov si, msg_more_memory
    call puts
    jmp fail_end

; load_payloads -- read every payload to the address plan_payloads gave it, showing
; progress for large images. CLOBBERS: all general registers.
load_payloads:
    mov dword [done_bytes], 0
    mov byte [last_percent], 0xFF
    cmp dword [total_bytes], PROGRESS_MIN_BYTES
    setae [show_progress]
    mov si, DIRECTORY_BUFFER + DirectoryHeader_size
    mov di, BOOTINFO_ADDR + BootInfo.payloads
    mov cx, [BOOTINFO_ADDR + BootInfo.payload_count]
.payload:
    push cx
    mov eax, [si + DirectoryEntry.lba]
    mov [dap.lba], eax
    mov eax, [si + DirectoryEntry.lba + 4]
    mov [dap.lba + 4], eax
    mov word [dap.offset], 0
    mov word [dap.segment], BOUNCE_SEGMENT
    mov eax, [di + LoadedPayload.address]
    mov [copy_dest], eax
    mov eax, [di + LoadedPayload.size]
    mov [copy_left], eax
.chunk:
    mov eax, [copy_left]
    test eax, eax
    jz .next_payload
    add eax, SECTOR_SIZE - 1
    shr eax, 9                          ; sectors still to read
    cmp eax, BOUNCE_SECTORS
    jbe .count_ok
    mov eax, BOUNCE_SECTORS
.count_ok:
    mov [dap_wanted], ax
    call disk_read
    jc fail_disk_read
    call enter_unreal
    ; Copy min(bytes left, chunk) from the bounce buffer to its place above 1 MiB.
    movzx ecx, word [dap_wanted]
    shl ecx, 9
    cmp ecx, [copy_left]
    jbe .copy
    mov ecx, [copy_left]
.copy:
    sub [copy_left], ecx
    add [done_bytes], ecx
    push si
    push di
    cli
    mov esi, BOUNCE_ADDR
    mov edi, [copy_dest]
    mov edx, ecx
    shr ecx, 2
    a32 rep movsd
    mov ecx, edx
    and ecx, 3
    a32 rep movsb
    mov [copy_dest], edi
    sti
    pop di
    pop si
    movzx eax, word [dap_wanted]
    add [dap.lba], eax
    adc dword [dap.lba + 4], 0
    call show_load_progress
    jmp .chunk
.next_payload:
    add si, DirectoryEntry_size
    add di, LoadedPayload_size
    pop cx
    dec cx
    jnz .payload
    cmp byte [show_progress], 0
    je .done
    mov si, txt_crlf
    call puts
.done:
    ret

; show_load_progress -- "loading: NN%" on screen for every percent, on COM1 every 10 %.
; CLOBBERS: nothing.
show_load_progress:
    cmp byte [show_progress], 0
    je .out
    pushad
    mov eax, [done_bytes]
    mov ecx, 100
    mul ecx                             ; EDX:EAX = done * 100
    div dword [total_bytes]             ; < 101: no overflow
    cmp al, [last_percent]
    je .restore
    mov bl, al
    xchg bl, [last_percent]
    ; Screen: rewrite the line in place.
    mov si, txt_loading
.screen_text:
    lodsb
    test al, al
    jz .screen_number
    call screen_putc
    jmp .screen_text
.screen_number:
    movzx eax, byte [last_percent]
    mov bx, screen_putc
    call dec_to
    mov al, '%'
    call screen_putc
    ; COM1: one mark per 10 %.
    movzx ax, byte [last_percent]
    mov cl, 10
    div cl
    test ah, ah
    jnz .restore
    movzx eax, byte [last_percent]
    mov bx, serial_putc
    call dec_to
    mov al, '%'
    call serial_putc
    mov al, ' '
    call serial_putc
.restore:
    popad
.out:
    ret

PROGRESS_MIN_BYTES equ 16 * 1024 * 1024

align 4
dap:
.size:      db 16
.reserved:  db 0
.count:     dw 0
.offset:    dw 0
.segment:   dw 0
.lba:       dq 0
dap_wanted:         dw 0
disk_status:        db 0
show_progress:      db 0
last_percent:       db 0
align 4
payload_cursor:     dd 0
total_bytes:        dd 0
done_bytes:         dd 0
copy_dest:          dd 0
copy_left:          dd 0

directory_magic:    db 'BFPAYDIR'
kernel_name:        db 'kernel', 0
txt_loading:        db 13, 'loading payloads: ', 0

err_disk_read:      db ERR_BOOT_DISK_READ, 'disk_read', 0
err_directory:      db ERR_BOOT_DIRECTORY, 'directory', 0
err_memory:         db ERR_BOOT_MEMORY, 'memory', 0
err_kernel:         db ERR_BOOT_KERNEL, 'kernel', 0
msg_read_sector:    db 'reading sector ', 0
msg_read_of:        db ' of ', 0
msg_read_directory: db 'the payload directory', 0
msg_read_status:    db ' failed (BIOS status ', 0
msg_read_hint:      db '); the disk or image may be damaged or shorter than its directory says', 0
msg_dir_magic:      db 'the payload directory has no BFPAYDIR magic', 0
msg_dir_version:    db 'the payload directory has an unknown version', 0
msg_dir_count:      db 'the payload directory lists no or too many payloads', 0
msg_dir_crc_stored: db 'payload directory checksum mismatch: stored ', 0
msg_dir_crc_computed: db ', computed ', 0
msg_dir_hint:       db '; rebuild the image with make image', 0
msg_not_kernel:     db 'the first payload is not the kernel', 0
msg_kernel_size:    db 'the kernel is ', 0
msg_kernel_limit:   db ' bytes, more than the 3 MiB between 1 MiB and the payload area', 0
msg_payload:        db 'payload ', 0
msg_too_big:        db ' does not fit below 4 GiB', 0
msg_needs:          db ' needs ', 0
msg_at:             db ' at ', 0
msg_region_ends:    db ' but the usable RAM there ends at ', 0
msg_no_region:      db ' but there is no usable RAM there', 0
msg_more_memory:    db '; give the machine more memory (QEMU: MEM=2G or more)', 0
