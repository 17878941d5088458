; memory.asm -- the physical memory map (INT 15h E820, with an E801 fallback) and the
; checks that payloads land in usable RAM.
;
; Real mode, included by stage2.asm. Entries go straight into BootInfo.regions.

bits 16

E820_SMAP equ 0x534D4150                ; 'SMAP'

; read_memory_map -- fill BootInfo.regions or fail with boot.memory_map.
; CLOBBERS: all general registers.
read_memory_map:
    mov di, BOOTINFO_ADDR + BootInfo.regions
    xor ebx, ebx
    xor bp, bp
.next:
    mov dword [di + MemoryRegion.attributes], 1  ; for BIOSes that return 20-byte entries
    mov eax, 0xE820
    mov edx, E820_SMAP
    mov ecx, MemoryRegion_size
    int 0x15
    jc .end
    cmp eax, E820_SMAP
    jne .end
    test byte [di + MemoryRegion.attributes], 1  ; ACPI 3: bit 0 clear = ignore the entry
    jz .skip
    mov eax, [di + MemoryRegion.length]
    or eax, [di + MemoryRegion.length + 4]
    jz .skip
    add di, MemoryRegion_size
    inc bp
    cmp bp, BOOTINFO_MAX_REGIONS
    jae .end
.skip:
    test ebx, ebx
    jnz .next
.end:
    test bp, bp
    jz .e801
    mov [BOOTINFO_ADDR + BootInfo.region_count], bp
    or dword [BOOTINFO_ADDR + BootInfo.flags], BOOTINFO_FLAG_E820
    ret

.e801:
    ; AX/BX (or CX/DX): KiB between 1 and 16 MiB, 64 KiB blocks above 16 MiB.
    xor cx, cx
    xor dx, dx
    mov ax, 0xE801
    int 0x15
    jc .fail
    jcxz .use_ax
    mov ax, cx
    mov bx, dx
.use_ax:
    mov di, BOOTINFO_ADDR + BootInfo.regions
    push ax
    int 0x12                            ; conventional memory in KiB
    movzx eax, ax
    shl eax, 10
    xor edx, edx
    call .add_region                    ; [0, conventional)
    pop ax
    movzx eax, ax
    shl eax, 10
    mov edx, 0x100000
    call .add_region                    ; [1 MiB, 1 MiB + AX KiB)
    movzx eax, bx
    shl eax, 16
    mov edx, 0x1000000
    call .add_region                    ; [16 MiB, 16 MiB + BX * 64 KiB)
    mov [BOOTINFO_ADDR + BootInfo.region_count], bp
    or dword [BOOTINFO_ADDR + BootInfo.flags], BOOTINFO_FLAG_E801
    ret
; IN: EDX = base, EAX = length (skipped when 0), DI = slot, BP = count.
.add_region:
    test eax, eax
    jz .add_done
    mov [di + MemoryRegion.base], edx
    mov dword [di + MemoryRegion.base + 4], 0
    mov [di + MemoryRegion.length], eax
    mov dword [di + MemoryRegion.length + 4], 0
    mov dword [di + MemoryRegion.type], 1
    mov dword [di + MemoryRegion.attributes], 1
    add di, MemoryRegion_size
    inc bp
.add_done:
    ret
.fail:
    mov si, err_memory_map
    mov di, msg_memory_map
    jmp fail

; find_usable -- the end of the usable region that contains an address below 4 GiB.
; IN: EAX = address. OUT: CF clear and EDX:EBX = region end (64-bit) when one contains
; EAX; CF set otherwise. CLOBBERS: nothing else.
find_usable:
    push cx
    push si
    mov cx, [BOOTINFO_ADDR + BootInfo.region_count]
    mov si, BOOTINFO_ADDR + BootInfo.regions
.region:
    jcxz .none
    cmp dword [si + MemoryRegion.type], 1
    jne .skip
    cmp dword [si + MemoryRegion.base + 4], 0
    jne .skip                           ; starts above 4 GiB
    cmp eax, [si + MemoryRegion.base]
    jb .skip
    mov ebx, [si + MemoryRegion.base]
    mov edx, [si + MemoryRegion.base + 4]
    add ebx, [si + MemoryRegion.length]
    adc edx, [si + MemoryRegion.length + 4]
    test edx, edx
    jnz .found                          ; ends above 4 GiB: contains EAX
    cmp eax, ebx
    jb .found
.skip:
    add si, MemoryRegion_size
    dec cx
    jmp .region
.found:
    pop si
    pop cx
    clc
    ret
.none:
    pop si
    pop cx
    stc
    ret

; range_is_usable -- is [start, end) covered by usable RAM (adjacent regions may chain)?
; IN: EAX = start, ECX = end (exclusive, both below 4 GiB). OUT: CF clear if usable.
; CLOBBERS: nothing.
range_is_usable:
    pushad
.cover:
    cmp eax, ecx
    jae .yes
    call find_usable
    jc .no
    test edx, edx
    jnz .yes                            ; the region reaches past 4 GiB
    mov eax, ebx                        ; continue from this region's end
    jmp .cover
.yes:
    popad
    clc
    ret
.no:
    popad
    stc
    ret

; usable_top -- the highest end of usable RAM. OUT: EDX:EAX (64-bit). CLOBBERS: nothing else.
usable_top:
    push cx
    push si
    push ebx
    push ebp
    xor eax, eax
    xor edx, edx
    mov cx, [BOOTINFO_ADDR + BootInfo.region_count]
    mov si, BOOTINFO_ADDR + BootInfo.regions
.region:
    jcxz .done
    cmp dword [si + MemoryRegion.type], 1
    jne .skip
    mov ebx, [si + MemoryRegion.base]
    mov ebp, [si + MemoryRegion.base + 4]
    add ebx, [si + MemoryRegion.length]
    adc ebp, [si + MemoryRegion.length + 4]
    cmp ebp, edx
    jb .skip
    ja .take
    cmp ebx, eax
    jbe .skip
.take:
    mov eax, ebx
    mov edx, ebp
.skip:
    add si, MemoryRegion_size
    dec cx
    jmp .region
.done:
    pop ebp
    pop ebx
    pop si
    pop cx
    ret

err_memory_map: db ERR_BOOT_MEMORY_MAP, 'memory_map', 0
msg_memory_map: db 'the BIOS reports no memory map (INT 15h E820 and E801 both failed)', 0
