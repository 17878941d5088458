"""QEMU boot tests under UEFI firmware (OVMF): the same image, booted through its EFI system
partition and boot/uefi/'s loader instead of SeaBIOS and stage1/stage2.

cases.py's all_cases() includes uefi_cases(). OVMF boots only under TCG here (-cpu max), and
each boot costs a few seconds of firmware start-up, so the list covers each path once: the
self-test on two cores with a payload beyond 16 MiB (memory map, RSDP, SMP, TSC, progress),
(the self-test also measures the TSC against the PM timer and the HPET, so both calibration
clocks are exercised), the reference stories in fp32 and Q8, and the loader's own failures, which end in the same
`@error` codes as stage2's. The framebuffer console is checked by tests/qemu/screen_test.py,
the console over serial by tests/qemu/console_test.py --firmware uefi.
"""
from cases import Case, at_lines, directory_lba, expect_error, expect_story, expect_success, flip_byte, \
    inspect_mbr, payload_location

UEFI = ["--firmware", "uefi"]


def with_cores(check, cores):
    """`check`, and the @stats line says `cores` cores ran the story."""
    def checked(status, serial, accel):
        problems = check(status, serial, accel)
        stats = at_lines(serial, "stats")
        if stats and stats[-1].get("cores") != cores:
            problems.append(f"@stats says {stats[-1].get('cores')} cores, expected {cores}")
        return problems
    return checked


def uefi_story(name, model, reference, qemu_args=()):
    args = ["--mode", "generate", "--model", model, "--steps", "256", "--temp", "0", "--topp", "0.9", "--seed", "1",
            "--prompt", "Once upon a time"]
    return Case(name, args, expect_story(reference), accels=("tcg",), qemu_args=UEFI + list(qemu_args))


def uefi_cases():
    return [
        Case("uefi-selftest-smp2", ["--mode", "selftest", "--test-payload", str(20 * 1000 * 1000)],
             expect_success(r"^BareFlow UEFI loader: loading", r"^BareFlow UEFI loader: entering the kernel",
                            r"^memory: \d+ MiB usable in \d+ regions \(UEFI\)", r"^selftest load>16MiB\s+ok",
                            r"^smp: 2 of 2 listed cores online", r"^selftest parallel_for\s+ok: 2 cores",
                            r"^selftest tsc\s+ok: [\d.]+ MHz from (acpi-pm-timer|hpet|cpuid)\S*; "
                            r"PM timer says [1-9]\d* MHz, HPET [1-9]\d* MHz", r"^@exit 0$",
                            stats_keys=("cpu", "isa", "cores", "tsc_mhz")),
             accels=("tcg",), qemu_args=UEFI + ["--smp", "2"], inspect=inspect_mbr),
        Case("uefi-story-260K-greedy-once-smp2",
             ["--mode", "generate", "--model", "stories260K.bin", "--steps", "256", "--temp", "0", "--topp", "0.9",
              "--seed", "1", "--prompt", "Once upon a time"],
             with_cores(expect_story("260K-greedy-once.txt"), 2), accels=("tcg",), qemu_args=UEFI + ["--smp", "2"]),
        uefi_story("uefi-story-260Kq8-greedy-once", "stories260K-q8.bin", "260Kq8-greedy-once.txt"),
        # The loader's checks: the same codes and messages as stage2's and the kernel's.
        Case("uefi-boot-directory-damaged", ["--mode", "selftest"],
             expect_error("boot.directory", 14, r"uefi: payload directory checksum mismatch: stored 0x[0-9a-f]{8}, "
                                                r"computed 0x[0-9a-f]{8}"),
             accels=("tcg",), qemu_args=UEFI, corrupt=flip_byte(lambda image: directory_lba(image) * 512 + 40)),
        Case("uefi-payload-byte-flipped", ["--mode", "generate"],
             expect_error("payload.checksum", 22, r"uefi: payload 'model' .* is damaged: CRC-32C 0x[0-9a-f]{8}, "
                                                  r"the directory says 0x[0-9a-f]{8}"),
             accels=("tcg",), qemu_args=UEFI,
             corrupt=flip_byte(lambda image: payload_location(image, "model")[0] + 1000)),
    ]
