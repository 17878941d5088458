#!/usr/bin/python3
"""The framebuffer console under UEFI, read back from the screen cell by cell.

usage: tests/qemu/screen_test.py [--timeout S]

Boots an interactive image under OVMF (TCG) that first tells the greedy "Once upon a time"
story (64 steps), waits for the console's prompt, takes a QEMU `screendump` of the GOP
framebuffer, and reads the 80x25 text grid back: the grid's place and scale follow the
kernel's rule (kernel_lib/io/framebuffer.h: the largest whole scale of 8x16 cells that fits,
centred), and every cell is compared pixel for pixel with the glyphs of the console font,
read from the PSF file itself (scripts/make-font's reader). It checks that

  - every cell is a glyph of the font in one foreground and one background colour (the
    cell under the cursor is the glyph with its two bottom rows drawn over);
  - the status row reads " BareFlow | stories260K.bin ..." in black on cyan;
  - a row holds the story's first line, the first 80 characters of
    ../shared/reference/260K-greedy-once.txt, the prompt part in yellow, the rest in white;

then types /quit and expects exit status 0. The picture stays in
build/tests/qemu/screen-uefi.ppm, the serial log in build/tests/qemu/screen-uefi.log.
"""
import argparse
import importlib.machinery
import importlib.util
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build", "tests", "qemu")
REFERENCE_DIR = os.environ.get("BAREFLOW_REFERENCE_DIR") or os.path.join(ROOT, "..", "shared", "reference")
COLUMNS, ROWS, CELL_W, CELL_H = 80, 25, 8, 16
PROMPT = "Once upon a time"
YELLOW, WHITE, BLACK, CYAN = (0xFF, 0xFF, 0x55), (0xFF, 0xFF, 0xFF), (0, 0, 0), (0x00, 0xAA, 0xAA)


class Failure(Exception):
    pass


def font_glyphs():
    """{glyph rows (16 bytes): character} for the printable ASCII characters, from the PSF."""
    path = os.path.join(ROOT, "scripts", "make-font")
    loader = importlib.machinery.SourceFileLoader("make_font", path)
    spec = importlib.util.spec_from_loader("make_font", loader)
    make_font = importlib.util.module_from_spec(spec)
    loader.exec_module(make_font)
    _, _, glyphs, unicode = make_font.read_psf(make_font.DEFAULT_PSF)
    table = {}
    for code in range(0x20, 0x7F):
        table.setdefault(bytes(glyphs[unicode[code]]), chr(code))
    return table


def read_ppm(path):
    """(width, height, rgb bytes) of a binary PPM (P6, maxval 255), as QEMU writes them."""
    with open(path, "rb") as f:
        data = f.read()
    fields, at = [], 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        start = at
        while not data[at:at + 1].isspace():
            at += 1
        fields.append(data[start:at])
    if fields[0] != b"P6" or int(fields[3]) != 255:
        raise Failure(f"{path} is not an 8-bit P6 picture")
    return int(fields[1]), int(fields[2]), data[at + 1:]


def read_grid(path, glyphs):
    """The text grid: rows of (character, foreground, background), character None when the
    cell is no glyph of the font."""
    width, height, rgb = read_ppm(path)
    scale = min(width // (COLUMNS * CELL_W), height // (ROWS * CELL_H))
    if scale < 1:
        raise Failure(f"the screen is {width}x{height}, too small for {COLUMNS}x{ROWS} cells")
    ox, oy = (width - COLUMNS * CELL_W * scale) // 2, (height - ROWS * CELL_H * scale) // 2

    def pixel(x, y):
        i = 3 * (y * width + x)
        return tuple(rgb[i:i + 3])

    grid = []
    for r in range(ROWS):
        row = []
        for c in range(COLUMNS):
            x0, y0 = ox + c * CELL_W * scale, oy + r * CELL_H * scale
            cell = [[pixel(x0 + gx * scale + sx, y0 + gy * scale + sy) for gx in range(CELL_W)
                     for sx in range(scale)] for gy in range(CELL_H) for sy in range(scale)]
            row.append(decode_cell(cell, scale, glyphs))
        grid.append(row)
    return grid


def decode_cell(cell, scale, glyphs):
    """(character, foreground, background) of one cell's pixels, or (None, colours...)."""
    colours = sorted({p for line in cell for p in line})
    if len(colours) == 1:
        return " ", None, colours[0]
    if len(colours) != 2:
        return None, None, None
    if any(cell[y][x] != cell[y - y % scale][x - x % scale] for y in range(len(cell)) for x in range(len(cell[0]))):
        return None, None, None  # not whole scale x scale blocks
    for fg, bg in ((colours[0], colours[1]), (colours[1], colours[0])):
        rows = bytes(sum(0x80 >> gx for gx in range(CELL_W) if cell[gy * scale][gx * scale] == fg)
                     for gy in range(CELL_H))
        if rows in glyphs:
            return glyphs[rows], fg, bg
        # The cursor: a glyph whose two bottom pixel rows are drawn over in the foreground.
        if rows[-2:] == b"\xff\xff":
            for glyph, char in glyphs.items():
                if glyph[:-2] == rows[:-2]:
                    return char, fg, bg
    return None, None, None


def check_screen(path, story):
    grid = read_grid(path, font_glyphs())
    bad = [(r, c) for r in range(ROWS) for c in range(COLUMNS) if grid[r][c][0] is None]
    if bad:
        raise Failure(f"{len(bad)} cells are no glyph of the font, the first at row {bad[0][0]}, column {bad[0][1]}")
    text = ["".join(cell[0] for cell in row) for row in grid]
    status = grid[0]
    if not text[0].startswith(" BareFlow | stories260K.bin") or any(cell[2] != CYAN for cell in status):
        raise Failure(f"the status row is {text[0]!r}, expected ' BareFlow | stories260K.bin ...' on cyan")
    first_line = story[:COLUMNS]
    if first_line not in text:
        raise Failure(f"no row holds the story's first line {first_line!r}; the screen:\n" +
                      "\n".join("       | " + line for line in text))
    row = grid[text.index(first_line)]
    colours = [cell[1] for cell in row if cell[0] != " "]
    prompt_letters = len(PROMPT.replace(" ", ""))
    if any(c != YELLOW for c in colours[:prompt_letters]) or any(c != WHITE for c in colours[prompt_letters:]):
        raise Failure("the story's first line is not yellow (prompt) then white (story)")
    return text


def wait_for(path, first, then, deadline, process):
    """Waits until the log holds `first` and, after it, `then`."""
    while time.monotonic() < deadline:
        data = open(path, "rb").read() if os.path.exists(path) else b""
        if first in data and then in data[data.index(first):]:
            return
        if process.poll() is not None:
            raise Failure(f"QEMU exited ({process.returncode}) before {then!r} appeared")
        time.sleep(0.5)
    raise Failure(f"timed out waiting for {then!r} after {first!r}")


def monitor(sock_path, command):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock_path)
        s.settimeout(10)
        s.recv(4096)  # the greeting
        s.sendall(command.encode() + b"\n")
        time.sleep(1.0)


def run(timeout):
    os.makedirs(OUT, exist_ok=True)
    image, log = os.path.join(OUT, "screen-uefi.img"), os.path.join(OUT, "screen-uefi.log")
    picture, sock = os.path.join(OUT, "screen-uefi.ppm"), os.path.join(OUT, "screen-uefi.sock")
    built = subprocess.run([os.path.join(ROOT, "scripts", "mkimage"), "-q", "-o", image, "--mode", "interactive",
                            "--model", "stories260K.bin", "--prompt", PROMPT, "--steps", "64", "--temp", "0"],
                           cwd=ROOT, capture_output=True, text=True)
    if built.returncode != 0:
        raise Failure(f"mkimage failed ({built.returncode}): {built.stderr.strip()}")
    for stale in (picture, sock, log):
        if os.path.exists(stale):
            os.remove(stale)
    process = subprocess.Popen([os.path.join(ROOT, "scripts", "run-qemu"), "--firmware", "uefi", "--accel", "tcg",
                                "--timeout", str(timeout), "--serial-stdin", "--monitor", sock, "--log", log, image],
                               cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        wait_for(log, b"@stats", b"bareflow>", deadline, process)  # the prompt after the story
        time.sleep(1.0)  # the cursor is drawn once the console waits for keys
        monitor(sock, f"screendump {picture}")
        if not os.path.exists(picture):
            raise Failure("QEMU wrote no screendump")
        with open(os.path.join(REFERENCE_DIR, "260K-greedy-once.txt"), encoding="utf-8") as f:
            text = check_screen(picture, f.read())
        process.stdin.write(b"/quit\n")
        process.stdin.flush()
        status = process.wait(60)
        if status != 0:
            raise Failure(f"exit status {status} after /quit, expected 0")
        return text
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=int, default=180)
    args = parser.parse_args()
    started = time.time()
    try:
        run(args.timeout)
    except (Failure, OSError, subprocess.TimeoutExpired) as e:
        print(f"FAIL screen (UEFI framebuffer) [tcg] {time.time() - started:.1f}s\n     {e}\n"
              f"     picture: build/tests/qemu/screen-uefi.ppm, log: build/tests/qemu/screen-uefi.log")
        print("screen tests: 0 passed, 1 failed")
        return 1
    print(f"PASS screen (UEFI framebuffer) [tcg] {time.time() - started:.1f}s\n     80x25 cells read back as "
          f"glyphs of the font; the status row and the story's first line as expected")
    print("screen tests: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
