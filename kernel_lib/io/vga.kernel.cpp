// The text console (see vga.h). Cells are (character, attribute) pairs, as in VGA text mode.
//
// Text goes to a shadow copy of the screen in RAM first; write() then copies the rows it
// changed to the display, and never reads the display back. Two displays:
//   VGA text mode (BIOS boots): rows copied to 0xB8000, 8 bytes at a time. Under a
//     hypervisor every access to VGA memory traps (a read costs tens of microseconds), so
//     the shadow keeps a scrolling story from costing milliseconds per line. The hardware
//     cursor (four port writes) moves only when someone waits for input (sync_cursor).
//   a framebuffer (UEFI boots, kernel_lib/io/framebuffer.h): each changed cell drawn with
//     the console font; the cursor is drawn, also only in sync_cursor.
// A UEFI machine without a framebuffer has neither: the console is the serial port.
#include "kernel_lib/io/vga.h"

#include <string.h>

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/io/framebuffer.h"

extern "C" const u8 console_font[];  // kernel_lib/io/console_font.asm

namespace kl::vga {

namespace {

enum class Display : u8 { None, Text, Framebuffer };

volatile u64* const g_vram = reinterpret_cast<volatile u64*>(0xB8000);
alignas(8) u16 g_buffer[rows * columns];  // the shadow
u32 g_dirty = 0;                          // one bit per row to copy out
Display g_display = Display::Text;
fb::Surface g_surface;
u16 g_drawn[rows * columns];              // what the framebuffer shows (0xFFFF: unknown)
int g_cursor = -1;                        // the framebuffer cell with the drawn cursor
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

// The font has the printable ASCII characters and one replacement glyph for every other byte.
const u8* glyph(u8 character)
{
    u32 index = character >= 0x20 && character <= 0x7E ? character - 0x20u : 0x7Fu - 0x20u;
    return console_font + index * fb::glyph_bytes;
}

void draw_changed_cells(int row)
{
    for (int c = 0; c < columns; ++c) {
        int i = row * columns + c;
        if (g_drawn[i] == g_buffer[i])
            continue;
        g_drawn[i] = g_buffer[i];
        fb::draw_cell(g_surface, row, c, glyph(static_cast<u8>(g_buffer[i])), static_cast<u8>(g_buffer[i] >> 8));
    }
}

void flush()
{
    for (int r = 0; r < rows; ++r) {
        if (!(g_dirty & (1u << r)))
            continue;
        if (g_display == Display::Framebuffer) {
            draw_changed_cells(r);
            continue;
        }
        if (g_display == Display::None)
            continue;
        const u64* src = reinterpret_cast<const u64*>(&g_buffer[r * columns]);
        for (int i = 0; i < columns / 4; ++i)
            g_vram[r * (columns / 4) + i] = src[i];
    }
    g_dirty = 0;
}

// Moves the drawn cursor: the cell it was on is drawn again (without it) with its row.
void move_drawn_cursor()
{
    if (g_cursor >= 0) {
        g_drawn[g_cursor] = 0xFFFF;
        mark(g_cursor / columns);
    }
    flush();
    g_cursor = g_row * columns + g_column;
    fb::draw_cursor(g_surface, g_row, g_column, static_cast<u8>(g_buffer[g_cursor] >> 8));
    g_drawn[g_cursor] = 0xFFFF;
}

bool use_framebuffer(const boot::BootInfo& info)
{
    // Called before the kernel validates BootInfo: only a matching one is believed.
    if (info.magic != boot::bootinfo_magic || info.version != boot::bootinfo_version || !info.framebuffer_address)
        return false;
    fb::Format format { info.framebuffer_address, info.framebuffer_width, info.framebuffer_height,
        info.framebuffer_pitch, info.framebuffer_bpp, info.framebuffer_red_mask, info.framebuffer_green_mask,
        info.framebuffer_blue_mask };
    return fb::setup(g_surface, format, columns, rows);
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

void init(const boot::BootInfo& info)
{
    bool framebuffer = use_framebuffer(info);
    if (framebuffer || (info.flags & boot::BootInfoFlagUefi)) {
        // A UEFI machine may have no VGA text mode at all: without a framebuffer, no screen.
        g_display = framebuffer ? Display::Framebuffer : Display::None;
        for (u16& cell_value : g_buffer)
            cell_value = cell(' ', LightGray);
        memset(g_drawn, 0xFF, sizeof(g_drawn));
        if (g_display == Display::Framebuffer)
            fb::clear(g_surface);
        return;
    }
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

void sync_cursor()
{
    if (g_display == Display::Framebuffer)
        move_drawn_cursor();
    else if (g_display == Display::Text)
        move_hardware_cursor();
}

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
    sync_cursor();
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
