// VGA text mode driver (see vga.h). Cells are (character, attribute) pairs.
#include "kernel_lib/io/vga.h"

#include "kernel_lib/arch/x86_64/cpu.h"

namespace kl::vga {

namespace {

volatile u16* const g_buffer = reinterpret_cast<volatile u16*>(0xB8000);
int g_row = 0;
int g_column = 0;
int g_scroll_top = 0;
u8 g_attribute = LightGray;

constexpr u16 crtc_index = 0x3D4, crtc_data = 0x3D5;

u16 cell(char c, u8 attribute) { return static_cast<u16>(static_cast<u8>(c)) | static_cast<u16>(attribute << 8); }

void move_hardware_cursor()
{
    u16 position = static_cast<u16>(g_row * columns + g_column);
    x86::outb(crtc_index, 0x0F);
    x86::outb(crtc_data, static_cast<u8>(position & 0xFF));
    x86::outb(crtc_index, 0x0E);
    x86::outb(crtc_data, static_cast<u8>(position >> 8));
}

void scroll()
{
    for (int r = g_scroll_top; r < rows - 1; ++r)
        for (int c = 0; c < columns; ++c)
            g_buffer[r * columns + c] = g_buffer[(r + 1) * columns + c];
    for (int c = 0; c < columns; ++c)
        g_buffer[(rows - 1) * columns + c] = cell(' ', g_attribute);
    g_row = rows - 1;
}

void newline()
{
    g_column = 0;
    if (++g_row >= rows)
        scroll();
}

void put(char c)
{
    switch (c) {
    case '\n': newline(); return;
    case '\r': g_column = 0; return;
    case '\t':
        do
            put(' ');
        while (g_column % 8 != 0);
        return;
    case '\b':
        if (g_column > 0)
            --g_column;
        return;
    default: break;
    }
    g_buffer[g_row * columns + g_column] = cell(c, g_attribute);
    if (++g_column >= columns)
        newline();
}

}

void init()
{
    x86::outb(crtc_index, 0x0F);
    u16 position = x86::inb(crtc_data);
    x86::outb(crtc_index, 0x0E);
    position |= static_cast<u16>(x86::inb(crtc_data) << 8);
    g_row = position / columns;
    g_column = position % columns;
    if (g_row >= rows) {
        g_row = rows - 1;
        g_column = 0;
    }
}

void write(const char* bytes, usize length)
{
    for (usize i = 0; i < length; ++i)
        put(bytes[i]);
    move_hardware_cursor();
}

void set_color(Color foreground, Color background) { g_attribute = static_cast<u8>(foreground | (background << 4)); }

void clear()
{
    for (int i = g_scroll_top * columns; i < rows * columns; ++i)
        g_buffer[i] = cell(' ', g_attribute);
    g_row = g_scroll_top;
    g_column = 0;
    move_hardware_cursor();
}

void write_row(int row, const char* text, Color foreground, Color background)
{
    u8 attribute = static_cast<u8>(foreground | (background << 4));
    int c = 0;
    for (; text[c] && c < columns; ++c)
        g_buffer[row * columns + c] = cell(text[c], attribute);
    for (; c < columns; ++c)
        g_buffer[row * columns + c] = cell(' ', attribute);
}

void set_scroll_top(int row)
{
    g_scroll_top = row;
    if (g_row < row)
        g_row = row;
}

}
