; stage2.asm -- BareFlow's second stage: real mode to the 64-bit kernel.
;
; Entry: 16-bit real mode at 0000:8000 (loaded by stage1), DL = boot drive.
; Exit:  64-bit long mode at KERNEL_LOAD_ADDR with RDI = &BootInfo (BOOTINFO_ADDR),
;        interrupts off, PICs masked, [0, BootInfo.mapped_bytes) identity mapped.
; Memory: see boot/inc/memmap.inc (BootInfo, directory buffer, bounce buffer, page tables,
;        kernel at 1 MiB, payloads from 8 MiB).
;
; Steps: serial + screen, CPU check (long mode), A20, memory map, payload directory,
; payload placement and loading (unreal mode), page tables, long mode, kernel.
; Every failure prints an `@error` line and `@exit N` (boot/inc/errors.inc) and halts.

%include "memmap.inc"
%include "bootinfo.inc"
%include "errors.inc"

bits 16
org STAGE2_ADDR

stage2_start:
    jmp short stage2_main
    times STAGE2_SLOT_MAGIC - ($ - $$) db 0
    dd 'BFS2'
; Patched by scripts/mkimage: the sector of the payload directory.
slot_directory_lba: dq 0

stage2_main:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, STACK_TOP
    sti
    cld
    mov [boot_drive], dl

    ; BootInfo starts zeroed; each step fills its part.
    mov di, BOOTINFO_ADDR
    mov cx, BootInfo_size
    xor al, al
    rep stosb
    mov dword [BOOTINFO_ADDR + BootInfo.magic], BOOTINFO_MAGIC
    mov dword [BOOTINFO_ADDR + BootInfo.version], BOOTINFO_VERSION
    movzx eax, byte [boot_drive]
    mov [BOOTINFO_ADDR + BootInfo.boot_drive], eax
    mov dword [BOOTINFO_ADDR + BootInfo.stage2_sectors], (stage2_end - stage2_start + SECTOR_SIZE - 1) / SECTOR_SIZE

    mov ax, 0x0003                      ; 80x25 colour text, clears the screen
    int 0x10
    call serial_init
    mov si, txt_banner
    call puts

    call check_cpu
    call enable_a20
    call read_memory_map
    call enter_unreal
    call load_directory
    call plan_payloads
    call load_payloads
    call build_page_tables
    mov si, txt_long_mode
    call puts
    jmp enter_long_mode

boot_drive: db 0
txt_banner:    db 'BareFlow stage2: loading', 13, 10, 0
txt_long_mode: db 'BareFlow stage2: entering long mode', 13, 10, 0

%include "console.asm"
%include "a20.asm"
%include "memory.asm"
%include "disk.asm"
%include "longmode.asm"

stage2_end:
; Size guard: stage2 must fit its slot (STAGE2_MAX_SECTORS sectors below 0x10000);
; NASM stops here with a negative reservation otherwise. (.bss emits no bytes.)
section .bss
    times STAGE2_MAX_SECTORS * SECTOR_SIZE - (stage2_end - stage2_start) resb 1
