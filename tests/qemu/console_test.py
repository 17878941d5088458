#!/usr/bin/python3
"""The interactive console, driven over the serial port like a person at a terminal.

usage: tests/qemu/console_test.py [--accel kvm|tcg]... [--firmware bios|uefi] [--timeout S]
                                  [--step-timeout S]

Builds an interactive image (stories260K.bin), boots it with scripts/run-qemu
--serial-stdin under each accelerator (TCG always; KVM when `scripts/run-qemu --check-kvm`
says it is usable, else SKIPPED) and the firmware asked for (SeaBIOS by default, OVMF with
--firmware uefi), and types at the prompt:

  bad values          refused with one line, the console goes on
  /temp 0 /steps 256  "Once upon a time" is ../shared/reference/260K-greedy-once.txt exactly
  /stats /profile     the figures again and an @profile line
  /temp 0.8 /topp 0.9 /seed 42   the sampled reference story, token for token
  /jit off, /jit on   the greedy story again on the reference kernels, then the JIT back
  /steps 512          a full story, then Ctrl-C and Esc stop the same story early: a prefix
                      of it, fewer tokens, "stopped": true
  /quit               exit status 0

Every wait has a deadline, and QEMU's own --timeout bounds the whole run, so nothing hangs.
Logs: build/tests/qemu/console[-uefi]-<accel>.log (the raw serial bytes). Environment:
BAREFLOW_TEST_ACCELS limits the accelerators, BAREFLOW_MODEL_PATH finds the model,
BAREFLOW_REFERENCE_DIR the reference texts. Standard library only.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build", "tests", "qemu")
REFERENCE_DIR = os.environ.get("BAREFLOW_REFERENCE_DIR") or os.path.join(ROOT, "..", "shared", "reference")
PROMPT = b"bareflow>"
ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


class Failure(Exception):
    pass


class Guest:
    """QEMU under run-qemu, its serial port on our pipes; output collected by a thread."""

    def __init__(self, image, accel, timeout, log, extra_args=()):
        self.log = log
        cmd = [os.path.join(ROOT, "scripts", "run-qemu"), "--accel", accel, "--timeout", str(timeout),
               "--serial-stdin", "--log", log] + list(extra_args) + [image]
        # A session of its own, so that a failure can end QEMU and nothing else.
        self.process = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
        self.raw = bytearray()
        self.cursor = 0
        self.stderr = b""
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.err_reader.start()

    def _read(self):
        while True:
            chunk = self.process.stdout.read1(4096)
            with self.changed:
                if not chunk:
                    self.changed.notify_all()
                    return
                self.raw += chunk
                self.changed.notify_all()

    def _read_stderr(self):
        self.stderr = self.process.stderr.read()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except BrokenPipeError:
            raise Failure(f"QEMU went away while sending {data!r}")

    def expect(self, pattern, timeout, what=None):
        """Waits for `pattern` (bytes regex) after the cursor; returns the match, moves past it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                m = regex.search(self.raw, self.cursor)
                if m:
                    self.cursor = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"timed out after {timeout:.0f}s waiting for {what or pattern!r}")
                if self.process.poll() is not None and not self.reader.is_alive():
                    raise Failure(f"QEMU exited ({self.process.returncode}) while waiting for {what or pattern!r}")
                self.changed.wait(min(left, 0.5))

    def command(self, line, timeout, expect=None):
        """Types a line at the prompt, waits for the next prompt; returns the plain output between."""
        self.send(line + "\n")
        start = self.cursor
        if expect:
            self.expect(expect, timeout, f"{expect!r} after {line!r}")
        self.expect(re.escape(PROMPT), timeout, f"the prompt after {line!r}")
        return plain(bytes(self.raw[start:self.cursor]))

    def wait_exit(self, timeout):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"QEMU did not exit within {timeout}s")

    def kill(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def plain(raw):
    return ANSI.sub(b"", raw).replace(b"\r\n", b"\n").decode("utf-8", "replace")


def json_line(text, tag):
    """The JSON object of the last `@tag {...}` line in text."""
    found = [line for line in text.splitlines() if line.startswith("@" + tag + " ")]
    if not found:
        raise Failure(f"no @{tag} line in {text[-300:]!r}")
    try:
        return json.loads(found[-1][len(tag) + 2:])
    except json.JSONDecodeError as e:
        raise Failure(f"unparsable @{tag} line {found[-1]!r}: {e}")


def story(guest, prompt, timeout, interrupt=None):
    """Tells a story; returns (text, stats). `interrupt`: bytes sent once the text begins."""
    guest.send(prompt + "\n")
    begin = guest.expect(rb"@text-begin\r?\n", timeout, "@text-begin")
    if interrupt:
        guest.expect(rb"\S", timeout, "the first bytes of the story")
        guest.send(interrupt)
    end = guest.expect(rb"\r?\n@text-end\r?\n", timeout * 4, "@text-end")
    raw_text = bytes(guest.raw[begin.end():end.start() + len(end.group(0)) - len(b"@text-end\r\n")])
    if b"\x1b" in raw_text:
        raise Failure("colour or cursor codes inside the @text block on the serial port")
    stats_match = guest.expect(rb"@stats (\{[^\r\n]*\})\r?\n", timeout, "@stats")
    guest.expect(re.escape(PROMPT), timeout, "the prompt after the story")
    try:
        stats = json.loads(stats_match.group(1))
    except json.JSONDecodeError as e:
        raise Failure(f"unparsable @stats line: {e}")
    text = raw_text.replace(b"\r\n", b"\n").decode("utf-8", "replace")
    return text, stats


def check(condition, message):
    if not condition:
        raise Failure(message)


def reference(name):
    with open(os.path.join(REFERENCE_DIR, name), encoding="utf-8") as f:
        return f.read()


def same_text(got, expected, name):
    if got != expected:
        at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        raise Failure(f"the story differs from {name} at byte {at}: got {got[at:at + 40]!r}, "
                      f"expected {expected[at:at + 40]!r}")


def session(guest, step, steps_done):
    """The scripted conversation. Appends a word per finished step to steps_done."""
    guest.expect(re.escape(PROMPT), step * 3, "the first prompt")
    steps_done.append("prompt")

    # Mistakes get one clear line and the console goes on.
    out = guest.command("/temp hot", step)
    check("error: /temp: 'hot' is not valid; expected a number from 0" in out, f"bad /temp answer: {out!r}")
    out = guest.command("/steps -1", step)
    check("error: /steps: '-1' is not valid" in out, f"bad /steps answer: {out!r}")
    out = guest.command("/bogus", step)
    check("unknown command /bogus" in out, f"unknown command answer: {out!r}")
    out = guest.command("/help", step)
    check("/jit on|off" in out and "/quit" in out, f"/help lacks commands: {out!r}")
    steps_done.append("errors+help")

    # The greedy reference story.
    check("temperature 0" in guest.command("/temp 0", step), "/temp 0 not confirmed")
    check("steps 256" in guest.command("/steps 256", step), "/steps 256 not confirmed")
    text, stats = story(guest, "Once upon a time", step)
    same_text(text, reference("260K-greedy-once.txt"), "260K-greedy-once.txt")
    for key in ("prompt_tokens", "generated_tokens", "ttft_ms", "tok_per_s", "model", "cpu", "isa", "cores",
                "stopped"):
        check(key in stats, f"@stats lacks {key}: {stats}")
    check(stats["prompt_tokens"] == 5 and stats["stopped"] is False and stats["jit"] == "on",
          f"unexpected @stats {stats}")
    greedy_tokens = stats["generated_tokens"]
    steps_done.append("greedy story")

    out = guest.command("/stats", step)
    again = json_line(out, "stats")
    check(again["generated_tokens"] == greedy_tokens and again["ttft_ms"] == stats["ttft_ms"],
          f"/stats shows other figures: {again} vs {stats}")
    check(re.search(rf"generated\s+{greedy_tokens} tokens at", out), f"/stats human part: {out!r}")
    out = guest.command("/profile", step)
    profile = json_line(out, "profile")
    kernels = profile.get("kernels", [])
    used = [k for k in kernels if k.get("calls", 0) > 0]
    check(used and all(k["tier"] in ("ref", "default", "tuned") for k in kernels), f"@profile kernels: {kernels}")
    check(profile["jit"] == "on", f"@profile says the JIT is {profile['jit']}")
    steps_done.append("stats+profile")

    # A sampled story: /temp, /topp and /seed reproduce the generate-mode reference.
    guest.command("/temp 0.8", step)
    guest.command("/topp 0.9", step)
    check("seed 42" in guest.command("/seed 42", step), "/seed 42 not confirmed")
    text, _ = story(guest, "Once upon a time", step)
    same_text(text, reference("260K-t0.8-p0.9-s42-once.txt"), "260K-t0.8-p0.9-s42-once.txt")
    steps_done.append("sampled story")

    # The JIT off: every kernel on the reference, the same greedy text.
    guest.command("/temp 0", step)
    check("micro-JIT off" in guest.command("/jit off", step), "/jit off not confirmed")
    text, stats = story(guest, "Once upon a time", step)
    same_text(text, reference("260K-greedy-once.txt"), "260K-greedy-once.txt (JIT off)")
    check(stats["jit"] == "off" and stats["isa"] == "off", f"@stats with the JIT off: {stats}")
    profile = json_line(guest.command("/profile", step), "profile")
    check(all(k["tier"] == "ref" for k in profile["kernels"]), f"JIT off, yet: {profile['kernels']}")
    check("micro-JIT on" in guest.command("/jit on", step), "/jit on not confirmed")
    steps_done.append("jit off/on")

    # Stopping: the whole story first, then the same one stopped by Ctrl-C and by Esc.
    guest.command("/steps 512", step)
    full, stats = story(guest, "Once upon a time", step)
    full_tokens = stats["generated_tokens"]
    check(not stats["stopped"], "the full story says it was stopped")
    for key, name in ((b"\x03", "Ctrl-C"), (b"\x1b", "Esc")):
        text, stats = story(guest, "Once upon a time", step, interrupt=key)
        check(stats["stopped"] is True, f"{name}: @stats does not say stopped: {stats}")
        check(stats["generated_tokens"] < full_tokens,
              f"{name}: {stats['generated_tokens']} tokens, not fewer than the full {full_tokens}")
        check(text.endswith("\n") and full.startswith(text[:-1]), f"{name}: the stopped text is not a prefix of "
              f"the full story: {text[-60:]!r}")
        steps_done.append(f"{name} stop ({stats['generated_tokens']} of {full_tokens} tokens)")

    guest.send("/quit\n")
    guest.expect(rb"@exit 0\r?\n", step, "@exit 0")
    status = guest.wait_exit(step)
    check(status == 0, f"exit status {status}, expected 0")
    steps_done.append("quit")


def build_image():
    os.makedirs(OUT, exist_ok=True)
    image = os.path.join(OUT, "console.img")
    cmd = [os.path.join(ROOT, "scripts", "mkimage"), "-q", "-o", image, "--mode", "interactive",
           "--model", "stories260K.bin", "--seed", "1"]
    built = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if built.returncode != 0:
        raise Failure(f"mkimage failed ({built.returncode}): {built.stderr.strip()}")
    return image


def run(accel, image, args):
    uefi = args.firmware == "uefi"
    log = os.path.join(OUT, f"console{'-uefi' if uefi else ''}-{accel}.log")
    started = time.time()
    done = []
    guest = Guest(image, accel, args.timeout, log, ["--firmware", args.firmware])
    try:
        session(guest, args.step_timeout, done)
        return True, f"{len(done)} steps: {', '.join(done)}", time.time() - started
    except Failure as e:
        tail = plain(bytes(guest.raw[-1200:]))
        why = f"{e}\n     after: {', '.join(done) or 'nothing'}\n     serial tail:\n" + "\n".join(
            "       | " + line for line in tail.splitlines()[-15:])
        if guest.stderr.strip():
            why += "\n     run-qemu: " + guest.stderr.decode("utf-8", "replace").strip()
        return False, why + f"\n     log: {os.path.relpath(log, ROOT)}", time.time() - started
    finally:
        guest.kill()


def kvm_usable():
    return subprocess.run([os.path.join(ROOT, "scripts", "run-qemu"), "--check-kvm"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accel", action="append", choices=["kvm", "tcg"], help="accelerators (default: both)")
    parser.add_argument("--timeout", type=int, default=300, help="QEMU's limit for the whole session (s)")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="limit for each answer (s)")
    parser.add_argument("--firmware", choices=["bios", "uefi"], default="bios", help="SeaBIOS or OVMF")
    args = parser.parse_args()

    wanted = args.accel or os.environ.get("BAREFLOW_TEST_ACCELS", "tcg kvm").split()
    try:
        image = build_image()
    except Failure as e:
        print(f"FAIL console [mkimage]\n     {e}")
        return 1
    failures = passed = 0
    name = "console" + (" (UEFI)" if args.firmware == "uefi" else "")
    for accel in ("tcg", "kvm"):
        if accel not in wanted:
            continue
        if accel == "kvm" and not kvm_usable():
            print(f"SKIPPED {name} [kvm]: /dev/kvm is not usable here")
            continue
        ok, why, seconds = run(accel, image, args)
        print(f"{'PASS' if ok else 'FAIL'} {name} [{accel}] {seconds:.1f}s\n     {why}", flush=True)
        passed += ok
        failures += not ok
    print(f"console tests: {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
