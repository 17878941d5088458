"""The QEMU boot test cases (run by tests/qemu/run-tests).

A case names the mkimage options, the QEMU options, the accelerators, and a check of the
exit status and the serial log. Checks return a list of problems (empty = pass).
"""
import json
import os
import re
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE_DIR = os.environ.get("BAREFLOW_REFERENCE_DIR") or os.path.join(ROOT, "..", "shared", "reference")


class Case:
    def __init__(self, name, image_args, check, accels=("tcg", "kvm"), qemu_args=(), timeout=120,
                 prepare=None, corrupt=None, expect_mkimage_failure=None, inspect=None, cleanup=()):
        self.name = name
        self.image_args = list(image_args)
        self.check = check
        self.accels = accels
        self.qemu_args = list(qemu_args)
        self.timeout = timeout
        self.prepare = prepare
        self.corrupt = corrupt
        self.expect_mkimage_failure = expect_mkimage_failure
        self.inspect = inspect  # image -> list of problems, checked before booting
        self.cleanup = list(cleanup)  # files (relative to build/tests/qemu) removed once built into the image


def at_lines(serial, tag):
    """The JSON objects of every `@tag {...}` line."""
    found = []
    for line in serial.splitlines():
        if line.startswith("@" + tag + " "):
            try:
                found.append(json.loads(line[len(tag) + 2:]))
            except json.JSONDecodeError as e:
                found.append({"_unparsable": line, "_error": str(e)})
    return found


def common_problems(serial):
    problems = []
    if "CPU exception" in serial:
        problems.append("a CPU exception report was printed")
    for obj in at_lines(serial, "stats") + at_lines(serial, "error") + at_lines(serial, "profile"):
        if "_unparsable" in obj:
            problems.append(f"unparsable @ line: {obj['_unparsable']!r} ({obj['_error']})")
    return problems


def expect_success(*patterns, stats_keys=()):
    def check(status, serial, accel):
        problems = common_problems(serial)
        if status != 0:
            problems.append(f"exit status {status}, expected 0")
        if at_lines(serial, "error"):
            problems.append(f"unexpected @error: {at_lines(serial, 'error')}")
        for p in patterns:
            if not re.search(p, serial, re.M):
                problems.append(f"serial output lacks /{p}/")
        stats = at_lines(serial, "stats")
        if stats_keys:
            if not stats:
                problems.append("no @stats line")
            else:
                missing = [k for k in stats_keys if k not in stats[-1]]
                if missing:
                    problems.append(f"@stats lacks {missing}")
        return problems
    return check


def host_best_isa():
    """The best ISA this machine's CPU offers (what `-cpu host` passes on to a KVM guest)."""
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    if "avx512f" in flags:
        return "avx512"
    return "avx2" if "avx2" in flags and "fma" in flags else "sse2"


def expect_best_isa(check_success):
    """check_success, and the kernel uses the best ISA its CPU has: the host's under KVM,
    AVX2 under TCG's `-cpu max` (a kernel that settles for less runs every kernel slower)."""
    def check(status, serial, accel):
        problems = check_success(status, serial, accel)
        stats = at_lines(serial, "stats")
        expected = host_best_isa() if accel == "kvm" else "avx2"
        if stats and stats[-1].get("isa") != expected:
            problems.append(f"the kernel runs {stats[-1].get('isa')}, expected {expected} ({accel})")
        return problems
    return check


def expect_error(code, status, *patterns):
    """A clean failure: one @error with `code`, `@exit status`, no CPU exception."""
    def check(actual_status, serial, accel):
        problems = common_problems(serial)
        errors = at_lines(serial, "error")
        if actual_status != status:
            problems.append(f"exit status {actual_status}, expected {status}")
        if len(errors) != 1 or errors[0].get("code") != code:
            problems.append(f"expected one @error with code {code}, got {errors}")
        for p in patterns:
            if not re.search(p, serial, re.M):
                problems.append(f"serial output lacks /{p}/")
        return problems
    return check


def expect_fault_report(status, *patterns):
    """A deliberate unguarded CPU exception: the full report, then cpu.exception."""
    def check(actual_status, serial, accel):
        problems = []
        errors = at_lines(serial, "error")
        if actual_status != status:
            problems.append(f"exit status {actual_status}, expected {status}")
        if len(errors) != 1 or errors[0].get("code") != "cpu.exception":
            problems.append(f"expected one @error cpu.exception, got {errors}")
        for p in patterns:
            if not re.search(p, serial, re.M):
                problems.append(f"serial output lacks /{p}/")
        return problems
    return check


def text_between_markers(serial):
    begin, end = "@text-begin\n", "\n@text-end\n"
    if begin not in serial or "@text-end" not in serial:
        return None
    start = serial.index(begin) + len(begin)
    stop = serial.index("@text-end\n", start)
    return serial[start:stop]


# The one-line summary people read after a story, on the screen and the serial port.
SUMMARY_LINE = r"^\d+ tokens, [\d.]+ tok/s, first token after [\d.]+ ms"


def expect_story(reference_file):
    """Generate mode: the text between the markers is the reference file, byte for byte,
    with the @stats line and the summary line."""
    def check(status, serial, accel):
        problems = expect_success(r"^@exit 0$", SUMMARY_LINE,
                                  stats_keys=("prompt_tokens", "generated_tokens", "ttft_ms", "tok_per_s", "model",
                                              "cpu", "isa", "cores", "tuning_ms", "jit_setup_ms"))(
            status, serial, accel)
        with open(os.path.join(REFERENCE_DIR, reference_file), encoding="utf-8") as f:
            reference = f.read()
        text = text_between_markers(serial)
        if text is None:
            problems.append("no @text-begin/@text-end block")
        elif text != reference:
            common = next((i for i, (a, b) in enumerate(zip(text, reference)) if a != b), min(len(text), len(reference)))
            problems.append(f"text differs from {reference_file} at byte {common}: "
                            f"got {text[common:common + 40]!r}, expected {reference[common:common + 40]!r}")
        return problems
    return check


def story(name, model, reference, prompt, steps, temp, topp, seed, accels=("tcg",)):
    args = ["--mode", "generate", "--model", model, "--steps", str(steps), "--temp", temp, "--topp", topp,
            "--seed", str(seed)]
    if prompt:
        args += ["--prompt", prompt]
    return Case(name, args, expect_story(reference), accels=accels)


def directory_lba(image):
    with open(image, "rb") as f:
        mbr = f.read(512)
    stage2_sectors = int.from_bytes(mbr[0x1AA:0x1AC], "little")
    return 1 + stage2_sectors


def payload_location(image, name):
    """(offset, size) of a payload in the image, from its directory."""
    with open(image, "rb") as f:
        f.seek(directory_lba(image) * 512)
        directory = f.read(512)
    count = int.from_bytes(directory[12:16], "little")
    for i in range(count):
        entry = directory[32 + 40 * i: 72 + 40 * i]
        if entry[:16].rstrip(b"\0").decode() == name:
            return int.from_bytes(entry[16:24], "little") * 512, int.from_bytes(entry[24:32], "little")
    raise KeyError(name)


def flip_byte(offset_of):
    def corrupt(image):
        offset = offset_of(image)
        with open(image, "r+b") as f:
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0x5A]))
    return corrupt


def truncate_inside(name):
    def corrupt(image):
        offset, size = payload_location(image, name)
        with open(image, "r+b") as f:
            f.truncate(offset + size // 2 // 512 * 512)
    return corrupt


def partition_entries(image):
    """The MBR's four partition entries as (boot flag, type, first sector, sector count)."""
    with open(image, "rb") as f:
        mbr = f.read(512)
    return [(e[0], e[4], int.from_bytes(e[8:12], "little"), int.from_bytes(e[12:16], "little"))
            for e in (mbr[0x1BE + 16 * i: 0x1CE + 16 * i] for i in range(4))]


def check_esp(image, first, count):
    """The EFI system partition: a clean FAT file system (fsck.fat -n) holding the loader."""
    import shutil
    import subprocess
    import tempfile
    problems = []
    listing = subprocess.run(["mdir", "-b", "-i", f"{image}@@{first * 512}", "::/EFI/BOOT"], capture_output=True,
                             text=True)
    if listing.returncode != 0 or "BOOTX64.EFI" not in listing.stdout.upper():
        problems.append(f"mdir finds no /EFI/BOOT/BOOTX64.EFI on the ESP: {listing.stdout.strip()} "
                        f"{listing.stderr.strip()}")
    with tempfile.NamedTemporaryFile(suffix=".esp") as part, open(image, "rb") as f:
        f.seek(first * 512)
        part.write(f.read(count * 512))
        part.flush()
        fsck_fat = shutil.which("fsck.fat") or "/usr/sbin/fsck.fat"
        fsck = subprocess.run([fsck_fat, "-n", part.name], capture_output=True, text=True)
        if fsck.returncode != 0:
            problems.append(f"fsck.fat -n on the ESP: {fsck.stdout.strip()} {fsck.stderr.strip()}")
    return problems


def inspect_mbr(image):
    """The MBR: boot signature, slots, the active payload partition (type 0xda) from the
    directory to the last payload, and the EFI system partition (type 0xef) after it on a
    1 MiB boundary up to the end of the image, clean and holding the UEFI loader."""
    problems = []
    with open(image, "rb") as f:
        mbr = f.read(512)
        f.seek(0, 2)
        image_sectors = f.tell() // 512
    if mbr[510:512] != b"\x55\xaa":
        problems.append("no 55 AA boot signature")
    if mbr[0x1A4:0x1A8] != b"BFS1":
        problems.append("no BFS1 slot marker")
    entries = partition_entries(image)
    if [e[:2] for e in entries] != [(0x80, 0xDA), (0, 0xEF), (0, 0), (0, 0)]:
        problems.append(f"expected an active 0xda partition, an 0xef one and two empty entries, got {entries}")
        return problems
    (_, _, start, count), (_, _, esp_start, esp_count) = entries[:2]
    with open(image, "rb") as f:
        f.seek(directory_lba(image) * 512)
        payload_end = int.from_bytes(f.read(512)[20:24], "little")
    if start != directory_lba(image) or start + count != payload_end:
        problems.append(f"the payload partition covers sectors {start}..{start + count}, expected "
                        f"{directory_lba(image)}..{payload_end} (directory to the last payload)")
    if esp_start % 2048 or esp_start < payload_end or esp_start + esp_count != image_sectors:
        problems.append(f"the ESP covers sectors {esp_start}..{esp_start + esp_count}, expected a 1 MiB boundary "
                        f"after {payload_end} up to the image's end {image_sectors}")
    return problems + check_esp(image, esp_start, esp_count)


def generated_model(shape, q8, name, gguf=None):
    """A prepare() hook writing a random-weight checkpoint with scripts/gen-model (a GGUF of
    type `gguf` when given)."""
    def prepare(root, out):
        import subprocess
        path = os.path.join(out, name)
        if os.path.exists(path):
            return None
        # Written under a temporary name and renamed: cases preparing in parallel may share it.
        partial = f"{path}.{os.getpid()}.{threading.get_ident()}.partial"
        kind = ["--gguf", "--type", gguf] if gguf else (["--q8"] if q8 else [])
        args = [os.path.join(root, "scripts", "gen-model"), "--shape", shape] + kind + [partial]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            return result.stderr.strip()
        os.replace(partial, path)
        return None
    return prepare


# A prompt long enough for a prefill block (16 tokens) and a few single tokens after it.
LONG_PROMPT = ("Once upon a time, there was a little girl named Lily. She loved to play outside in the park "
               "with her friends.")


def same_text_as_host(name, shape, q8, steps, temp, seed, accels=("tcg",), qemu_args=(), settings=(), gguf=None):
    """The kernel (JIT, prefill blocks, every core it has) must print exactly the text the
    host tool prints for the same random-weight model with the reference kernels on one
    thread: the summation order of every kernel, split or not, is fixed. With `gguf`, the
    model is a GGUF of that type, which carries its tokenizer."""
    model = f"{shape}-{gguf}.gguf" if gguf else shape + ("-q8" if q8 else "") + ".bin"
    expected = name + ".expected"
    tokenizer = [] if gguf else ["-z", "tokenizer.bin"]
    options = tokenizer + ["-t", temp, "-s", str(seed), "-n", str(steps), "-i", LONG_PROMPT]

    def prepare(root, out):
        import subprocess
        problem = generated_model(shape, q8, model, gguf)(root, out)
        if problem:
            return problem
        host = [os.path.join(root, "build", "host", "bareflow-host"), os.path.join(out, model), "--jit", "off"]
        result = subprocess.run(host + options, capture_output=True, text=True, cwd=root)
        if result.returncode != 0:
            return f"bareflow-host failed ({result.returncode}): {result.stderr.strip()[-300:]}"
        with open(os.path.join(out, expected), "w", encoding="utf-8") as f:
            f.write(result.stdout)
        return None

    def check(status, serial, accel):
        problems = expect_success(r"^@exit 0$", stats_keys=("generated_tokens", "cores"))(status, serial, accel)
        with open(os.path.join(ROOT, "build", "tests", "qemu", expected), encoding="utf-8") as f:
            reference = f.read()
        text = text_between_markers(serial)
        if text is None:
            problems.append("no @text-begin/@text-end block")
        elif text != reference:
            common = next((i for i, (a, b) in enumerate(zip(text, reference)) if a != b),
                          min(len(text), len(reference)))
            problems.append(f"text differs from the host tool's at byte {common}: got {text[common:common + 40]!r}, "
                            f"host {reference[common:common + 40]!r}")
        cores = dict(a.split("=") for a in settings).get("cores")
        smp = next((int(a.split(",")[0]) for a in qemu_args if a[0].isdigit()), 1)
        want = int(cores) if cores else smp
        stats = at_lines(serial, "stats")
        if stats and stats[-1].get("cores") != want:
            problems.append(f"@stats says {stats[-1].get('cores')} cores, expected {want}")
        return problems

    args = ["--mode", "generate", "--model", "build/tests/qemu/" + model] + (["--tokenizer", "tokenizer.bin"] if not gguf else []) + [
            "--prompt", LONG_PROMPT, "--steps", str(steps), "--temp", temp, "--seed", str(seed)]
    for setting in settings:
        args += ["--set", setting]
    return Case(name, args, check, accels=accels, qemu_args=list(qemu_args), prepare=prepare, timeout=300)


def expect_generation(min_tokens, *patterns):
    """A generated model: it must run end to end (no error, tokens produced, finite)."""
    def check(status, serial, accel):
        problems = expect_success(r"^@exit 0$", *patterns, stats_keys=("generated_tokens", "tok_per_s"))(
            status, serial, accel)
        stats = at_lines(serial, "stats")
        if stats and stats[-1].get("generated_tokens", 0) < min_tokens:
            problems.append(f"only {stats[-1].get('generated_tokens')} tokens generated, expected {min_tokens}")
        return problems
    return check


def all_cases():
    from robustness_cases import robustness_cases  # imported here: it imports this module
    from gguf_cases import gguf_cases
    from smp_cases import smp_cases  # likewise
    from uefi_cases import uefi_cases  # likewise
    return [
        Case("selftest", ["--mode", "selftest", "--test-payload", str(20 * 1000 * 1000)],
             expect_best_isa(expect_success(r"^BareFlow stage2", r"^cpu: .+", r"^memory: \d+ MiB usable",
                                            r"^selftest load>16MiB\s+ok", r"^@exit 0$",
                                            r"^selftest tsc\s+ok", r"^selftest guard #UD\s+ok",
                                            r"^selftest guard #PF\s+ok",
                                            stats_keys=("cpu", "isa", "mem_mb", "tsc_mhz"))), inspect=inspect_mbr),
        Case("selftest-unguarded-fault", ["--mode", "selftest", "--set", "selftest_fault=on"],
             expect_fault_report(3, r"^CPU exception: #UD invalid opcode \(vector 6\)",
                                 r"RIP +0x[0-9a-f]+ <kl::selftest::run", r"^  RAX [0-9a-f]{16}",
                                 r"^backtrace \(return addresses on the stack\):", r"^  #[0-9 ]+ +0x[0-9a-f]+ <kmain")),
        # Loader failures end in a clear @error and exit status, never a hang.
        Case("boot-directory-damaged", ["--mode", "selftest"],
             expect_error("boot.directory", 14, r"payload directory checksum mismatch"),
             corrupt=flip_byte(lambda image: directory_lba(image) * 512 + 40)),
        Case("boot-image-truncated", ["--mode", "selftest"],
             expect_error("boot.disk_read", 11, r"reading sector \d+ of 'model' failed"),
             corrupt=truncate_inside("model")),
        Case("boot-memory-too-small", ["--mode", "selftest", "--test-payload", str(100 * 1000 * 1000)],
             expect_error("boot.memory", 15, r"payload testblob needs 96 MiB at \d+ MiB"),
             qemu_args=["--mem", "64M"]),
        Case("payload-byte-flipped", ["--mode", "generate"],
             expect_error("payload.checksum", 22, r"payload 'model' .* is damaged: CRC-32C 0x[0-9a-f]{8}, "
                                                  r"the directory says 0x[0-9a-f]{8}"),
             corrupt=flip_byte(lambda image: payload_location(image, "model")[0] + 1000)),
        # A byte flipped in the packed kernel (past the 4 KiB unpacker stub): the unpacker's
        # decoder and CRC-32C check must stop it before it runs (boot/unpack/).
        Case("boot-kernel-byte-flipped", ["--mode", "selftest"],
             expect_error("boot.kernel", 17, r"unpack: the packed kernel is damaged"),
             corrupt=flip_byte(lambda image: payload_location(image, "kernel")[0] + 30000), accels=("tcg",)),
        # A byte flipped in the unpacker's own LZ-compressed body (after its 496-byte entry):
        # the entry's CRC-32C check must stop it before it runs.
        Case("boot-unpacker-byte-flipped", ["--mode", "selftest"],
             expect_error("boot.kernel", 17, r"unpack: the packed kernel is damaged"),
             corrupt=flip_byte(lambda image: payload_location(image, "kernel")[0] + 1500), accels=("tcg",)),
        # MODE=serve on the kernel without the network says which kernel it needs
        # (tests/qemu/serve_test.py tests the serve kernel itself).
        Case("serve-mode-needs-serve-kernel", ["--mode", "serve", "--kernel", "build/kernel.bin",
                                               "--symbols", "build/kernel.syms"],
             expect_error("usage", 90, r"MODE=serve needs the serve kernel \(make serve"), accels=("tcg",)),
        # The developer modes on the kernel `make run` boots name the developer kernel
        # (mkimage picks build/kernel-dev.bin for them, as every other case here shows).
        Case("bench-mode-needs-developer-kernel", ["--mode", "bench", "--kernel", "build/kernel.bin",
                                                   "--symbols", "build/kernel.syms"],
             expect_error("usage", 90, r"MODE=bench needs the developer kernel \(build/kernel-dev.bin"), accels=("tcg",)),
        Case("selftest-mode-needs-developer-kernel", ["--mode", "selftest", "--kernel", "build/kernel.bin",
                                                      "--symbols", "build/kernel.syms"],
             expect_error("usage", 90, r"MODE=selftest needs the developer kernel \(build/kernel-dev.bin"),
             accels=("tcg",)),
        # Random-weight checkpoints of the real shapes with the 32000-token tokenizer.
        # Same text as the host tool: fp32 and Q8, two cores and one (rows, heads and
        # quantization split across cores or not), prefill blocks, JIT kernels.
        same_text_as_host("stories15M-smp2-same-as-host", "stories15M", False, 100, "0.8", 3, accels=("tcg", "kvm"),
                          qemu_args=["--smp", "2"]),
        same_text_as_host("stories15M-1core-same-as-host", "stories15M", False, 100, "0.8", 3,
                          qemu_args=["--smp", "2"], settings=["cores=1"]),
        same_text_as_host("stories15M-q8-smp2-same-as-host", "stories15M", True, 100, "0", 1,
                          accels=("tcg", "kvm"), qemu_args=["--smp", "2"]),
        Case("tinyllama-1.1b-q8-random", ["--mode", "generate", "--model", "build/tests/qemu/tinyllama-1.1b-q8.bin",
                                          "--tokenizer", "tokenizer.bin", "--prompt", "Hello", "--steps", "4",
                                          "--temp", "0"],
             expect_generation(2, r"dim 2048, hidden 5632, layers 22, heads 32 \(kv 4\), vocab 32000, seq_len 2048; Q8_0"),
             accels=("tcg",), qemu_args=["--mem", "4G"], timeout=600,
             prepare=generated_model("tinyllama-1.1b", True, "tinyllama-1.1b-q8.bin"),
             cleanup=["tinyllama-1.1b-q8.bin"]),
        # The reference stories (../shared/reference), fp32 and int8, greedy and sampled.
        story("story-260K-greedy-once", "stories260K.bin", "260K-greedy-once.txt", "Once upon a time", 256, "0",
              "0.9", 1, accels=("tcg", "kvm")),
        story("story-260K-greedy-lily", "stories260K.bin", "260K-greedy-lily.txt", "Lily and Ben went to the park",
              200, "0", "0.9", 1),
        story("story-260K-t0.8-p0.9-s42", "stories260K.bin", "260K-t0.8-p0.9-s42-once.txt", "Once upon a time",
              256, "0.8", "0.9", 42),
        story("story-260K-t1.0-p0-s7-empty", "stories260K.bin", "260K-t1.0-p0-s7-empty.txt", "", 128, "1.0", "0",
              7),
        story("story-260Kq8-greedy-once", "stories260K-q8.bin", "260Kq8-greedy-once.txt", "Once upon a time", 256,
              "0", "0.9", 1, accels=("tcg", "kvm")),
        story("story-260Kq8-t0.8-p0.9-s42", "stories260K-q8.bin", "260Kq8-t0.8-p0.9-s42-once.txt",
              "Once upon a time", 256, "0.8", "0.9", 42),
    ] + robustness_cases() + gguf_cases() + smp_cases() + uefi_cases()
