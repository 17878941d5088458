#!/usr/bin/python3
"""The serve kernel's OpenAI-compatible HTTP API, over QEMU's user network (TCG is fine).

usage: tests/qemu/serve_test.py [--accel kvm|tcg] [-k NAME] [--timeout S]

Builds serve images of stories260K.bin (scripts/mkimage --mode serve: the serve kernel),
boots each with scripts/run-qemu --net MODEL --forward PORT:8080 (a free host port), waits
for the guest's `@serve` line and talks HTTP to it from here:

  virtio    DHCP, api_key set. The key is enforced (401 without or with a wrong one); a
            greedy and a seeded sampled completion equal bareflow-host's text for the same
            prompt and seed; the greedy one streamed (SSE chunks concatenate to the same
            text, usage chunk, [DONE]); bad requests get their codes (malformed JSON and
            wrong types 400 naming the field, a 10 MB body 413, unknown path 404, wrong
            method 405, chat 501); 4 clients at once all answered, each with the host's
            text for its seed (two requests each); a client dropped mid-stream stops its
            generation and the
            next request is served; /health and /metrics; then the official `openai` npm
            package (tests/qemu/openai, installed by npm ci into build/tests/openai) runs
            its checks against the guest.
  e1000     a static address (ip=, gateway=) and api_key set: all of the above again.
  e1000e    QEMU's q35 machine (PCI Express: configuration through ECAM from the ACPI
            MCFG) with an e1000e: the greedy completion.
  uefi      the image booted through OVMF (run-qemu --firmware uefi) with virtio-net:
            /v1/models and the greedy completion. Under TCG only, like every UEFI case:
            on nested-KVM hosts (AMD here) OVMF's own start-up code stops KVM with an
            emulation failure before our loader runs.
  ping      an e1000 cabled to this script (run-qemu --link: QEMU's socket network) with
            ip=10.0.9.2: an ARP request and an ICMP echo request, in raw Ethernet frames,
            are answered (checksums, addresses, the echoed payload).
  no-card   no network card at all: the machine says so and opens the console (/quit).
  chat      a small random GGUF with TinyLlama's chat template (tests/qemu/chat_test.py makes
            it): /v1/chat/completions' greedy reply to one message is bareflow-host --chat's,
            streamed or not, with the same prompt tokens; a system message and history are
            rendered in; messages too long for the context are 400.

Every boot ends with `q` on the serial console and must leave with @exit 0. Logs:
build/tests/qemu/serve-<name>-<accel>.log. Environment: BAREFLOW_TEST_ACCELS,
BAREFLOW_MODEL_PATH. Standard library only (plus node/npm for the openai check, which is
SKIPPED with the reason when they are missing).
"""
import argparse
import http.client
import struct
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
from console_test import Failure, Guest, kvm_usable, plain  # noqa: E402
import chat_test  # noqa: E402

OUT = os.path.join(ROOT, "build", "tests", "qemu")
MODEL = "stories260K.bin"
TOKENIZER = "tok512.bin"
API_KEY = "sk-bareflow-test"
PROMPT = "Once upon a time"
GUEST_PORT = 8080


def check(condition, message):
    if not condition:
        raise Failure(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """HTTP to the guest through the forwarded port."""

    def __init__(self, port, key=None):
        self.port = port
        self.key = key

    def headers(self, key=None, extra=None):
        h = {"Content-Type": "application/json"}
        key = key if key is not None else self.key
        if key:
            h["Authorization"] = f"Bearer {key}"
        h.update(extra or {})
        return h

    def request(self, method, path, body=None, key=None, timeout=120):
        """(status, headers, body bytes); `body` is JSON-encoded unless it is bytes."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            conn.request(method, path, body=data, headers=self.headers(key))
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def json(self, method, path, body=None, key=None, expect=200, timeout=120):
        status, _, data = self.request(method, path, body, key, timeout)
        check(status == expect, f"{method} {path}: status {status}, expected {expect}: {data[:300]!r}")
        return json.loads(data)

    def stream(self, body, timeout=120, path="/v1/completions"):
        """A streamed completion: the list of decoded event payloads (the last is "[DONE]")."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("POST", path, body=json.dumps(dict(body, stream=True)).encode(),
                         headers=self.headers())
            r = conn.getresponse()
            data = r.read().decode()
            check(r.status == 200, f"stream: status {r.status}: {data[:300]!r}")
            check(r.getheader("Content-Type") == "text/event-stream", f"stream: {r.getheader('Content-Type')}")
            events = [line[6:] for line in data.split("\n") if line.startswith("data: ")]
        finally:
            conn.close()
        check(events and events[-1] == "[DONE]", f"stream does not end in [DONE]: {events[-2:]}")
        return [e if e == "[DONE]" else json.loads(e) for e in events]

    def raw(self, data, timeout=60):
        """Sends bytes as they are and returns whatever comes back until the server closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return got
                got += chunk


def host_text(prompt, steps, temp, topp=None, seed=None):
    """What bareflow-host prints for these settings (the prompt, the text, a newline)."""
    cmd = [os.path.join(ROOT, "build", "host", "bareflow-host"), MODEL, "-z", TOKENIZER, "-t", str(temp),
           "-n", str(steps), "-i", prompt]
    if topp is not None:
        cmd += ["-p", str(topp)]
    if seed is not None:
        cmd += ["-s", str(seed)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True)
    check(result.returncode == 0, f"bareflow-host failed: {result.stderr.decode()[-300:]}")
    return result.stdout.decode()


def completion_like_host(api, max_tokens, temperature, top_p=None, seed=None, what="completion"):
    """A completion whose text must be the host tool's for the same prompt and seed."""
    body = {"model": MODEL, "prompt": PROMPT, "max_tokens": max_tokens, "temperature": temperature}
    if top_p is not None:
        body["top_p"] = top_p
    if seed is not None:
        body["seed"] = seed
    answer = api.json("POST", "/v1/completions", body)
    text = answer["choices"][0]["text"]
    usage = answer["usage"]
    check(answer["object"] == "text_completion" and answer["model"] == MODEL, f"{what}: {answer}")
    expected = host_text(PROMPT, usage["prompt_tokens"] - 1 + max_tokens, temperature, top_p, seed)
    check(PROMPT + text + "\n" == expected,
          f"{what}: the API's text {text[:80]!r} is not the host tool's {expected[len(PROMPT):][:80]!r}")
    return answer


def expect_error(api, method, path, body, status, param=None, key=None):
    got, headers, data = api.request(method, path, body, key)
    check(got == status, f"{method} {path} {body!r:.60}: status {got}, expected {status}: {data[:200]!r}")
    error = json.loads(data)["error"]
    check(error["message"] and error["type"], f"{method} {path}: error body {error}")
    if param:
        check(error["param"] == param, f"{method} {path}: param {error['param']!r}, expected {param!r}")
    return headers, error


def streamed_text(events):
    chunks = [e for e in events[:-1] if e["choices"]]
    return "".join(c["choices"][0]["text"] for c in chunks), chunks


def check_stream(api, answer, max_tokens):
    body = {"model": MODEL, "prompt": PROMPT, "max_tokens": max_tokens, "temperature": 0,
            "stream_options": {"include_usage": True}}
    events = api.stream(body)
    text, chunks = streamed_text(events)
    check(text == answer["choices"][0]["text"], f"streamed text {text[:80]!r} differs from the plain answer")
    check(len(chunks) >= max_tokens // 2, f"only {len(chunks)} chunks for {max_tokens} tokens: not streamed")
    check(chunks[-1]["choices"][0]["finish_reason"] == "length", f"last chunk {chunks[-1]}")
    check(events[-2]["usage"]["completion_tokens"] == max_tokens, f"usage chunk {events[-2]}")
    return len(chunks)


def four_clients(api, guest):
    """Four clients at once, each sending two completions one after the other: every one is
    answered, with the host's text for its seed. Returns how many were served."""
    seeds = {client: (11 + 2 * client, 12 + 2 * client) for client in range(4)}
    results = {}

    def client(number):
        for seed in seeds[number]:
            try:
                results[seed] = completion_like_host(api, 24, 0.8, 0.9, seed, f"client {number}, seed {seed}")
            except Exception as e:  # noqa: BLE001 -- reported below with the seed
                results[seed] = e

    threads = [threading.Thread(target=client, args=(number,)) for number in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for seed in sorted(s for pair in seeds.values() for s in pair):
        check(seed in results, f"the request with seed {seed} got no answer")
        if isinstance(results[seed], Exception):
            raise Failure(f"the request with seed {seed}: {results[seed]}")
    return len(results)


def dropped_client(api, guest):
    """A streaming client that leaves after three events: its generation stops, the next
    request is served."""
    body = {"prompt": PROMPT, "max_tokens": 480, "temperature": 0, "stream": True}
    data = json.dumps(body).encode()
    head = (f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", api.port), timeout=60) as s:
        s.sendall(head + data)
        got = b""
        while got.count(b"data: ") < 3:
            chunk = s.recv(4096)
            check(chunk, "the stream ended before three events")
            got += chunk
    m = guest.expect(rb"cancelled after (\d+) tokens: the client left", 60, "the cancelled generation's line")
    tokens = int(m.group(1))
    check(tokens < 480, f"the generation ran to {tokens} tokens after the client left")
    completion_like_host(api, 8, 0, what="the request after the dropped client")
    return tokens


def bad_requests(api, with_chat=True):
    expect_error(api, "POST", "/v1/completions", b'{"prompt": "x",}', 400)
    expect_error(api, "POST", "/v1/completions", {"prompt": 5}, 400, "prompt")
    expect_error(api, "POST", "/v1/completions", {"prompt": "x", "max_tokens": "16"}, 400, "max_tokens")
    expect_error(api, "POST", "/v1/completions", {"prompt": "x", "temperature": 9}, 400, "temperature")
    expect_error(api, "GET", "/v1/nothing", None, 404)
    headers, _ = expect_error(api, "GET", "/v1/completions", None, 405)
    check(headers.get("allow") == "POST", f"405 without Allow: POST ({headers})")
    auth = f"Authorization: Bearer {api.key}\r\n" if api.key else ""
    answer = api.raw(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 10000000\r\n\r\n".encode())
    check(answer.startswith(b"HTTP/1.1 413 "), f"a 10 MB body: {answer[:80]!r}")
    if with_chat:
        _, error = expect_error(api, "POST", "/v1/chat/completions",
                                {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}, 501)
        check(error["code"] == "chat_not_supported", f"chat 501: {error}")


def openai_client(api, answer, max_tokens):
    """The official openai npm package against the guest; (ran, note)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return False, "SKIPPED: node and npm are needed (scripts/setup installs the nodejs and npm packages)"
    work = os.path.join(ROOT, "build", "tests", "openai")
    os.makedirs(work, exist_ok=True)
    source = os.path.join(ROOT, "tests", "qemu", "openai")
    for name in ("package.json", "package-lock.json", "test.mjs"):
        shutil.copy(os.path.join(source, name), work)
    stamp = os.path.join(work, "node_modules", ".bareflow-lock")
    with open(os.path.join(source, "package-lock.json"), "rb") as f:
        lock = f.read()
    if not os.path.exists(stamp) or open(stamp, "rb").read() != lock:
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
                                   capture_output=True, text=True, timeout=300)
        check(installed.returncode == 0, f"npm ci failed (is the npm registry reachable?): "
                                         f"{installed.stderr.strip()[-400:]}")
        with open(stamp, "wb") as f:
            f.write(lock)
    ran = subprocess.run([node, "test.mjs", f"http://127.0.0.1:{api.port}/v1", api.key, MODEL, PROMPT,
                          str(max_tokens), answer["choices"][0]["text"]], cwd=work, capture_output=True, text=True,
                         timeout=300)
    check(ran.returncode == 0, f"the openai package's checks failed:\n{ran.stdout}{ran.stderr[-600:]}")
    return True, f"openai {json.load(open(os.path.join(work, 'node_modules', 'openai', 'package.json')))['version']}: " \
                 f"{ran.stdout.count('openai ok')} checks passed"


def session_virtio(api, guest, notes):
    api_without_key = Api(api.port)
    expect_error(api_without_key, "GET", "/v1/models", None, 401)
    expect_error(api, "GET", "/v1/models", None, 401, key="sk-wrong")
    models = api.json("GET", "/v1/models")
    check(models["data"][0]["id"] == MODEL, f"/v1/models: {models}")
    greedy = completion_like_host(api, 40, 0, what="greedy completion")
    completion_like_host(api, 40, 0.8, 0.9, 42, "sampled completion (seed 42)")
    notes.append(f"{check_stream(api, greedy, 40)} chunks streamed")
    bad_requests(api)
    notes.append(f"4 clients at once: {four_clients(api, guest)} requests served")
    notes.append(f"dropped client stopped after {dropped_client(api, guest)} tokens")
    health = api.json("GET", "/health")
    check(health["status"] == "ok", f"/health: {health}")
    status, headers, metrics = api.request("GET", "/metrics")
    metrics = metrics.decode()
    check(status == 200 and "bareflow_completions_cancelled_total 1" in metrics and
          'bareflow_jit_kernels{tier="' in metrics, f"/metrics: {metrics[:400]!r}")
    served = re.search(r"^bareflow_completions_total (\d+)$", metrics, re.M)
    notes.append(f"{served.group(1) if served else '?'} completions served")
    ran, note = openai_client(api, greedy, 40)
    notes.append(note)


def session_e1000(api, guest, notes):
    """The static address, then everything the virtio boot checks, on the e1000."""
    announced = guest.announcement
    check(announced["address"] == "10.0.2.15", f"@serve: {announced}")
    check(b"(static)" in guest.raw, "the static address was not reported as static")
    session_virtio(api, guest, notes)


def session_e1000e(api, guest, notes):
    check(re.search(rb"pci: \d+ functions through ECAM at 0x", guest.raw), "PCI did not use ECAM on q35")
    completion_like_host(api, 16, 0, what="greedy completion")


def session_uefi(api, guest, notes):
    check(b"BareFlow UEFI loader" in guest.raw, "the image did not boot through the UEFI loader")
    api.json("GET", "/v1/models")
    completion_like_host(api, 16, 0, what="greedy completion")


def host_chat_reply(lines, max_tokens):
    """bareflow-host --chat's greedy reply to the last of `lines`, and its @stats."""
    cmd = [os.path.join(ROOT, "build", "host", "bareflow-host"), chat_test.MODEL, "--chat", "-t", "0", "-n",
           str(max_tokens)]
    result = subprocess.run(cmd, input="".join(line + "\n" for line in lines).encode(), cwd=ROOT, capture_output=True)
    check(result.returncode == 0, f"bareflow-host --chat failed: {result.stderr.decode()[-300:]}")
    replies = chat_test.REPLY.findall(result.stdout)
    stats = [json.loads(line[7:]) for line in result.stderr.decode().splitlines() if line.startswith("@stats ")]
    check(replies and stats, f"bareflow-host --chat answered nothing: {result.stdout[-200:]!r}")
    return replies[-1].decode(), stats[-1]


def session_chat(api, guest, notes):
    """/v1/chat/completions through the model's template: the greedy reply to one message is
    bareflow-host --chat's, streamed or not; a system message and history are taken in; a
    conversation too long for the context is 400."""
    model = os.path.basename(chat_test.MODEL)
    question = "Hello! Who are you?"
    body = {"model": model, "messages": [{"role": "user", "content": question}], "max_tokens": 30, "temperature": 0}
    answer = api.json("POST", "/v1/chat/completions", body)
    check(answer["object"] == "chat.completion", f"chat: {answer}")
    content = answer["choices"][0]["message"]["content"]
    expected, host_stats = host_chat_reply([question], 30)
    check(content == expected, f"chat: the API's reply {content[:80]!r} is not the host tool's {expected[:80]!r}")
    check(answer["usage"]["prompt_tokens"] == host_stats["prompt_tokens"],
          f"chat: {answer['usage']} against the host's {host_stats['prompt_tokens']} prompt tokens")
    events = api.stream(body, path="/v1/chat/completions")
    streamed = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1] if e["choices"])
    check(streamed == content, f"chat stream: {streamed[:80]!r} is not {content[:80]!r}")
    notes.append(f"chat reply as the host tool's ({answer['usage']['completion_tokens']} tokens), streamed too")
    # The same request again finds its prompt in the KV cache: only the last position is
    # computed again (for its logits), and the reply is the same.
    again = api.json("POST", "/v1/chat/completions", body)
    check(again["choices"][0]["message"]["content"] == content, f"chat again: {again['choices'][0]['message']}")
    check(again["usage"]["prompt_tokens"] == answer["usage"]["prompt_tokens"]
          and again["usage"]["prompt_tokens_details"]["cached_tokens"] == answer["usage"]["prompt_tokens"] - 1,
          f"chat again: {again['usage']}, the first time {answer['usage']}")
    notes.append(f"repeated: {again['usage']['prompt_tokens_details']['cached_tokens']} prompt tokens from the cache")

    history = {"model": model, "max_tokens": 8, "temperature": 0, "messages": [
        {"role": "system", "content": "You are a pirate."}, {"role": "user", "content": question},
        {"role": "assistant", "content": "Arr, a pirate."}, {"role": "user", "content": "Where is the treasure?"}]}
    longer = api.json("POST", "/v1/chat/completions", history)
    check(longer["usage"]["prompt_tokens"] > answer["usage"]["prompt_tokens"] + 40, f"chat history: {longer['usage']}")
    history["messages"][1]["content"] = "word " * 400
    expect_error(api, "POST", "/v1/chat/completions", history, 400, "prompt")
    notes.append("system + history, too long 400")


# ---- raw Ethernet: ARP and ICMP echo against the static address -----------------------

HOST_MAC = bytes.fromhex("020000000001")
HOST_IP = bytes([10, 0, 9, 1])
GUEST_IP = bytes([10, 0, 9, 2])


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Link:
    """The other end of the guest's cable: QEMU's socket network, frames with a 4-byte length."""

    def __init__(self, connection):
        self.connection = connection
        self.buffer = b""

    def send(self, frame):
        self.connection.sendall(struct.pack("!I", len(frame)) + frame)

    def receive(self, wanted, timeout=30):
        """The first frame `wanted(frame)` accepts (others, like gratuitous ARP, are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            while len(self.buffer) >= 4 and len(self.buffer) >= 4 + struct.unpack("!I", self.buffer[:4])[0]:
                length = struct.unpack("!I", self.buffer[:4])[0]
                frame, self.buffer = self.buffer[4:4 + length], self.buffer[4 + length:]
                if wanted(frame):
                    return frame
            left = deadline - time.monotonic()
            check(left > 0, "no answer from the guest on the wire")
            self.connection.settimeout(left)
            chunk = self.connection.recv(65536)
            check(chunk, "QEMU closed the link")
            self.buffer += chunk


def ping_session(link, guest, notes):
    """ARP: who has 10.0.9.2? ICMP: echo request to it. Both must be answered."""
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, HOST_MAC, HOST_IP, b"\0" * 6, GUEST_IP)
    link.send(b"\xff" * 6 + HOST_MAC + b"\x08\x06" + arp)
    reply = link.receive(lambda f: f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02")
    guest_mac = reply[22:28]
    check(reply[28:32] == GUEST_IP and reply[0:6] == HOST_MAC, f"ARP reply {reply[:42].hex()}")
    payload = bytes(range(56))
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + payload
    icmp = icmp[:2] + struct.pack("!H", inet_checksum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 7, 0, 64, 1, 0, HOST_IP, GUEST_IP)
    ip = ip[:10] + struct.pack("!H", inet_checksum(ip)) + ip[12:]
    link.send(guest_mac + HOST_MAC + b"\x08\x00" + ip + icmp)
    answer = link.receive(lambda f: f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 0)
    header_length = (answer[14] & 15) * 4
    echo = answer[14 + header_length:]
    check(inet_checksum(answer[14:14 + header_length]) == 0, "the echo reply's IP checksum is wrong")
    check(inet_checksum(echo) == 0, "the echo reply's ICMP checksum is wrong")
    check(echo[4:8] == struct.pack("!HH", 0x4242, 1) and echo[8:] == payload, f"echo reply {echo[:16].hex()}")
    check(answer[26:30] == GUEST_IP and answer[30:34] == HOST_IP, "the echo reply's addresses")
    notes.append(f"ARP answered by {guest_mac.hex(':')}, ping answered")


BOOTS = {
    # name: (card, QEMU options, settings, session)
    "virtio": ("virtio", [], [f"api_key={API_KEY}"], session_virtio),
    "e1000": ("e1000", [], [f"api_key={API_KEY}", "ip=10.0.2.15/24", "gateway=10.0.2.2"], session_e1000),
    "e1000e": ("e1000e", ["--machine", "q35"], [], session_e1000e),
    "uefi": ("virtio", ["--firmware", "uefi"], [], session_uefi),
    "chat": ("virtio", [], [], session_chat),  # the model with a chat template (chat_test.MODEL)
}


def build_image(name, settings):
    os.makedirs(OUT, exist_ok=True)
    image = os.path.join(OUT, f"serve-{name}.img")
    model = chat_test.ensure_model() if name == "chat" else MODEL
    cmd = [os.path.join(ROOT, "scripts", "mkimage"), "-q", "-o", image, "--mode", "serve", "--model", model]
    for s in settings:
        cmd += ["--set", s]
    built = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    check(built.returncode == 0, f"mkimage failed ({built.returncode}): {built.stderr.strip()}")
    return image


def run_boot(name, accel, args):
    started = time.time()
    log = os.path.join(OUT, f"serve-{name}-{accel}.log")
    notes = []
    guest = None
    try:
        if name == "ping":
            image = build_image(name, ["ip=10.0.9.2/24"])
            with socket.socket() as listener:
                listener.bind(("127.0.0.1", 0))
                listener.listen(1)
                listener.settimeout(60)
                guest = Guest(image, accel, args.timeout, log,
                              ["--net", "e1000", "--link", str(listener.getsockname()[1])])
                connection, _ = listener.accept()
            with connection:
                guest.expect(rb"@serve (\{[^\r\n]*\})\r?\n", 180, "the @serve line")
                ping_session(Link(connection), guest, notes)
            guest.send("q")
        elif name == "no-card":
            image = build_image(name, [])
            guest = Guest(image, accel, args.timeout, log, ["--net", "none"])
            guest.expect(rb"no supported network card", 120, "the no-card message")
            guest.expect(rb"the console instead", 30, "the console after it")
            guest.expect(rb"bareflow>", 60, "the console's prompt")
            guest.send("/quit\n")
        else:
            card, options, settings, session = BOOTS[name]
            image = build_image(name, settings)
            port = free_port()
            guest = Guest(image, accel, args.timeout, log,
                          options + ["--net", card, "--forward", f"{port}:{GUEST_PORT}"])
            m = guest.expect(rb"@serve (\{[^\r\n]*\})\r?\n", 180, "the @serve line")
            guest.announcement = json.loads(m.group(1))
            check(guest.announcement["port"] == GUEST_PORT, f"@serve: {guest.announcement}")
            session(Api(port, API_KEY if any(s.startswith("api_key=") for s in settings) else None), guest, notes)
            guest.send("q")
        guest.expect(rb"@exit 0\r?\n", 60, "@exit 0")
        status = guest.wait_exit(30)
        check(status == 0, f"run-qemu exited with {status}")
        rates = [float(r) for r in re.findall(rb"tokens, ([0-9.]+) tok/s", guest.raw)]
        if rates:
            notes.append(f"{len(rates)} completions at {min(rates):.0f}-{max(rates):.0f} tok/s")
        return True, "; ".join(notes), time.time() - started
    except (Failure, OSError, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError) as e:
        why = f"{type(e).__name__ if not isinstance(e, Failure) else ''}{e}"
        if guest is not None:
            tail = plain(bytes(guest.raw[-1500:]))
            why += "\n     serial tail:\n" + "\n".join("       | " + line for line in tail.splitlines()[-15:])
        return False, why + f"\n     log: {os.path.relpath(log, ROOT)}", time.time() - started
    finally:
        if guest is not None:
            guest.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accel", action="append", choices=["kvm", "tcg"], help="accelerators (default: both)")
    parser.add_argument("-k", dest="filter", default="", help="only the boots whose name contains this")
    parser.add_argument("--timeout", type=int, default=420, help="QEMU's limit for one boot (s)")
    args = parser.parse_args()

    wanted = args.accel or os.environ.get("BAREFLOW_TEST_ACCELS", "tcg kvm").split()
    failures = passed = 0
    for accel in ("tcg", "kvm"):
        if accel not in wanted:
            continue
        if accel == "kvm" and not kvm_usable():
            print("SKIPPED serve [kvm]: /dev/kvm is not usable here")
            continue
        for name in list(BOOTS) + ["ping", "no-card"]:
            if args.filter not in name or (name == "uefi" and accel == "kvm"):
                continue
            ok, why, seconds = run_boot(name, accel, args)
            print(f"{'PASS' if ok else 'FAIL'} serve-{name} [{accel}] {seconds:.1f}s" + (f"\n     {why}" if why else ""),
                  flush=True)
            passed += ok
            failures += not ok
    print(f"serve tests: {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
