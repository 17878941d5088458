// VGA text mode driver (see vga.h). Cells are (character, attribute) pairs.
//
// Text goes to a shadow copy of the screen in RAM first; write() then copies the rows it
// changed to the VGA memory, 8 bytes at a time, and never reads VGA memory back. Under a
// hypervisor every access to VGA memory traps (a read costs tens of microseconds), so this
// keeps a scrolling story from costing milliseconds per line. The hardware cursor (four
// port writes) moves only when someone waits for input (sync_cursor).
#include "kernel_lib/io/vga.h"

#include "kernel_lib/arch/x86_64/cpu.h"

namespace kl::vga {

namespace {

volatile u64* const g_vram = reinterpret_cast<volatile u64*>(0xB8000);
alignas(8) u16 g_buffer[rows * columns];  // the shadow
u32 g_dirty = 0;                          // one bit per row to copy out
int g_row = 0;
int g_column = 0;
int g_scroll_top = 0;
u8 g_attribute = LightGray;

// ANSI escape sequences (CSI) the console's line editor and colour output use.
enum class Escape : u8 { None, Started, Csi };
Escape g_escape = Escape::None;
int g_params[4];
int g_param_count = 0;
constexpr u8 ansi_to_vga[8] = { Black, Red, Green, Brown, Blue, Magenta, Cyan, LightGray };

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

void mark(int row) { g_dirty |= 1u << row; }

void flush()
{
    for (int r = 0; r < rows; ++r) {
        if (!(g_dirty & (1u << r)))
            continue;
        const u64* src = reinterpret_cast<const u64*>(&g_buffer[r * columns]);
        for (int i = 0; i < columns / 4; ++i)
            g_vram[r * (columns / 4) + i] = src[i];
    }
    g_dirty = 0;
}

void scroll()
{
    for (int r = g_scroll_top; r < rows - 1; ++r)
        for (int c = 0; c < columns; ++c)
            g_buffer[r * columns + c] = g_buffer[(r + 1) * columns + c];
    for (int c = 0; c < columns; ++c)
        g_buffer[(rows - 1) * columns + c] = cell(' ', g_attribute);
    for (int r = g_scroll_top; r < rows; ++r)
        mark(r);
    g_row = rows - 1;
}

void newline()
{
    g_column = 0;
    if (++g_row >= rows)
        scroll();
}

void erase_to_end_of_line()
{
    for (int c = g_column; c < columns; ++c)
        g_buffer[g_row * columns + c] = cell(' ', g_attribute);
    mark(g_row);
}

void select_graphic_rendition()
{
    if (g_param_count == 0)
        g_params[g_param_count++] = 0;
    for (int i = 0; i < g_param_count; ++i) {
        int p = g_params[i];
        u8 fg = g_attribute & 0x0F, bg = g_attribute >> 4;
        if (p == 0) {
            fg = LightGray;
            bg = Black;
        } else if (p == 1) {
            fg |= 8;
        } else if (p >= 30 && p <= 37) {
            fg = static_cast<u8>((fg & 8) | ansi_to_vga[p - 30]);
        } else if (p >= 90 && p <= 97) {
            fg = static_cast<u8>(8 | ansi_to_vga[p - 90]);
        } else if (p == 39) {
            fg = LightGray;
        } else if (p >= 40 && p <= 47) {
            bg = ansi_to_vga[p - 40];
        } else if (p == 49) {
            bg = Black;
        }
        g_attribute = static_cast<u8>(fg | (bg << 4));
    }
}

void clear_region();

// The final byte of a CSI sequence: K erase to end of line, C/D cursor right/left,
// H home, J clear (2J), m colours. Anything else is ignored.
void finish_csi(char final)
{
    int n = g_param_count > 0 && g_params[0] > 0 ? g_params[0] : 1;
    switch (final) {
    case 'K': erase_to_end_of_line(); break;
    case 'C': g_column = g_column + n < columns ? g_column + n : columns - 1; break;
    case 'D': g_column = g_column - n > 0 ? g_column - n : 0; break;
    case 'H':
        g_row = g_scroll_top;
        g_column = 0;
        break;
    case 'J':
        if (g_param_count > 0 && g_params[0] == 2)
            clear_region();
        break;
    case 'm': select_graphic_rendition(); break;
    default: break;
    }
}

// True when `c` belongs to an escape sequence (and was consumed).
bool escape_sequence(char c)
{
    if (g_escape == Escape::None) {
        if (c != 0x1B)
            return false;
        g_escape = Escape::Started;
        return true;
    }
    if (g_escape == Escape::Started) {
        g_escape = c == '[' ? Escape::Csi : Escape::None;
        g_param_count = 0;
        g_params[0] = 0;
        return true;
    }
    if (c >= '0' && c <= '9') {
        if (g_param_count == 0)
            g_param_count = 1;
        int& p = g_params[g_param_count - 1];
        p = p * 10 + (c - '0');
        return true;
    }
    if (c == ';') {
        if (g_param_count == 0)
            g_param_count = 1;
        if (g_param_count < 4)
            g_params[g_param_count++] = 0;
        return true;
    }
    g_escape = Escape::None;
    finish_csi(c);
    return true;
}

void put(char c)
{
    if (escape_sequence(c))
        return;
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
    mark(g_row);
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
    // What the BIOS and stage2 left on the screen becomes the shadow's starting point.
    u64* shadow = reinterpret_cast<u64*>(g_buffer);
    for (int i = 0; i < rows * columns / 4; ++i)
        shadow[i] = g_vram[i];
}

void write(const char* bytes, usize length)
{
    for (usize i = 0; i < length; ++i)
        put(bytes[i]);
    flush();
}

void sync_cursor() { move_hardware_cursor(); }

void set_color(Color foreground, Color background) { g_attribute = static_cast<u8>(foreground | (background << 4)); }

namespace {

void clear_region()
{
    for (int i = g_scroll_top * columns; i < rows * columns; ++i)
        g_buffer[i] = cell(' ', g_attribute);
    for (int r = g_scroll_top; r < rows; ++r)
        mark(r);
    g_row = g_scroll_top;
    g_column = 0;
}

}

void clear()
{
    clear_region();
    flush();
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
    mark(row);
    flush();
}

void set_scroll_top(int row)
{
    g_scroll_top = row;
    if (g_row < row)
        g_row = row;
}

}
