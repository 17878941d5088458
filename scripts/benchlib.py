"""Shared by scripts/bench (the kernel under KVM) and scripts/bench-host (the host tool):
the workloads, the random-weight models they run, the parsing of the `@` lines that MODE=bench
and `bareflow-host --bench` print, and the results tables.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROMPT = "Once upon a time"
# About 200 tokens of the 32000-token vocabulary (the kernel reports the exact count).
LONG_PROMPT = (
    "Once upon a time, in a small village at the edge of a big green forest, there lived a little girl named "
    "Lily. Lily loved to explore. Every morning she put on her red boots, took her basket and walked along the "
    "river to see what she could find. One day she found a shiny blue stone under an old tree. The stone was "
    "warm and it hummed a quiet song. Lily was surprised, but she was not scared. She held the stone close and "
    "listened. The song told her about a lost puppy who was hiding in the forest because he was afraid of the "
    "dark. Lily wanted to help. She asked her friend Ben to come with her, and together they followed the river "
    "deeper into the woods. They saw tall trees, bright flowers and a family of rabbits. When the sun began to "
    "go down, they heard a small sad sound behind a bush. Lily smiled and said, \"Come out, little puppy, we "
    "will take you home.\"")

# Targets and the portable C engine's figures come from the performance and SMP issues
# (1 thread, -Ofast -march=native, same machine); "bound" = weight bytes per token over
# the single-core streaming bandwidth.
WORKLOADS = [
    dict(name="stories15M fp32", shape="stories15M", q8=False, steps=200, mem="1G", target=400,
         reference=328, bound=530, target_2=640),
    dict(name="stories42M fp32", shape="stories42M", q8=False, steps=200, mem="1G", target=None,
         reference=None, bound=None, speedup_2=1.6),
    dict(name="stories110M fp32", shape="stories110M", q8=False, steps=200, mem="2G", target=67,
         reference=61, bound=74),
    dict(name="stories110M Q8_0", shape="stories110M", q8=True, steps=200, mem="2G", target=180,
         reference=71, bound=277),
    dict(name="TinyLlama-1.1B Q8_0", shape="tinyllama-1.1b", q8=True, steps=64, mem="4G", target=21,
         reference=8.6, bound=29, timeout=1200),
    dict(name="prefill: stories110M fp32, 200-token prompt", shape="stories110M", q8=False, steps=210,
         mem="2G", prompt=LONG_PROMPT, cores=[1], prefill=[0, 16], ttft_speedup=3.0),
    # GGUF files as llama.cpp writes them (gen-model --gguf --type T); the GGUF issue's targets:
    # >= 85 % of the weight-stream bound, Q4_K_M >= 1.8x Q8_0 ("versus"), >= 1.5x llama.cpp on
    # the same file ("llama_target"; bench-host --llama-bench times it side by side); "reference"
    # is llama.cpp's ggml on one thread (figures from the issue, this machine kind).
    dict(name="TinyLlama-1.1B GGUF Q4_K_M", shape="tinyllama-1.1b", gguf="q4_k_m", steps=64, mem="2G",
         target_text="≥ 85 % of bound; ≥ 1.8x Q8_0", reference=27.3, bound=50, timeout=1800,
         versus=dict(name="TinyLlama-1.1B GGUF Q8_0", target=1.8), llama_target=1.5),
    dict(name="TinyLlama-1.1B GGUF Q4_0", shape="tinyllama-1.1b", gguf="q4_0", steps=64, mem="2G",
         target_text="≥ 85 % of bound", bound=None, timeout=1800, llama_target=1.5),
    dict(name="TinyLlama-1.1B GGUF Q8_0", shape="tinyllama-1.1b", gguf="q8_0", steps=64, mem="3G",
         target_text="≥ 85 % of bound", reference=18.6, bound=30, timeout=1800, llama_target=1.5),
    dict(name="stories110M GGUF Q4_K_M", shape="stories110M", gguf="q4_k_m", steps=200, mem="1G"),
    dict(name="stories110M GGUF Q4_0", shape="stories110M", gguf="q4_0", steps=200, mem="1G"),
    dict(name="prefill: TinyLlama-1.1B GGUF Q4_K_M, 200-token prompt", shape="tinyllama-1.1b", gguf="q4_k_m",
         steps=210, mem="2G", prompt=LONG_PROMPT, cores=[1], prefill=[0, 16], ttft_speedup=3.0, timeout=1800),
]


def run(cmd, **kwargs):
    return subprocess.run(cmd, cwd=ROOT, **kwargs)


def model_file_name(w):
    """stories110M.bin, stories110M-q8.bin, tinyllama-1.1b-q4_k_m.gguf, ..."""
    if w.get("gguf"):
        return f"{w['shape']}-{w['gguf']}.gguf"
    return f"{w['shape']}{'-q8' if w.get('q8') else ''}.bin"


def ensure_model(w, models_dir):
    """The workload's random-weight model, made by gen-model the first time."""
    path = os.path.join(models_dir, model_file_name(w))
    if not os.path.exists(path):
        print(f"bench: generating {os.path.basename(path)}", flush=True)
        kind = ["--gguf", "--type", w["gguf"]] if w.get("gguf") else (["--q8"] if w.get("q8") else [])
        args = [os.path.join(ROOT, "scripts", "gen-model"), "--shape", w["shape"]] + kind + [path]
        if run(args).returncode != 0:
            sys.exit(f"bench: gen-model failed for {os.path.basename(path)}")
    return path


def at_lines(serial, tag):
    out = []
    for line in serial.splitlines():
        if line.startswith("@" + tag + " "):
            out.append(json.loads(line[len(tag) + 2:]))
    return out


def variant(result, cores=None, prefill=None):
    for v in result.get("variants", []):
        if (cores is None or v["cores"] == cores) and (prefill is None or v["prefill"] == prefill):
            return v
    return None


def kernel_sizes():
    sizes = {}
    for name in ("kernel.bin", "kernel.raw"):
        try:
            sizes[name] = os.path.getsize(os.path.join(ROOT, "build", name))
        except OSError:
            sizes[name] = None
    return sizes


def fmt(value, spec=".1f", prefix=""):
    return "—" if value is None else f"{prefix}{value:{spec}}"


def speed_table(results, two_cores):
    """The main table: tok/s on 1 core (and 2), targets, bounds, ttft, the weight stream."""
    head = "| workload | tok/s, 1 core | target | reference engine | bound | "
    rule = "|---|---:|---:|---:|---:|"
    if two_cores:
        head += "tok/s, 2 cores | 2 cores / 1 | "
        rule += "---:|---:|"
    head += "ttft ms | weights GB | weight stream, 1 core |" + (" weight stream, 2 cores |" if two_cores else "")
    rule += "---:|---:|---:|" + ("---:|" if two_cores else "")
    lines = [head, rule]

    def stream(v, probe_key):
        probe = v.get(probe_key, 0)
        # The engine's own figure: the median of each run's stream over the probe taken just before it.
        pct = v.get("stream_pct_of_probe") or (100 * v["stream_gb_per_s"] / probe if probe else 0)
        share = f" ({pct:.0f} % of {probe:.1f})" if probe else ""
        return f"{v['stream_gb_per_s']:.1f} GB/s{share}"

    columns = 9 if two_cores else 7
    for w, r in results:
        if "prefill" in w:
            continue
        one, two = variant(r, cores=1), variant(r, cores=2)
        if "error" in r or one is None:
            lines.append(f"| {w['name']} | failed: {r.get('error', 'no 1-core result')} |" + " |" * columns)
            continue
        targets = [f"≥ {w['target']}"] if w.get("target") else ([w["target_text"]] if w.get("target_text") else [])
        if two_cores and w.get("target_2"):
            targets.append(f"2 cores: ≥ {w['target_2']}")
        if two_cores and w.get("speedup_2"):
            targets.append(f"2 cores / 1 ≥ {w['speedup_2']}")
        row = (f"| {w['name']} | **{one['tok_per_s']:.1f}** | {'; '.join(targets) or '—'} | "
               f"{fmt(w.get('reference'), 'g')} | {fmt(w.get('bound'), 'g', '~')} | ")
        if two_cores:
            ratio = two["tok_per_s"] / one["tok_per_s"] if two and one["tok_per_s"] else None
            row += f"{fmt(two and two['tok_per_s'])} | {fmt(ratio, '.2f')}x | "
        row += f"{one['ttft_ms']:.1f} | {one['weights_gb']:.3f} | {stream(one, 'probe_gb_per_s')} |"
        if two_cores:
            two_stream = f"{two['stream_gb_per_s']:.1f} GB/s" if two else "—"
            row += f" {two_stream} |"
        lines.append(row)
    return lines


def prefill_tables(results):
    lines = []
    for w, r in results:
        if "prefill" not in w:
            continue
        lines += ["", f"## {w['name'].capitalize()}", "",
                  "Time to first token of a long prompt, 1 core: token by token (prefill=0) against prefill blocks "
                  "of 16 tokens (one matrix-matrix product per weight per block). The text is identical either way "
                  "(tests/host/tinyllama/prefill_test.cpp, and the QEMU cases compare with the host tool).", "",
                  "| prompt tokens | ttft, token by token | ttft, prefill 16 | speedup | target |",
                  "|---:|---:|---:|---:|---:|"]
        off, on = variant(r, prefill=0), variant(r, prefill=16)
        if "error" in r or not off or not on:
            lines.append(f"| failed: {r.get('error', 'a variant is missing')} | | | | |")
            continue
        lines.append(f"| {on['prompt_tokens']} | {off['ttft_ms']:.1f} ms | {on['ttft_ms']:.1f} ms | "
                     f"**{off['ttft_ms'] / on['ttft_ms']:.2f}x** | ≥ {w['ttft_speedup']}x |")
    return lines


# Weight bytes per value of each matrix format (ggml's block sizes; Q8G: int8 and one fp32
# scale per group), by the name in a kernel's op.
WEIGHT_BYTES_PER_VALUE = {"f32": 4, "f16": 2, "bf16": 2, "q8_0": 34 / 32, "q4_0": 18 / 32, "q4_1": 20 / 32,
                          "q5_0": 22 / 32, "q5_1": 24 / 32, "q2_k": 84 / 256, "q3_k": 110 / 256,
                          "q4_k": 144 / 256, "q5_k": 176 / 256, "q6_k": 210 / 256}


def weight_gb_per_s(kernel, tsc_hz):
    """A matrix kernel's weights read per second of its JIT cycles (one pass over W per call),
    or None for other ops or without the TSC rate."""
    kind, _, fmt = kernel["op"].partition("_")
    per_value = 1 + 4 / kernel["gs"] if fmt == "q8" and kernel["gs"] else WEIGHT_BYTES_PER_VALUE.get(fmt)
    if kind not in ("matvec", "matmul") or not per_value or not tsc_hz or not kernel["jit_cycles"]:
        return None
    return kernel["n"] * kernel["d"] * per_value / (kernel["jit_cycles"] / tsc_hz) / 1e9


def kernel_tables(results):
    lines = ["", "## Kernels per workload, 1 core (speedup of the generated kernel over the scalar tier 0)", "",
             "Weights GB/s: a matrix kernel's weight bytes per call over its mean JIT time per call (the TSC's "
             "rate, `tsc_mhz` in @stats): the shapes' own streaming rates, to hold against the probe.", ""]
    for w, r in results:
        v = variant(r, cores=1, prefill=16 if "prefill" in w else None)
        if "error" in r or v is None:
            continue
        lines.append(f"**{w['name']}** ({v['isa']}):")
        lines.append("")
        lines.append("| kernel | tier | ref cycles/call | JIT cycles/call | speedup | share | weights GB/s | kernel |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---|")
        for k in sorted(v["kernels"], key=lambda k: -k["share"]):
            if k["calls"] == 0:
                continue
            gbs = weight_gb_per_s(k, v.get("tsc_mhz", 0) * 1e6)
            lines.append(f"| {k['kernel']} | {k['tier']} | {k['ref_cycles']:.0f} | {k['jit_cycles']:.0f} | "
                         f"{k['speedup']:.2f}x | {100 * k['share']:.1f} % | {'' if gbs is None else f'{gbs:.1f}'} | "
                         f"{k['config'] or k['reason']} |")
        lines.append("")
    return lines


STREAM_NOTE = ("Weight stream = weight bytes per token × tok/s; on one core against the single-core streaming-read "
               "bandwidth (the \"probe\", one linear stream: kernels that read several streams at once can exceed it "
               "slightly), measured again just before every timed run: the share is the median of the runs' own "
               "shares and the probe shown the median of the probes, so that a shared machine's drift in bandwidth "
               "does not count against the kernels.")


def variants_from_log(text):
    """The variants of a MODE=bench / --bench run: one @stats and one @profile each, in order."""
    stats = [s for s in at_lines(text, "stats") if s.get("mode") == "bench"]
    profiles = at_lines(text, "profile")
    variants = []
    for i, st in enumerate(stats):
        v = dict(st)
        v["kernels"] = profiles[i]["kernels"] if i < len(profiles) else []
        v["runs_detail"] = [b for b in at_lines(text, "bench")
                            if b.get("cores") == st["cores"] and b.get("prefill") == st["prefill"]]
        variants.append(v)
    return variants


def write_report(out_dir, basename, lines, data):
    with open(os.path.join(out_dir, basename + ".json"), "w") as f:
        json.dump(data, f, indent=2)
    with open(os.path.join(out_dir, basename + ".md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def select(only):
    if not only:
        return WORKLOADS
    wanted = [s.strip().lower() for s in only.split(",")]
    return [w for w in WORKLOADS if any(s in w["name"].lower() for s in wanted)]
