"""QEMU boot tests for SMP (kernel_lib/smp): every core comes up and runs parallel_for.

cases.py's all_cases() includes smp_cases(). Each case boots the selftest image with a
given QEMU -smp value and checks the cores the kernel reports: the `smp:` summary line,
the selftest's parallel_for line (every core summed its own range, on itself) and the
@stats "cores" count.
"""
from cases import Case, at_lines, expect_success


def expect_cores(cores, listed=None):
    """Selftest passes with `cores` cores online out of `listed` enabled in the MADT."""
    listed = cores if listed is None else listed

    def check(status, serial, accel):
        problems = expect_success(r"^@exit 0$", r"^selftest parallel_for\s+ok: %d cores" % cores,
                                  r"^smp: %d of %d listed cores online" % (cores, listed),
                                  stats_keys=("cores",))(status, serial, accel)
        stats = at_lines(serial, "stats")
        if stats and stats[-1].get("cores") != cores:
            problems.append(f"@stats says {stats[-1].get('cores')} cores, expected {cores}")
        if "did not start" in serial or "running on one core" in serial:
            problems.append("a core failed to start (see the smp: lines)")
        return problems
    return check


def smp_cases():
    return [
        # Two cores, on both accelerators (under KVM this is the PVM path where one is usable).
        Case("smp2-selftest", ["--mode", "selftest"], expect_cores(2), accels=("tcg", "kvm"),
             qemu_args=["--smp", "2"]),
        # More virtual cores than this machine has: four vCPU threads on fewer host cores.
        Case("smp4-selftest", ["--mode", "selftest"], expect_cores(4), accels=("tcg",),
             qemu_args=["--smp", "4"], timeout=240),
        # Hot-pluggable slots are listed in the MADT but not enabled: they are not started.
        Case("smp2-of-4-selftest", ["--mode", "selftest"], expect_cores(2), accels=("tcg",),
             qemu_args=["--smp", "2,maxcpus=4"]),
    ]
