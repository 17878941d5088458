; console_font.asm -- the framebuffer console's glyphs (kernel_lib/io/framebuffer.h), made at
; build time by scripts/make-font from Debian's console-setup font Lat15-VGA16 (the IBM VGA
; 8x16 font): U+0020..U+007E, then one replacement glyph, 16 bytes each.
; Read-only data only; no code.

bits 64

section .rodata
global console_font
global console_font_end
console_font:
    incbin "build/console_font.bin"
console_font_end:
