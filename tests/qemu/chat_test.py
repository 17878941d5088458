#!/usr/bin/python3
"""Chat over the serial port: MODE=chat against the host tool, and the console's chat mode.

usage: tests/qemu/chat_test.py [--accel kvm|tcg]... [--timeout S] [--step-timeout S]

The model is a small random GGUF that carries TinyLlama-1.1B-Chat's template
(scripts/gen-model --shape tinyllama-mini --gguf --type q8_0 --chat-template tinyllama, written
under build/tests/qemu/, never committed). Random weights answer gibberish, but the same
gibberish on both sides: that is what is checked.

  chat-mode   MODE=chat TEMP=0.8 SEED=42 STEPS=40: three user turns, the first as PROMPT=
              (answered before the first @chat-ready), the others (a /system line before the
              second) sent one line per @chat-ready; each reply between @reply-begin and
              @reply-end is byte for byte what `bareflow-host --chat -i FIRST -t 0.8 -s 42 -n 40
              --jit off` answers on the same lines; an @stats line per turn whose context grows
              (and starts again after /system); /quit exits 0.
  chat-console  the interactive console on the same model opens in chat mode (its note names
              the template, the prompt is "you>"); a message gets a reply in @reply-begin/-end
              and @stats; /system and /reset start new conversations (the context in @stats
              falls back); Ctrl-C stops a reply and the next turn continues after it; /chat off
              tells a story (@text-begin) and /chat on returns, recomputing the conversation; /quit.

  chat-host-interrupt  `bareflow-host --chat` (no QEMU): Ctrl-C (SIGINT) while a reply is
              written stops that reply (@stats "stopped": true) and the chat goes on with the
              next line, whose reply runs to its end; /quit exits 0. The model is a random
              stories15M (fp32, --jit off: its 253-token reply takes over a second, time for the
              signal to land in it).

Every wait has a deadline and QEMU's own --timeout bounds each boot. Logs:
build/tests/qemu/chat-mode-<accel>.log, chat-console-<accel>.log. Standard library only.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console_test import Failure, Guest, check, json_line, kvm_usable, plain  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build", "tests", "qemu")
MODEL = os.path.join(OUT, "tinyllama-mini-chat-q8_0.gguf")
SETTINGS = {"temp": "0.8", "seed": "42", "steps": "40"}
SCRIPT = ["Hello! Who are you?", "/system You are a pirate who speaks in rhymes.", "Where is the treasure?",
          "Tell me more about it."]
REPLY = re.compile(rb"@reply-begin\r?\n(.*?)\r?\n@reply-end\r?\n", re.S)


def ensure_model():
    """build/tests/qemu/tinyllama-mini-chat-q8_0.gguf (tests/qemu/serve_test.py uses it too)."""
    os.makedirs(OUT, exist_ok=True)
    if not os.path.exists(MODEL):
        partial = f"{MODEL}.{os.getpid()}.partial"
        made = subprocess.run([os.path.join(ROOT, "scripts", "gen-model"), "--shape", "tinyllama-mini", "--gguf",
                               "--type", "q8_0", "--chat-template", "tinyllama", partial],
                              cwd=ROOT, capture_output=True, text=True)
        if made.returncode != 0:
            raise Failure(f"gen-model failed: {made.stderr.strip()[-300:]}")
        os.replace(partial, MODEL)
    return MODEL


def prepare():
    """The chat GGUF, and the host tool's replies to SCRIPT."""
    ensure_model()
    host = subprocess.run([os.path.join(ROOT, "build", "host", "bareflow-host"), MODEL, "--chat", "--jit", "off",
                           "-t", SETTINGS["temp"], "-s", SETTINGS["seed"], "-n", SETTINGS["steps"], "-i", SCRIPT[0]],
                          input=("\n".join(SCRIPT[1:]) + "\n").encode(), cwd=ROOT, capture_output=True)
    if host.returncode != 0:
        raise Failure(f"bareflow-host --chat failed ({host.returncode}): {host.stderr.decode()[-300:]}")
    replies = REPLY.findall(host.stdout)
    check(len(replies) == 3, f"the host tool answered {len(replies)} turns, expected 3: {host.stdout[-300:]!r}")
    return replies


def build_image(name, mode, prompt=None):
    image = os.path.join(OUT, name + ".img")
    cmd = [os.path.join(ROOT, "scripts", "mkimage"), "-q", "-o", image, "--mode", mode, "--model", MODEL,
           "--temp", SETTINGS["temp"], "--seed", SETTINGS["seed"], "--steps", SETTINGS["steps"]]
    if prompt:
        cmd += ["--prompt", prompt]
    built = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if built.returncode != 0:
        raise Failure(f"mkimage failed ({built.returncode}): {built.stderr.strip()}")
    return image


def stats_after(guest, step):
    m = guest.expect(rb"@stats (\{[^\r\n]*\})\r?\n", step, "@stats")
    return json_line(m.group(0).decode().strip(), "stats")


def chat_mode(guest, step, done, expected):
    """MODE=chat: SCRIPT's first turn as the prompt, the others one line per @chat-ready, the
    replies against the host tool's."""
    guest.expect(rb"chat: the model's template is zephyr", step * 3, "the chat note")
    replies, contexts = [], []
    for i, line in enumerate(SCRIPT):
        if i > 0:
            guest.expect(rb"@chat-ready\r?\n", step, f"@chat-ready before {line!r}")
            guest.send(line + "\n")
        if line.startswith("/"):
            continue
        m = guest.expect(REPLY, step * 2, f"the reply to {line!r}")
        replies.append(m.group(1))
        contexts.append(stats_after(guest, step)["context_used"])
    for i, (got, want) in enumerate(zip(replies, expected)):
        if got != want:
            at = next((j for j, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            raise Failure(f"reply {i + 1} differs from the host tool's at byte {at}: got {got[at:at + 40]!r}, "
                          f"host {want[at:at + 40]!r}")
    done.append("3 replies as the host tool's")
    check(contexts[2] > contexts[1], f"the context did not grow from turn 2 to 3: {contexts}")
    done.append(f"context {contexts}")
    guest.expect(rb"@chat-ready\r?\n", step, "@chat-ready before /quit")
    guest.send("/quit\n")
    guest.expect(rb"@exit 0\r?\n", step, "@exit 0")
    check(guest.wait_exit(step) == 0, "exit status not 0")
    done.append("quit")


def console_turn(guest, text, step):
    """A message at the console's chat prompt: its reply (plain text) and @stats."""
    guest.send(text + "\n")
    m = guest.expect(REPLY, step * 2, f"the reply to {text!r}")
    check(b"\x1b" not in m.group(1), "colour codes inside the reply on the serial port")
    stats = stats_after(guest, step)
    guest.expect(rb"you>", step, f"the prompt after {text!r}")
    return m.group(1), stats


def chat_console(guest, step, done, _expected):
    guest.expect(rb"chat mode \(template zephyr\)", step * 3, "the console's chat-mode note")
    guest.expect(rb"you>", step, "the chat prompt")
    done.append("chat mode")
    _, first = console_turn(guest, "Hello!", step)
    _, second = console_turn(guest, "How are you?", step)
    check(second["context_used"] > first["context_used"], f"context did not grow: {first} {second}")
    check(second["prompt_tokens"] < first["context_used"], "the second turn recomputed the first one")
    done.append(f"two turns (context {first['context_used']}, {second['context_used']})")

    guest.send("/system You are a pirate.\n")
    guest.expect(rb"system prompt: You are a pirate\. \(a new conversation\)", step, "the /system note")
    _, pirate = console_turn(guest, "Hello!", step)
    # A new conversation: the system prompt (some 20 tokens here), this turn and its reply.
    check(first["context_used"] < pirate["context_used"] < first["context_used"] + 30,
          f"/system kept the old turns: {pirate} (the first turn: {first})")
    guest.send("/reset\n")
    guest.expect(rb"a new conversation", step, "the /reset note")
    _, reset = console_turn(guest, "Hello!", step)
    # The same system prompt and message: the same conversation, every position still in the cache.
    check(reset["context_used"] - reset["generated_tokens"] <= pirate["context_used"] - pirate["generated_tokens"]
          and reset["prompt_tokens"] < pirate["prompt_tokens"], f"/reset: {reset} after {pirate}")
    done.append("/system, /reset")

    # Ctrl-C ends a reply; what was said stays in the conversation.
    guest.send("/steps 0\n")
    guest.expect(rb"you>", step, "the prompt after /steps 0")
    guest.send("Tell me a long story.\n")
    guest.expect(rb"@reply-begin\r?\n", step, "@reply-begin")
    guest.expect(rb"\S", step, "the first bytes of the reply")
    guest.send(b"\x03")
    guest.expect(rb"\r?\n@reply-end\r?\n", step * 4, "@reply-end after Ctrl-C")
    stopped = stats_after(guest, step)
    guest.expect(rb"you>", step, "the prompt after the stopped reply")
    check(stopped["stopped"], f"the reply was not stopped: {stopped}")
    _, after = console_turn(guest, "Go on.", step)
    check(after["prompt_tokens"] < stopped["context_used"] and after["context_used"] > stopped["context_used"],
          f"the turn after Ctrl-C did not continue the conversation: {after} after {stopped}")
    done.append(f"Ctrl-C after {stopped['generated_tokens']} tokens, kept")

    guest.send("/chat off\n")
    guest.expect(rb"story mode", step, "the /chat off note")
    guest.expect(rb"bareflow>", step, "the story prompt")
    guest.send("Once upon a time\n")
    guest.expect(rb"@text-end\r?\n", step * 2, "the story's @text-end")
    guest.expect(rb"bareflow>", step, "the story prompt again")
    guest.send("/chat on\n")
    guest.expect(rb"chat mode", step, "the /chat on note")
    _, back = console_turn(guest, "Are you there?", step)
    check(back["prompt_tokens"] > reset["context_used"], "after the story the conversation was not recomputed")
    done.append("/chat off story, /chat on")

    guest.send("/quit\n")
    guest.expect(rb"@exit 0\r?\n", step, "@exit 0")
    check(guest.wait_exit(step) == 0, "exit status not 0")
    done.append("quit")


def host_interrupt():
    """chat-host-interrupt (see the top): returns what was checked, or raises Failure."""
    model = os.path.join(OUT, "stories15M.bin")
    if not os.path.exists(model):
        partial = f"{model}.{os.getpid()}.partial"
        made = subprocess.run([os.path.join(ROOT, "scripts", "gen-model"), "--shape", "stories15M", partial],
                              cwd=ROOT, capture_output=True, text=True)
        if made.returncode != 0:
            raise Failure(f"gen-model failed: {made.stderr.strip()[-300:]}")
        os.replace(partial, model)
    host = subprocess.Popen([os.path.join(ROOT, "build", "host", "bareflow-host"), model, "-z", "tokenizer.bin",
                             "--chat", "-n", "0", "--jit", "off"], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        host.stdin.write(b"Once upon a time\n")
        host.stdin.flush()
        seen, deadline = b"", time.time() + 60
        while b"@reply-begin" not in seen and time.time() < deadline:
            chunk = os.read(host.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
        check(b"@reply-begin" in seen, f"no @reply-begin from bareflow-host --chat: {seen[-200:]!r}")
        host.send_signal(signal.SIGINT)
        host.stdin.write(b"There was a dog\n/quit\n")
        host.stdin.close()
        host.stdin = None
        out, err = host.communicate(timeout=120)
    finally:
        if host.poll() is None:
            host.kill()
    check(host.returncode == 0, f"exit status {host.returncode}, expected 0: {err.decode()[-300:]}")
    replies = (seen + out).count(b"@reply-end")
    stopped = [json_line(line, "stats")["stopped"] for line in err.decode().splitlines() if line.startswith("@stats")]
    check(replies == 2 and stopped == [True, False],
          f"expected two replies, the first stopped: {replies} replies, stopped {stopped}")
    return "the first reply stopped by SIGINT, the second to its end, exit 0"


def run(name, session, image, accel, args, expected):
    log = os.path.join(OUT, f"{name}-{accel}.log")
    started = time.time()
    done = []
    guest = Guest(image, accel, args.timeout, log)
    try:
        session(guest, args.step_timeout, done, expected)
        return True, ", ".join(done), time.time() - started
    except Failure as e:
        tail = plain(bytes(guest.raw[-1200:]))
        why = f"{e}\n     after: {', '.join(done) or 'nothing'}\n     serial tail:\n" + "\n".join(
            "       | " + line for line in tail.splitlines()[-15:])
        return False, why + f"\n     log: {os.path.relpath(log, ROOT)}", time.time() - started
    finally:
        guest.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accel", action="append", choices=["kvm", "tcg"], help="accelerators (default: both)")
    parser.add_argument("--timeout", type=int, default=300, help="QEMU's limit for each boot (s)")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="limit for each answer (s)")
    args = parser.parse_args()
    wanted = args.accel or os.environ.get("BAREFLOW_TEST_ACCELS", "tcg kvm").split()
    try:
        expected = prepare()
        images = {"chat-mode": build_image("chat-mode", "chat", SCRIPT[0]), "chat-console": build_image("chat-console",
                                                                                             "interactive")}
    except Failure as e:
        print(f"FAIL chat [prepare]\n     {e}")
        return 1
    failures = passed = 0
    try:
        print(f"PASS chat-host-interrupt\n     {host_interrupt()}", flush=True)
        passed += 1
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f"FAIL chat-host-interrupt\n     {e}", flush=True)
        failures += 1
    for accel in ("tcg", "kvm"):
        if accel not in wanted:
            continue
        if accel == "kvm" and not kvm_usable():
            print(f"SKIPPED chat [kvm]: /dev/kvm is not usable here")
            continue
        for name, session in (("chat-mode", chat_mode), ("chat-console", chat_console)):
            ok, why, seconds = run(name, session, images[name], accel, args, expected)
            print(f"{'PASS' if ok else 'FAIL'} {name} [{accel}] {seconds:.1f}s\n     {why}", flush=True)
            passed += ok
            failures += not ok
    print(f"chat tests: {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
