"""The QEMU boot test cases (run by tests/qemu/run-tests).

A case names the mkimage options, the QEMU options, the accelerators, and a check of the
exit status and the serial log. Checks return a list of problems (empty = pass).
"""
import json
import re


class Case:
    def __init__(self, name, image_args, check, accels=("tcg", "kvm"), qemu_args=(), timeout=120,
                 prepare=None, corrupt=None, expect_mkimage_failure=None):
        self.name = name
        self.image_args = list(image_args)
        self.check = check
        self.accels = accels
        self.qemu_args = list(qemu_args)
        self.timeout = timeout
        self.prepare = prepare
        self.corrupt = corrupt
        self.expect_mkimage_failure = expect_mkimage_failure


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


def all_cases():
    return [
        Case("selftest", ["--mode", "selftest", "--test-payload", str(20 * 1000 * 1000)],
             expect_success(r"^BareFlow stage2", r"^cpu: .+", r"^memory: \d+ MiB usable",
                            r"^selftest load>16MiB\s+ok", r"^@exit 0$",
                            r"^selftest tsc\s+ok", r"^selftest guard #UD\s+ok", r"^selftest guard #PF\s+ok",
                            stats_keys=("cpu", "isa", "mem_mb", "tsc_mhz"))),
        Case("selftest-unguarded-fault", ["--mode", "selftest", "--set", "selftest_fault=on"],
             expect_fault_report(3, r"^CPU exception: #UD invalid opcode \(vector 6\)",
                                 r"RIP +0x[0-9a-f]+ <tllama::run_selftest", r"^  RAX [0-9a-f]{16}",
                                 r"^backtrace:", r"^  #0 +0x[0-9a-f]+ <kmain")),
    ]
