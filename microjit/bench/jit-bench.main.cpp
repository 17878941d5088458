// jit-bench: the micro-JIT's kernels against the scalar reference (whose results they
// reproduce bit for bit) and against the naive loops compiled -O3 -march=native, on the
// real model shapes, plus the single-core streaming-read bandwidth that bounds every
// weight-streaming kernel. Shapes ending in "_dram" serve their weights from DRAM (256 MiB
// of copies, see dram_copies), the way big models run.
//
//   build/host/jit-bench [--isa sse2|avx2|avx512] [--json] [--quick] [--only TEXT] [--dump DIR]
//                        [--candidates]
//
// For each shape the autotuning candidates (candidates.h) are timed briefly, the fastest
// is measured properly and reported with the default config's time alongside.
// --candidates prints every candidate's time in that first contest (stderr), the fastest
// marked: which kernels a shape's candidates rank where, e.g. on the _dram rows.
#include <algorithm>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
#include <vector>

#include "kernel_lib/cpu/features.h"
#include "microjit/bench/baseline.h"
#include "microjit/bench/bench_util.h"
#include "microjit/candidates.h"
#include "microjit/dump_file.h"
#include "microjit/jit.h"
#include "microjit/reference.h"

using namespace mjit;
using namespace mjit::bench;

namespace {

struct Options {
    Isa isa = Isa::Avx512;
    bool json = false;
    bool quick = false;
    const char* only = nullptr;
    const char* dump = nullptr;
    bool candidates = false;  // print every candidate's time
};

Options g_options;
TimingOptions g_timing;
TimingOptions g_tune_timing { 5, 1.0 };
constexpr u64 l2_bytes = 1 * kl::MiB;

void fill(float* p, size_t count, u32 seed)
{
    u32 s = seed * 2654435761u + 1;
    for (size_t i = 0; i < count; ++i) {
        s = s * 1664525u + 1013904223u;
        p[i] = static_cast<float>(static_cast<i32>(s >> 8) - (1 << 23)) / static_cast<float>(1 << 23);
    }
}

void fill_q8(i8* p, size_t count, u32 seed)
{
    u32 s = seed * 2654435761u + 7;
    for (size_t i = 0; i < count; ++i) {
        s = s * 1664525u + 1013904223u;
        p[i] = static_cast<i8>(static_cast<int>((s >> 8) % 255) - 127);
    }
}

// Streaming read of the first `bytes` of `data` (the kernel's own weight buffer) in
// `streams` parallel parts: the contestants that tell how close a kernel gets to what
// the memory system delivers to one core.
std::function<void()> stream_reader(const void* data, u64 bytes, int streams)
{
    return [data, streams, length = bytes / 256 * 256] {
        static volatile u64 sink = 0;
        sink = sink + native_stream_read(data, length, streams);
    };
}

bool selected(const std::string& text)
{
    return !g_options.only || text.find(g_options.only) != std::string::npos;
}

// DRAM rows ("_dram"): the shape's weights are laid out `copies` times over dram_bytes in
// all and every contestant serves one call per copy in turn, so no call finds its weights
// in any cache, as in generation with a model far bigger than L3. One "call" of such a row
// is the pass over all copies.
constexpr u64 dram_bytes = 256 * kl::MiB;

u64 dram_copies(u64 weight_bytes)
{
    return std::max<u64>(1, dram_bytes / weight_bytes);
}

// The contestants other than the JIT, each optional (null: not measured).
struct Baselines {
    std::function<void()> ref, native, native_fast;
    const void* stream_data = nullptr;  // weights to stream-read for comparison, if any
    u64 stream_bytes = 0;
};

// Generates the candidates, picks the fastest in a short interleaved contest, then times
// it against the baselines (and the default config) in one interleaved contest.
// `streamed`: the weights come from DRAM (the candidates the engine tries for models bigger
// than the caches, stripes first).
void measure(Op op, Shape shape, const Baselines& base, const std::function<void(const GeneratedKernel&)>& run, Row& row,
    bool streamed = false)
{
    KernelConfig configs[max_candidates];
    const usize count = candidate_configs(op, shape, g_options.isa, host_caps(), configs, max_candidates, streamed);
    std::vector<GeneratedKernel> kernels;
    for (usize i = 0; i < count; ++i) {
        auto generated = generate(configs[i]);
        if (generated.is_error())
            fprintf(stderr, "jit-bench: %s\n", generated.error().message());
        else
            kernels.push_back(generated.release_value());
    }
    size_t best = 0;
    if (kernels.size() > 1) {
        std::vector<std::function<void()>> tries;
        for (const GeneratedKernel& k : kernels)
            tries.push_back([&run, &k] { run(k); });
        const std::vector<double> ns = time_interleaved(tries, g_options.quick ? TimingOptions { 3, 0.5 } : g_tune_timing);
        for (size_t i = 1; i < ns.size(); ++i)
            if (ns[i] < ns[best])
                best = i;
        if (g_options.candidates) {
            fprintf(stderr, "%s %s, candidates:\n", row.group.c_str(), row.shape.c_str());
            for (size_t i = 0; i < ns.size(); ++i)
                fprintf(stderr, "  %-62s %12.0f ns%s\n", kernels[i].name, ns[i], i == best ? "  fastest" : "");
        }
    }

    std::vector<std::function<void()>> contest;
    std::vector<double*> results;
    auto enter = [&](const std::function<void()>& fn, double* result) {
        if (fn) {
            contest.push_back(fn);
            results.push_back(result);
        }
    };
    enter(base.ref, &row.ref_ns);
    enter(base.native, &row.native_ns);
    enter(base.native_fast, &row.native_fast_ns);
    // The fastest of 1, 2 and 4 parallel streams is the bandwidth to compare with.
    double stream_ns[3] = {};
    if (row.beyond_l2 && base.stream_data && base.stream_bytes >= 1024 && kl::cpu::features().avx2_usable)
        for (int i = 0; i < 3; ++i)
            enter(stream_reader(base.stream_data, base.stream_bytes, 1 << i), &stream_ns[i]);
    if (!kernels.empty()) {
        const GeneratedKernel* chosen = &kernels[best];
        const GeneratedKernel* first = &kernels[0];
        enter([&run, chosen] { run(*chosen); }, &row.jit_ns);
        enter([&run, first] { run(*first); }, &row.jit_default_ns);
        row.jit_name = chosen->name;
    }
    const std::vector<double> ns = time_interleaved(contest, g_timing);
    for (size_t i = 0; i < ns.size(); ++i)
        *results[i] = ns[i];
    for (double ns : stream_ns)
        if (ns > 0)
            row.stream_gbs = std::max(row.stream_gbs, static_cast<double>(base.stream_bytes / 256 * 256) / ns);
    if (stream_ns[0] > 0)
        row.stream1_gbs = static_cast<double>(base.stream_bytes / 256 * 256) / stream_ns[0];
    for (GeneratedKernel& k : kernels)
        release(k);
}

void bench_f32(std::vector<Row>& rows, u32 n, u32 d, u32 t, bool dram = false)
{
    Row row;
    row.group = t == 1 ? "matvec_f32" : "matmul_f32";
    row.shape = "n" + std::to_string(n) + "_d" + std::to_string(d) + (t > 1 ? "_t" + std::to_string(t) : "") + (dram ? "_dram" : "");
    if (!selected(row.group + " " + row.shape))
        return;
    VERIFY(!dram || t == 1);
    const u64 w_floats = static_cast<u64>(n) * d, w_bytes = w_floats * 4;
    const u64 copies = dram ? dram_copies(w_bytes) : 1;
    Buffer w(w_bytes * copies), x(static_cast<size_t>(n) * t * 4), out(static_cast<size_t>(d) * t * 4);
    fill(w.as<float>(), w_floats * copies, 1);
    fill(x.as<float>(), static_cast<size_t>(n) * t, 2);
    KernelArgs args {};
    args.out = out.as<float>();
    args.w = w.as<float>();
    args.x = x.as<float>();
    args.row_begin = 0;
    args.row_end = d;
    args.n = n;
    args.d = d;
    args.t = t;
    row.bytes = (w_bytes + (static_cast<u64>(n) * t + static_cast<u64>(d) * t) * 4) * copies;
    row.flops = 2.0 * n * d * t * copies;
    row.beyond_l2 = dram || w_bytes > l2_bytes;
    // One call per copy of the weights (one copy unless `dram`).
    auto each_copy = [&, copies](auto call) {
        return [&args, &w, w_floats, copies, call] {
            for (u64 c = 0; c < copies; ++c) {
                args.w = w.as<float>() + c * w_floats;
                call();
            }
        };
    };

    // The native loops serve one token per call, like the reference's inner loops.
    auto native = [&](auto fn) {
        return each_copy([&, fn] {
            for (u32 tok = 0; tok < t; ++tok)
                fn(out.as<float>() + static_cast<size_t>(tok) * d, static_cast<const float*>(args.w),
                    x.as<float>() + static_cast<size_t>(tok) * n, n, 0, d);
        });
    };
    Baselines base;
    base.ref = each_copy([&] { ref::matmul_f32(&args); });
    base.native = native(native_matvec_f32);
    base.native_fast = native(native_matvec_f32_reassoc);
    // Batched products reuse each weight t times: compute-bound, no streaming comparison.
    if (t == 1) {
        base.stream_data = w.as<u8>();
        base.stream_bytes = w_bytes * copies;
    }
    Shape shape;
    shape.n = n;
    shape.d = d;
    shape.t = t;
    measure(t == 1 ? ops::matvec_f32 : ops::matmul_f32, shape, base,
        [&](const GeneratedKernel& k) { each_copy([&] { k.kernel()(&args); })(); }, row, dram);
    rows.push_back(row);
}

void bench_q8(std::vector<Row>& rows, u32 n, u32 d, u32 gs, u32 t, bool dram = false)
{
    Row row;
    row.group = t == 1 ? "matvec_q8" : "matmul_q8";
    row.shape = "n" + std::to_string(n) + "_d" + std::to_string(d) + (t > 1 ? "_t" + std::to_string(t) : "") + "_gs" + std::to_string(gs)
        + (dram ? "_dram" : "");
    if (!selected(row.group + " " + row.shape))
        return;
    VERIFY(!dram || t == 1);
    const size_t groups = n / gs;
    const u64 w_bytes = static_cast<u64>(n) * d, scale_floats = groups * d;
    const u64 copies = dram ? dram_copies(w_bytes + scale_floats * 4) : 1;
    Buffer w(w_bytes * copies), ws(scale_floats * 4 * copies), x(static_cast<size_t>(n) * t), xs(groups * t * 4),
        out(static_cast<size_t>(d) * t * 4);
    fill_q8(w.as<i8>(), w_bytes * copies, 1);
    fill_q8(x.as<i8>(), static_cast<size_t>(n) * t, 2);
    fill(ws.as<float>(), scale_floats * copies, 3);
    fill(xs.as<float>(), groups * t, 4);
    KernelArgs args {};
    args.out = out.as<float>();
    args.w = w.as<i8>();
    args.w_scale = ws.as<float>();
    args.x = x.as<i8>();
    args.x_scale = xs.as<float>();
    args.row_begin = 0;
    args.row_end = d;
    args.n = n;
    args.d = d;
    args.t = t;
    args.gs = gs;
    row.bytes = (w_bytes + scale_floats * 4 + (static_cast<u64>(n) + groups * 4 + static_cast<u64>(d) * 4) * t) * copies;
    row.flops = 2.0 * n * d * t * copies;
    row.beyond_l2 = dram || w_bytes + scale_floats * 4 > l2_bytes;
    // One call per copy of the weights and scales (one copy unless `dram`).
    auto each_copy = [&, copies](auto call) {
        return [&args, &w, &ws, w_bytes, scale_floats, copies, call] {
            for (u64 c = 0; c < copies; ++c) {
                args.w = w.as<i8>() + c * w_bytes;
                args.w_scale = ws.as<float>() + c * scale_floats;
                call();
            }
        };
    };

    Baselines base;
    base.ref = each_copy([&] { ref::matmul_q8(&args); });
    base.native = each_copy([&] {
        for (u32 tok = 0; tok < t; ++tok)
            native_matvec_q8(out.as<float>() + static_cast<size_t>(tok) * d, static_cast<const i8*>(args.w), args.w_scale,
                x.as<i8>() + static_cast<size_t>(tok) * n, xs.as<float>() + groups * tok, n, gs, 0, d);
    });
    if (t == 1) {
        base.stream_data = w.as<u8>();
        base.stream_bytes = w_bytes * copies;
    }
    Shape shape;
    shape.n = n;
    shape.d = d;
    shape.t = t;
    shape.gs = gs;
    measure(t == 1 ? ops::matvec_q8 : ops::matmul_q8, shape, base,
        [&](const GeneratedKernel& k) { each_copy([&] { k.kernel()(&args); })(); }, row, dram);
    rows.push_back(row);
}

// Weight rows of a block format (or F16 / BF16): a few rows quantised from random values
// by the format's reference quantiser, repeated over the whole buffer.
void fill_format(Format f, u8* p, u64 rows, u32 n, u32 seed)
{
    const u64 row_bytes = weight_row_bytes(f, n);
    constexpr u64 distinct = 61;
    std::vector<float> values(n);
    for (u64 r = 0; r < rows && r < distinct; ++r) {
        fill(values.data(), n, seed + static_cast<u32>(r));
        format_info(f).quantize_row(values.data(), p + r * row_bytes, n);
    }
    for (u64 r = distinct; r < rows; ++r)
        memcpy(p + r * row_bytes, p + (r % distinct) * row_bytes, row_bytes);
}

// A block-format (or F16 / BF16) matrix times t tokens of activations in its activation
// format; `dram` as for fp32.
void bench_blocks(std::vector<Row>& rows, Format f, u32 n, u32 d, u32 t, bool dram = false)
{
    const Op op { t > 1 ? OpKind::Matmul : OpKind::Matvec, f };
    Row row;
    char name[32];
    format_op_name(name, sizeof(name), op);
    row.group = name;
    row.shape = "n" + std::to_string(n) + "_d" + std::to_string(d) + (t > 1 ? "_t" + std::to_string(t) : "") + (dram ? "_dram" : "");
    if (!selected(row.group + " " + row.shape))
        return;
    const Format act = format_info(f).activation;
    const u64 w_bytes = weight_row_bytes(f, n) * d, x_bytes = weight_row_bytes(act, n) * t;
    const u64 copies = dram ? dram_copies(w_bytes) : 1;
    Buffer w(w_bytes * copies), x(x_bytes), out(static_cast<size_t>(d) * t * 4);
    fill_format(f, w.as<u8>(), static_cast<u64>(d) * copies, n, 1);
    fill_format(act, x.as<u8>(), t, n, 2);
    KernelArgs args {};
    args.out = out.as<float>();
    args.w = w.as<u8>();
    args.x = x.as<u8>();
    args.row_begin = 0;
    args.row_end = d;
    args.n = n;
    args.d = d;
    args.t = t;
    row.bytes = (w_bytes + x_bytes + static_cast<u64>(d) * t * 4) * copies;
    row.flops = 2.0 * n * d * t * copies;
    row.beyond_l2 = dram || w_bytes > l2_bytes;
    auto each_copy = [&, copies](auto call) {
        return [&args, &w, w_bytes, copies, call] {
            for (u64 c = 0; c < copies; ++c) {
                args.w = w.as<u8>() + c * w_bytes;
                call();
            }
        };
    };
    Baselines base;
    const KernelFn reference = format_info(f).reference;
    // (A prefill's reference over every copy would take minutes: the _dram rows of
    // matmuls are against the same shape in caches.)
    if (!dram || t == 1)
        base.ref = each_copy([&args, reference] { reference(&args); });
    if (t == 1) {
        base.stream_data = w.as<u8>();
        base.stream_bytes = w_bytes * copies;
    }
    Shape shape;
    shape.n = n;
    shape.d = d;
    shape.t = t;
    measure(op, shape, base, [&](const GeneratedKernel& k) { each_copy([&] { k.kernel()(&args); })(); }, row, dram);
    rows.push_back(row);
}

void bench_quantize(std::vector<Row>& rows, u32 n, u32 gs)
{
    Row row;
    row.group = "quantize_q8";
    row.shape = "n" + std::to_string(n) + "_gs" + std::to_string(gs);
    if (!selected(row.group + " " + row.shape))
        return;
    Buffer x(n * 4), q(n), s(n / gs * 4);
    fill(x.as<float>(), n, 5);
    row.bytes = static_cast<u64>(n) * 5 + n / gs * 4;
    Baselines base;
    base.ref = [&] { ref::quantize_q8(x.as<float>(), q.as<i8>(), s.as<float>(), n, gs); };
    Shape shape;
    shape.n = n;
    shape.gs = gs;
    shape.d = n / gs;
    KernelArgs args {};
    args.x = x.as<float>();
    args.out = q.as<i8>();
    args.out_scale = s.as<float>();
    args.row_end = shape.d;
    args.n = n;
    args.d = shape.d;
    args.t = 1;
    args.gs = gs;
    measure(ops::quantize_q8, shape, base, [&](const GeneratedKernel& k) { k.kernel()(&args); }, row);
    rows.push_back(row);
}

// The block activation quantizers (Q8_0, Q8_K): one token of n values.
void bench_quantize_blocks(std::vector<Row>& rows, Format f, u32 n)
{
    const Op op { OpKind::Quantize, f };
    Row row;
    char name[32];
    format_op_name(name, sizeof(name), op);
    row.group = name;
    row.shape = "n" + std::to_string(n);
    if (!selected(row.group + " " + row.shape))
        return;
    const FormatInfo& info = format_info(f);
    Buffer x(n * 4), q(weight_row_bytes(f, n));
    fill(x.as<float>(), n, 6);
    row.bytes = static_cast<u64>(n) * 4 + weight_row_bytes(f, n);
    Shape shape;
    shape.n = n;
    shape.d = n / info.block_values;
    KernelArgs args {};
    args.x = x.as<float>();
    args.out = q.as<u8>();
    args.row_end = shape.d;
    args.n = n;
    args.d = shape.d;
    args.t = 1;
    Baselines base;
    const KernelFn reference = ref::kernel_for(op);
    base.ref = [&args, reference] { reference(&args); };
    measure(op, shape, base, [&](const GeneratedKernel& k) { k.kernel()(&args); }, row);
    rows.push_back(row);
}

void bench_copy(std::vector<Row>& rows, u32 bytes)
{
    Row row;
    row.group = "copy";
    row.shape = "n" + std::to_string(bytes);
    if (!selected(row.group + " " + row.shape))
        return;
    Buffer src(bytes), dst(bytes);
    row.bytes = 2ull * bytes;
    Baselines base;
    // libc memcpy stands in for the "native" column (there is no reference kernel).
    base.native = [&] {
        memcpy(dst.as<u8>(), src.as<u8>(), bytes);
        asm volatile("" ::: "memory");
    };
    Shape shape;
    shape.n = bytes;
    shape.d = 1;
    KernelArgs args {};
    args.out = dst.as<u8>();
    args.x = src.as<u8>();
    args.row_end = 1;
    args.n = bytes;
    args.d = args.t = 1;
    measure(ops::copy, shape, base, [&](const GeneratedKernel& k) { k.kernel()(&args); }, row);
    rows.push_back(row);
}

double stream_bandwidth()
{
    if (!kl::cpu::features().avx2_usable)
        return 0;
    const size_t bytes = 256 * kl::MiB;
    Buffer buffer(bytes);
    memset(buffer.as<u8>(), 1, bytes);
    const std::vector<double> ns = time_interleaved(
        { stream_reader(buffer.as<u8>(), bytes, 1), stream_reader(buffer.as<u8>(), bytes, 2), stream_reader(buffer.as<u8>(), bytes, 4) },
        TimingOptions { 7, 1.0 });
    return static_cast<double>(bytes) / *std::min_element(ns.begin(), ns.end());
}

void usage()
{
    fprintf(stderr, "usage: jit-bench [--isa sse2|avx2|avx512] [--json] [--quick] [--only TEXT] [--dump DIR] [--candidates]\n");
    exit(static_cast<int>(kl::ErrorCode::UsageError));
}

}

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--json")) {
            g_options.json = true;
        } else if (!strcmp(argv[i], "--quick")) {
            g_options.quick = true;
        } else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            auto isa = parse_isa(argv[++i]);
            if (isa.is_error()) {
                fprintf(stderr, "jit-bench: %s\n", isa.error().message());
                usage();
            }
            set_isa_cap(isa.value());
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            g_options.only = argv[++i];
        } else if (!strcmp(argv[i], "--dump") && i + 1 < argc) {
            g_options.dump = argv[++i];
        } else if (!strcmp(argv[i], "--candidates")) {
            g_options.candidates = true;
        } else {
            usage();
        }
    }
    g_options.isa = target_isa();
    if (g_options.quick)
        g_timing = TimingOptions { 5, 1.0 };
    if (g_options.dump)
        dump_kernels_to(g_options.dump);

    std::vector<Row> rows;
    const double stream = stream_bandwidth();
    static constexpr u32 f32_shapes[][2] = { { 64, 64 }, { 64, 172 }, { 172, 64 }, { 64, 512 }, { 288, 288 }, { 288, 768 },
        { 768, 288 }, { 512, 512 }, { 512, 1376 }, { 1376, 512 }, { 768, 768 }, { 768, 2048 }, { 2048, 768 }, { 2048, 2048 },
        { 288, 32000 }, { 2048, 5632 }, { 5632, 2048 } };
    for (const auto& s : f32_shapes)
        bench_f32(rows, s[0], s[1], 1);
    static constexpr u32 matmul_shapes[][3] = { { 288, 768, 8 }, { 768, 2048, 8 }, { 2048, 2048, 16 } };
    for (const auto& s : matmul_shapes)
        bench_f32(rows, s[0], s[1], s[2]);
    static constexpr u32 q8_shapes[][3] = { { 64, 64, 4 }, { 64, 172, 4 }, { 172, 64, 4 }, { 64, 512, 4 }, { 288, 288, 32 },
        { 288, 768, 32 }, { 768, 288, 32 }, { 512, 512, 64 }, { 512, 1376, 64 }, { 1376, 512, 32 }, { 768, 768, 64 },
        { 768, 2048, 64 }, { 2048, 768, 64 }, { 2048, 2048, 64 }, { 288, 32000, 32 }, { 2048, 5632, 64 }, { 5632, 2048, 64 },
        { 2048, 32000, 64 } };
    for (const auto& s : q8_shapes)
        bench_q8(rows, s[0], s[1], s[2], 1);
    static constexpr u32 q8_matmul_shapes[][4] = { { 288, 768, 32, 8 }, { 768, 2048, 64, 8 }, { 2048, 2048, 64, 16 } };
    // The shapes of stories110M and TinyLlama-1.1B once more, with their weights in DRAM.
    static constexpr u32 dram_shapes[][2] = { { 768, 768 }, { 768, 2048 }, { 2048, 768 }, { 2048, 2048 }, { 2048, 5632 }, { 5632, 2048 } };
    for (const auto& s : dram_shapes)
        bench_f32(rows, s[0], s[1], 1, true);
    for (const auto& s : dram_shapes)
        bench_q8(rows, s[0], s[1], 64, 1, true);
    for (const auto& s : q8_matmul_shapes)
        bench_q8(rows, s[0], s[1], s[2], s[3]);
    // The block formats on the shapes of stories110M (768) and TinyLlama-1.1B (2048, 5632,
    // the 256-row k/v projections and the 32000-row classifier), in caches and from DRAM,
    // and prefill (16 tokens, in caches and from DRAM); K formats need n a multiple of 256
    // (stories15M's 288: Q4_0).
    static constexpr Format block_formats[] = { Format::Q4_K, Format::Q6_K, Format::Q5_K, Format::Q4_0, Format::Q8_0, Format::F16 };
    static constexpr u32 block_shapes[][2] = { { 768, 768 }, { 768, 2048 }, { 2048, 768 }, { 2048, 2048 }, { 2048, 256 },
        { 2048, 5632 }, { 5632, 2048 }, { 2048, 32000 } };
    for (Format f : block_formats) {
        for (const auto& s : block_shapes)
            bench_blocks(rows, f, s[0], s[1], 1);
        for (const auto& s : block_shapes)
            if (s[1] != 32000)
                bench_blocks(rows, f, s[0], s[1], 1, true);
        for (bool dram : { false, true }) {
            bench_blocks(rows, f, 2048, 2048, 16, dram);
            bench_blocks(rows, f, 2048, 5632, 16, dram);
            bench_blocks(rows, f, 5632, 2048, 16, dram);
        }
    }
    bench_blocks(rows, Format::Q4_0, 288, 768, 1);
    for (u32 n : { 768u, 2048u, 5632u }) {
        bench_quantize_blocks(rows, Format::Q8_K, n);
        bench_quantize_blocks(rows, Format::Q8_0, n);
    }
    static constexpr u32 quantize_shapes[][2] = { { 64, 4 }, { 172, 4 }, { 288, 32 }, { 768, 64 }, { 2048, 64 }, { 5632, 64 } };
    for (const auto& s : quantize_shapes)
        bench_quantize(rows, s[0], s[1]);
    for (u32 bytes : { 64u, 1152u, 4096u, 65536u, 1048576u })
        bench_copy(rows, bytes);

    const std::string cpu = kl::cpu::features().brand;
    const std::string isa = kl::cpu::isa_name(g_options.isa);
    if (g_options.json)
        print_json(rows, stream, cpu, isa);
    else
        print_table(rows, stream, cpu, isa);
    return 0;
}
