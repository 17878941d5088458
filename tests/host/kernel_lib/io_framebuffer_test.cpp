// The framebuffer text back end (kernel_lib/io/framebuffer.h) drawing into memory: pixel
// values from colour masks, the grid's scale and place on screens of several sizes, a
// glyph's pixels in its foreground and background colours, the cursor, and the border.
#include <catch2/catch.hpp>

#include <vector>

#include "kernel_lib/io/framebuffer.h"

using namespace kl::fb;

namespace {

struct Screen {
    u32 width, height, pitch_pixels;
    std::vector<u32> pixels;
    Format format;

    Screen(u32 w, u32 h, u32 pitch, u32 red = 0xFF0000, u32 green = 0x00FF00, u32 blue = 0x0000FF)
        : width(w), height(h), pitch_pixels(pitch), pixels(static_cast<size_t>(pitch) * h, 0x12345678)
    {
        format = { reinterpret_cast<u64>(pixels.data()), w, h, pitch * 4, 32, red, green, blue };
    }
    u32 at(u32 x, u32 y) const { return pixels[static_cast<size_t>(y) * pitch_pixels + x]; }
};

// A glyph with a recognisable shape: a vertical bar in column 0, a full row at row 3.
const u8 test_glyph[glyph_bytes] = { 0x80, 0x80, 0x80, 0xFF, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81 };

}

TEST_CASE("framebuffer pixels follow the colour masks", "[io]")
{
    Screen bgr(640, 400, 640);
    CHECK(pixel(bgr.format, 0xAA, 0x55, 0x00) == 0xAA5500);
    Screen rgb(640, 400, 640, 0x0000FF, 0x00FF00, 0xFF0000);
    CHECK(pixel(rgb.format, 0xAA, 0x55, 0x00) == 0x0055AA);
    Screen rgb565(640, 400, 640, 0xF800, 0x07E0, 0x001F);  // fewer bits: the top bits are kept
    CHECK(pixel(rgb565.format, 0xFF, 0xFF, 0xFF) == 0xFFFF);
    CHECK(pixel(rgb565.format, 0x80, 0x40, 0x08) == ((0x10u << 11) | (0x10u << 5) | 0x01u));
    Screen wide(640, 400, 640, 0x3FF00000, 0x000FFC00, 0x000003FF);  // 10 bits each
    CHECK(pixel(wide.format, 0xFF, 0, 0) == 0x3FC00000);
}

TEST_CASE("the 80x25 grid takes the largest whole scale that fits, centred", "[io]")
{
    Surface s;
    Screen exact(640, 400, 640);
    REQUIRE(setup(s, exact.format, 80, 25));
    CHECK((s.scale == 1 && s.origin_x == 0 && s.origin_y == 0));
    Screen ovmf(800, 600, 800);
    REQUIRE(setup(s, ovmf.format, 80, 25));
    CHECK((s.scale == 1 && s.origin_x == 80 && s.origin_y == 100));
    Screen qemu(1280, 800, 1280);
    REQUIRE(setup(s, qemu.format, 80, 25));
    CHECK((s.scale == 2 && s.origin_x == 0 && s.origin_y == 0));
    Screen full_hd(1920, 1080, 1920);
    REQUIRE(setup(s, full_hd.format, 80, 25));
    CHECK((s.scale == 2 && s.origin_x == 320 && s.origin_y == 140));
    CHECK(s.palette[14] == 0xFFFF55);  // yellow
    CHECK(s.palette[6] == 0xAA5500);   // brown

    Screen small(639, 400, 640);
    CHECK_FALSE(setup(s, small.format, 80, 25));
    Screen shallow(800, 399, 800);
    CHECK_FALSE(setup(s, shallow.format, 80, 25));
    Screen sixteen_bit(640, 400, 640);
    sixteen_bit.format.bpp = 16;
    CHECK_FALSE(setup(s, sixteen_bit.format, 80, 25));
    Screen none(640, 400, 640);
    none.format.address = 0;
    CHECK_FALSE(setup(s, none.format, 80, 25));
}

TEST_CASE("a cell is its glyph in the attribute's colours, scaled; the cursor underlines it", "[io]")
{
    Screen screen(1280 + 32, 800, 1344);  // wider than the grid, with a pitch beyond the width
    Surface s;
    REQUIRE(setup(s, screen.format, 80, 25));
    REQUIRE(s.scale == 2);
    REQUIRE(s.origin_x == 16);
    clear(s);
    CHECK(screen.at(0, 0) == 0);
    CHECK(screen.at(1343, 799) == 0x12345678);  // beyond the width: padding, untouched

    draw_cell(s, 2, 3, test_glyph, 0x1E);  // yellow on blue
    const u32 x0 = 16 + 3 * 16, y0 = 2 * 32;
    for (u32 gy = 0; gy < cell_height; ++gy) {
        for (u32 gx = 0; gx < cell_width; ++gx) {
            bool set = test_glyph[gy] & (0x80 >> gx);
            u32 want = set ? 0xFFFF55 : 0x0000AA;
            for (u32 sy = 0; sy < 2; ++sy)
                for (u32 sx = 0; sx < 2; ++sx) {
                    INFO("glyph pixel " << gx << "," << gy);
                    REQUIRE(screen.at(x0 + 2 * gx + sx, y0 + 2 * gy + sy) == want);
                }
        }
    }
    CHECK(screen.at(x0 - 1, y0) == 0);       // the cell to the left: still clear
    CHECK(screen.at(x0 + 16, y0) == 0);      // the cell to the right
    CHECK(screen.at(x0, y0 + 32) == 0);      // the cell below

    draw_cursor(s, 2, 3, 0x1E);
    for (u32 x = x0; x < x0 + 16; ++x) {
        CHECK(screen.at(x, y0 + 28) == 0xFFFF55);  // pixel rows 14 and 15 of the cell
        CHECK(screen.at(x, y0 + 31) == 0xFFFF55);
    }
    CHECK(screen.at(x0 + 2, y0 + 27) == 0x0000AA);  // row 13 untouched by the cursor
}
