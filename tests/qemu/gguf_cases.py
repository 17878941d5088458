"""QEMU cases for GGUF models (the GGUF issue's tests).

- A small random GGUF per family (Q4_K_M mix, Q4_0, Q8_0, F16; gen-model's tinyllama-mini
  shape) tells exactly the text the host tool tells with the reference kernels.
- stories260K converted to an F32 GGUF (tokenizer inside) tells the reference story.
- Bad files, each made from a good one by one change (bad version, truncated, a huge count,
  an offset outside the file or unaligned, an unknown type, a missing tensor, a wrong shape),
  end in one @error with the reader's code and a non-zero exit; mkimage is told not to check
  (`--no-check`), since it validates a GGUF with the same reader.

The files are made by prepare() hooks into build/tests/qemu/, never committed.
"""
import os
import struct
import subprocess

from cases import ROOT, Case, expect_error, expect_story, same_text_as_host

OUT = os.path.join(ROOT, "build", "tests", "qemu")
BASE = "stories260K-f32.gguf"  # the good file the bad ones start from


def convert_stories260k(root, out):
    """build/tests/qemu/stories260K-f32.gguf from the shared stories260K.bin + tok512.bin."""
    path = os.path.join(out, BASE)
    if os.path.exists(path):
        return None
    partial = f"{path}.{os.getpid()}.partial"
    result = subprocess.run([os.path.join(root, "scripts", "gen-model"), "--from", "stories260K.bin", "--tokenizer",
                             "tok512.bin", "--gguf", "--type", "f32", partial], capture_output=True, text=True)
    if result.returncode != 0:
        return result.stderr.strip()
    os.replace(partial, path)
    return None


# ---- where things are in a GGUF file -----------------------------------------------------
SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9


class Layout:
    """Byte positions of a GGUF v2/v3 file's header fields and tensor infos."""

    def __init__(self, data):
        self.data = data
        self.tensor_count_at, self.kv_count_at = 8, 16
        tensor_count, kv_count = struct.unpack_from("<QQ", data, 8)
        pos = 24
        for _ in range(kv_count):
            pos = self.skip_string(pos)
            (kind,) = struct.unpack_from("<I", data, pos)
            pos = self.skip_value(pos + 4, kind)
        self.tensors = {}  # name -> (position of its name, of n_dims, of dims, of type, of offset)
        for _ in range(tensor_count):
            name_at = pos
            (length,) = struct.unpack_from("<Q", data, pos)
            name = data[pos + 8:pos + 8 + length].decode()
            pos += 8 + length
            (dims,) = struct.unpack_from("<I", data, pos)
            type_at = pos + 4 + 8 * dims
            self.tensors[name] = dict(name=name_at, dims=pos + 4, type=type_at, offset=type_at + 4)
            pos = type_at + 12
        self.infos_end = pos

    def skip_string(self, pos):
        (length,) = struct.unpack_from("<Q", self.data, pos)
        return pos + 8 + length

    def skip_value(self, pos, kind):
        if kind == STRING:
            return self.skip_string(pos)
        if kind == ARRAY:
            element, count = struct.unpack_from("<IQ", self.data, pos)
            pos += 12
            if element != STRING:
                return pos + SCALAR_SIZES[element] * count
            for _ in range(count):
                pos = self.skip_string(pos)
            return pos
        return pos + SCALAR_SIZES[kind]


def changed(edit):
    """A maker: the base file with edit(bytearray, Layout) applied."""
    def make():
        with open(os.path.join(OUT, BASE), "rb") as f:
            data = bytearray(f.read())
        edit(data, Layout(bytes(data)))
        return bytes(data)
    return make


def put(fmt, field, value, tensor=None):
    """Sets a header field ("tensor_count_at", ...) or a tensor info's field ("type", ...)."""
    def edit(data, layout):
        at = layout.tensors[tensor][field] if tensor else getattr(layout, field)
        struct.pack_into(fmt, data, at, value)
    return edit


def set_version(version):
    return lambda data, layout: struct.pack_into("<I", data, 4, version)


def truncate_in_infos(data, layout):
    del data[layout.infos_end - 20:]


def rename(tensor, new_name):
    def edit(data, layout):
        at = layout.tensors[tensor]["name"] + 8
        assert len(new_name) == len(tensor)
        data[at:at + len(tensor)] = new_name.encode()
    return edit


def bad_file_case(name, edit, code, status, pattern):
    file_name = f"{name}.gguf"

    def prepare(root, out):
        problem = convert_stories260k(root, out)
        if problem:
            return problem
        with open(os.path.join(out, file_name), "wb") as f:
            f.write(changed(edit)())
        return None

    return Case(name, ["--mode", "generate", "--no-check", "--model", os.path.join(OUT, file_name)],
                expect_error(code, status, pattern), accels=("tcg",), prepare=prepare)


def gguf_cases():
    # Under KVM the kernel runs the host's AVX-512 kernels (TCG: AVX2); Q4_K_M's mix takes the
    # most generated code (the K formats' grid and lanes, Q8_K's quantizer).
    same_text = [same_text_as_host(f"gguf-{kind}-same-as-host", "tinyllama-mini", False, 200, "0.8", 3, gguf=kind,
                                   qemu_args=["--smp", "2"], accels=("tcg", "kvm") if kind == "q4_k_m" else ("tcg",))
                 for kind in ("q4_k_m", "q4_0", "q8_0", "f16")]
    story = Case("story-260K-gguf-f32-greedy-once", ["--mode", "generate", "--model", os.path.join(OUT, BASE),
                                                     "--prompt", "Once upon a time", "--steps", "256", "--temp", "0"],
                 expect_story("260K-greedy-once.txt"), accels=("tcg",), prepare=convert_stories260k)
    # The same file through the UEFI loader (OVMF): a GGUF payload takes the same path there.
    uefi_story = Case("uefi-story-260K-gguf-f32-greedy-once", story.image_args, expect_story("260K-greedy-once.txt"),
                      accels=("tcg",), prepare=convert_stories260k, qemu_args=["--firmware", "uefi"])
    q = "blk.0.attn_q.weight"
    bad = [
        bad_file_case("gguf-bad-version", set_version(1), "gguf.header", 34, r"version 1"),
        bad_file_case("gguf-truncated", truncate_in_infos, "gguf.truncated", 35, r"the file ends inside"),
        bad_file_case("gguf-huge-tensor-count", put("<Q", "tensor_count_at", 1 << 60), "gguf.header", 34,
                      r"tensor infos cannot fit in the \d+ bytes"),
        bad_file_case("gguf-offset-outside", put("<Q", "offset", 1 << 40, tensor=q), "gguf.tensor", 37,
                      r"blk\.0\.attn_q\.weight: 16384 bytes at offset 0x10000000000 end outside the data section"),
        bad_file_case("gguf-offset-unaligned", put("<Q", "offset", 4, tensor=q), "gguf.tensor", 37,
                      r"blk\.0\.attn_q\.weight: offset 0x4 is not aligned to 32"),
        bad_file_case("gguf-unknown-type", put("<I", "type", 99, tensor=q), "gguf.tensor", 37,
                      r"blk\.0\.attn_q\.weight: ggml type 99 \(unknown\) is not supported"),
        bad_file_case("gguf-missing-tensor", rename(q, "blk.0.attn_x.weight"), "gguf.model", 38,
                      r"tensor blk\.0\.attn_q\.weight is missing"),
        bad_file_case("gguf-wrong-shape", put("<Q", "dims", 32, tensor=q), "gguf.model", 38,
                      r"blk\.0\.attn_q\.weight: shape \[32, 64, 1, 1\], expected \[64, 64\]"),
    ]
    return same_text + [story, uefi_story] + bad
