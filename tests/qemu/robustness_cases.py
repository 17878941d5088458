"""QEMU robustness cases: damaged or mismatched inputs end in one clean @error, never a fault.

Every case boots `--mode generate` with one bad input that mkimage lets through
(`--no-check`, or `--raw-settings` for settings mkimage would refuse) and expects exactly
one `@error` with the right code, `@exit N` with that code's number, and no CPU exception
report (cases.expect_error). The bad files are made by each case's prepare() hook into
build/tests/qemu/ from the shared models, never committed. run-tests picks these up
through cases.all_cases(), which appends robustness_cases().
"""
import os
import random
import struct

from cases import ROOT, Case, expect_error, expect_success

OUT = os.path.join(ROOT, "build", "tests", "qemu")


def find_model(name):
    """The shared model file `name`, looked up as mkimage does, then in ../shared/models."""
    dirs = [os.path.join(ROOT, "models")] + [d for d in os.environ.get("BAREFLOW_MODEL_PATH", "").split(":") if d]
    dirs.append(os.path.join(ROOT, "..", "shared", "models"))
    for d in dirs:
        path = os.path.join(d, name)
        if os.path.isfile(path):
            return path
    return None


def read_model(name):
    path = find_model(name)
    if path is None:
        raise FileNotFoundError(f"{name} not found in ./models, $BAREFLOW_MODEL_PATH or ../shared/models")
    with open(path, "rb") as f:
        return f.read()


def made(file_name):
    return os.path.join(OUT, file_name)


def preparing(file_name, make):
    """A prepare hook that writes make() (the file's bytes) to build/tests/qemu/file_name."""
    def prepare(root, out):
        try:
            data = make()
        except (OSError, ValueError) as e:
            return str(e)
        os.makedirs(OUT, exist_ok=True)
        with open(made(file_name), "wb") as f:
            f.write(data)
        return None
    return prepare


# ---- the bad inputs ----------------------------------------------------------------------
def garbage_model():
    # Fixed seed: the same 64 KiB every run; no Q8 magic, so it is read as an fp32 header.
    rng = random.Random(20240601)
    return bytes(rng.getrandbits(8) for _ in range(65536))


def truncated_model():
    data = read_model("stories260K.bin")
    return data[:len(data) // 2]


def with_header_fields(**fields):
    """stories260K.bin with some of its seven config ints replaced."""
    def make():
        data = bytearray(read_model("stories260K.bin"))
        names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"]
        for name, value in fields.items():
            struct.pack_into("<i", data, 4 * names.index(name), value)
        return bytes(data)
    return make


def long_context_model():
    """stories260K with seq_len 2^18 and RoPE tables to match: a valid file (9.4 MB) whose
    KV cache (335 MB) cannot fit a 256 MiB machine: the engine shortens the context."""
    data = read_model("stories260K.bin")
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack_from("<7i", data)
    rope_bytes = seq_len * (dim // heads) * 4
    body = data[28:len(data) - rope_bytes]
    long_seq = 1 << 18
    return (struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab, long_seq) + body
            + bytes(long_seq * (dim // heads) * 4))


def q8_bad_version():
    data = bytearray(read_model("stories260K-q8.bin"))
    struct.pack_into("<i", data, 4, 3)
    return bytes(data)


def truncated_tokenizer():
    """tok512.bin cut 4 bytes into the 8-byte header of token 300."""
    data = read_model("tok512.bin")
    offset = 4
    for _ in range(300):
        (length,) = struct.unpack_from("<i", data, offset + 4)
        offset += 8 + length
    return data[:offset + 4]


def raw_settings(text):
    return lambda: text.encode()


def settings_case(name, text, code, status, pattern):
    file_name = f"{name}.settings"
    return Case(name, ["--no-check", "--raw-settings", made(file_name), "--model", "stories260K.bin",
                       "--tokenizer", "tok512.bin"],
                expect_error(code, status, pattern), accels=("tcg",), prepare=preparing(file_name, raw_settings(text)))


def model_case(name, file_name, make, code, status, pattern):
    return Case(name, ["--mode", "generate", "--no-check", "--model", made(file_name), "--tokenizer", "tok512.bin"],
                expect_error(code, status, pattern), accels=("tcg",), prepare=preparing(file_name, make))


def tokenizer_case(name, file_name, make, code, status, pattern):
    return Case(name, ["--mode", "generate", "--no-check", "--model", "stories260K.bin", "--tokenizer", made(file_name)],
                expect_error(code, status, pattern), accels=("tcg",), prepare=preparing(file_name, make))


def long_prompt():
    # 600 distinct numbers: far more than stories260K's 512-token context in any encoding.
    return " ".join(str(n) for n in range(1000, 1600))


def robustness_cases():
    return [
        model_case("robust-model-garbage", "robust-garbage.bin", garbage_model, "model.header", 30,
                   r"model header: \S.* is -?\d+, expected 1\.\.\d+ \(is this a llama2\.c checkpoint\?\)"),
        model_case("robust-model-truncated", "robust-truncated.bin", truncated_model, "model.size", 31,
                   r"model file is 528270 bytes, but its fp32 header .* implies 1056540 bytes \(truncated\?\)"),
        model_case("robust-model-dims", "robust-dims.bin", with_header_fields(n_heads=7), "model.dims", 32,
                   r"dim 64 is not a multiple of n_heads 7"),
        model_case("robust-model-kv-heads", "robust-kv-heads.bin", with_header_fields(n_kv_heads=3), "model.dims", 32,
                   r"n_kv_heads is 3, expected a divisor of n_heads 8"),
        model_case("robust-model-q8-version", "robust-q8-version.bin", q8_bad_version, "model.q8_header", 33,
                   r"Q8 model header: version is 3, expected 2"),
        Case("robust-tokenizer-foreign", ["--mode", "generate", "--no-check", "--model", "stories260K.bin",
                                          "--tokenizer", "tokenizer.bin"],
             expect_error("tokenizer.mismatch", 42, r"belongs to a model with a larger vocabulary"), accels=("tcg",)),
        # A context whose KV cache does not fit is shortened to what fits, and said so.
        Case("robust-model-kv-cache-too-big", ["--mode", "generate", "--no-check", "--model",
                                               made("robust-long-context.bin"), "--tokenizer", "tok512.bin"],
             expect_success(r"^context: the model's 262144 positions do not fit the free memory; using \d+ ",
                            r"seq_len \d+; fp32", r"^@exit 0$", stats_keys=("generated_tokens",)),
             accels=("tcg",), qemu_args=["--mem", "256M"], prepare=preparing("robust-long-context.bin", long_context_model)),
        tokenizer_case("robust-tokenizer-truncated", "robust-tok512-truncated.bin", truncated_tokenizer,
                       "tokenizer.truncated", 41, r"tokenizer file ends inside the header of token 300"),
        Case("robust-prompt-too-long", ["--mode", "generate", "--model", "stories260K.bin", "--prompt", long_prompt()],
             expect_error("prompt.too_long", 43, r"the prompt is \d+ tokens, but the model's context \(seq_len\) is 512"),
             accels=("tcg",)),
        settings_case("robust-settings-unknown-key", "mode=generate\nfrobnicate=1\n", "settings.unknown_key", 50,
                      r"settings line 2: unknown key 'frobnicate'"),
        settings_case("robust-settings-bad-value", "mode=generate\nsteps=99999999\n", "settings.bad_value", 51,
                      r"settings line 2: steps=99999999 is invalid"),
        settings_case("robust-settings-hex-float", "mode=generate\ntemp=0x1p-1\n", "settings.bad_value", 51,
                      r"settings line 2: temp=0x1p-1 is invalid"),
        settings_case("robust-settings-syntax", "mode=generate\nthis line has no equals sign\n", "settings.syntax", 52,
                      r"settings line 2 has no '='"),
    ]
