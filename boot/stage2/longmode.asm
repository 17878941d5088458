; longmode.asm -- CPU check, identity page tables and the switch from real mode straight
; into 64-bit long mode.
;
; Real mode on entry (included by stage2.asm); the last routine ends in 64-bit mode at the
; kernel's entry point with RDI = &BootInfo.

bits 16

CPUID_EXT_NX        equ 1 << 20
CPUID_EXT_PAGES_1G  equ 1 << 26
CPUID_EXT_LONG_MODE equ 1 << 29

; check_cpu -- CPUID must exist and report long mode; records NX and 1 GiB pages, and the
; TSC at this point for the kernel's boot timing. CLOBBERS: EAX, EBX, ECX, EDX.
check_cpu:
    ; CPUID exists when EFLAGS.ID (bit 21) can be toggled.
    pushfd
    pop eax
    mov ecx, eax
    xor eax, 1 << 21
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    xor eax, ecx
    jz .no_long_mode
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, CPUID_EXT_LONG_MODE
    jz .no_long_mode
    mov [cpu_ext_features], edx
    mov eax, 1
    cpuid
    test edx, 1 << 4                    ; TSC
    jz .done
    rdtsc
    mov [BOOTINFO_ADDR + BootInfo.stage2_tsc], eax
    mov [BOOTINFO_ADDR + BootInfo.stage2_tsc + 4], edx
.done:
    ret
.no_long_mode:
    mov si, err_no_long_mode
    mov di, msg_no_long_mode
    jmp fail

; build_page_tables -- identity-map [0, max(4 GiB, top of RAM)) with 1 GiB pages where
; the CPU has them (up to 512 GiB), else with 2 MiB pages (up to 16 GiB).
; Needs unreal mode (the tables sit at PAGE_TABLES_ADDR). CLOBBERS: all general registers.
build_page_tables:
    mov edi, PAGE_TABLES_ADDR
    mov ecx, PAGE_TABLES_BYTES / 4
    xor eax, eax
    a32 rep stosd
    mov edi, PML4_ADDR
    mov dword [edi], PDPT_ADDR | 3      ; present, writable

    ; GiB to map: the top of usable RAM rounded up, at least 4.
    call usable_top                     ; EDX:EAX
    add eax, (1 << 30) - 1
    adc edx, 0
    shrd eax, edx, 30
    shr edx, 30
    test edx, edx
    jz .count_ok
    mov eax, 0xFFFFFFFF
.count_ok:
    cmp eax, 4
    jae .at_least_4
    mov eax, 4
.at_least_4:
    mov ebx, eax                        ; EBX = GiB to map
    test dword [cpu_ext_features], CPUID_EXT_PAGES_1G
    jz .small_pages

    cmp ebx, 512
    jbe .huge_count
    mov ebx, 512
.huge_count:
    or dword [BOOTINFO_ADDR + BootInfo.flags], BOOTINFO_FLAG_PAGES_1G
    mov edi, PDPT_ADDR
    xor ecx, ecx
.huge_entry:
    mov eax, ecx
    shl eax, 30
    or eax, 0x83                        ; present, writable, page size
    mov edx, ecx
    shr edx, 2
    mov [edi], eax
    mov [edi + 4], edx
    add edi, 8
    inc ecx
    cmp ecx, ebx
    jb .huge_entry
    jmp .mapped

.small_pages:
    cmp ebx, MAX_PD_TABLES
    jbe .small_count
    mov ebx, MAX_PD_TABLES
.small_count:
    xor ecx, ecx                        ; GiB index
.directory:
    mov edi, PDPT_ADDR
    mov eax, ecx
    shl eax, 12
    add eax, PD_ADDR | 3
    mov [edi + ecx * 8], eax
    and eax, ~0xFFF                     ; this GiB's page directory
    mov edi, eax
    xor esi, esi                        ; 2 MiB entry index
.pd_entry:
    mov eax, ecx
    shl eax, 30
    mov edx, esi
    shl edx, 21
    or eax, edx
    or eax, 0x83
    mov edx, ecx
    shr edx, 2
    mov [edi + esi * 8], eax
    mov [edi + esi * 8 + 4], edx
    inc esi
    cmp esi, 512
    jb .pd_entry
    inc ecx
    cmp ecx, ebx
    jb .directory

.mapped:
    mov eax, ebx                        ; mapped_bytes = GiB << 30
    shl eax, 30
    mov edx, ebx
    shr edx, 2
    mov [BOOTINFO_ADDR + BootInfo.mapped_bytes], eax
    mov [BOOTINFO_ADDR + BootInfo.mapped_bytes + 4], edx
    ret

; enter_long_mode -- PAE + EFER.LME (+NXE) + paging, then a far jump into 64-bit code.
; Does not return.
enter_long_mode:
    cli
    mov al, 0xFF                        ; mask both PICs: the kernel sets up its own IDT
    out 0xA1, al
    out 0x21, al
    lgdt [gdt_descriptor]
    mov eax, cr4
    or eax, 1 << 5                      ; PAE
    mov cr4, eax
    mov eax, PML4_ADDR
    mov cr3, eax
    mov ecx, 0xC0000080                 ; EFER
    rdmsr
    or eax, 1 << 8                      ; LME
    test dword [cpu_ext_features], CPUID_EXT_NX
    jz .no_nx
    or eax, 1 << 11                     ; NXE
.no_nx:
    wrmsr
    mov eax, cr0
    or eax, 0x80000001                  ; PG + PE: straight into long mode
    mov cr0, eax
    jmp GDT_CODE64:long_mode_entry

bits 64
long_mode_entry:
    mov ax, GDT_DATA64
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, STACK_TOP
    mov edi, BOOTINFO_ADDR
    mov eax, KERNEL_LOAD_ADDR
    jmp rax
bits 16

; The one GDT of stage2: a flat 32-bit data segment for unreal mode and the 64-bit code
; and data segments for the jump to the kernel (which installs its own GDT).
align 8
gdt:
    dq 0
GDT_FLAT_DATA equ $ - gdt
    dq 0x00CF92000000FFFF               ; data, base 0, limit 4 GiB, 32-bit
GDT_CODE64 equ $ - gdt
    dq 0x00AF9A000000FFFF               ; code, 64-bit
GDT_DATA64 equ $ - gdt
    dq 0x00CF92000000FFFF               ; data
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

cpu_ext_features: dd 0
err_no_long_mode: db ERR_BOOT_NO_LONG_MODE, 'no_long_mode', 0
msg_no_long_mode: db 'this CPU has no 64-bit long mode; BareFlow needs an x86-64 processor', 0
