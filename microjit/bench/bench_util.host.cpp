// jit-bench timing and reporting (see bench_util.h).
#include "microjit/bench/bench_util.h"

#include <algorithm>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

namespace mjit::bench {

namespace {

double now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double gbs(uint64_t bytes, double ns) { return ns > 0 ? static_cast<double>(bytes) / ns : 0; }
double ratio(double slow_ns, double fast_ns) { return fast_ns > 0 && slow_ns > 0 ? slow_ns / fast_ns : 0; }

}

namespace {

// Warms `fn` up (page faults, caches, branch predictors) and returns a batch size that
// lasts about min_sample_ms.
long calibrate(const std::function<void()>& fn, const TimingOptions& options)
{
    fn();
    long batch = 1;
    for (;;) {
        const double start = now_ns();
        for (long i = 0; i < batch; ++i)
            fn();
        const double elapsed = now_ns() - start;
        if (elapsed >= options.min_sample_ms * 1e6 || batch >= (1L << 24))
            return batch;
        batch = elapsed <= 0 ? batch * 16 : std::max(batch * 2, static_cast<long>(batch * options.min_sample_ms * 1.2e6 / elapsed));
    }
}

double sample(const std::function<void()>& fn, long batch)
{
    const double start = now_ns();
    for (long i = 0; i < batch; ++i)
        fn();
    return (now_ns() - start) / static_cast<double>(batch);
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}

double time_per_call_ns(const std::function<void()>& fn, const TimingOptions& options)
{
    return time_interleaved({ fn }, options)[0];
}

std::vector<double> time_interleaved(const std::vector<std::function<void()>>& fns, const TimingOptions& options)
{
    std::vector<long> batches;
    for (const auto& fn : fns)
        batches.push_back(calibrate(fn, options));
    std::vector<std::vector<double>> samples(fns.size());
    for (int round = 0; round < options.samples; ++round)
        for (size_t i = 0; i < fns.size(); ++i)
            samples[i].push_back(sample(fns[i], batches[i]));
    std::vector<double> medians;
    for (auto& s : samples)
        medians.push_back(median(s));
    return medians;
}

Buffer::Buffer(size_t bytes) : m_size(bytes)
{
    m_data = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!m_data) {
        fprintf(stderr, "jit-bench: out of memory allocating %zu bytes\n", bytes);
        exit(1);
    }
    memset(m_data, 0, (bytes + 63) / 64 * 64 + 64);
}

Buffer::~Buffer()
{
    free(m_data);
}

void print_table(const std::vector<Row>& rows, double stream_gbs, const std::string& cpu, const std::string& isa)
{
    printf("jit-bench on %s, JIT ISA %s; single-core streaming read of 256 MiB (best of 1/2/4 streams): %.2f GB/s\n",
        cpu.c_str(), isa.c_str(), stream_gbs);
    printf("GB/s = bytes of weights+scales+x+out per call / time; medians of repeated runs.\n");
    printf("xref = JIT vs the scalar reference (canonical 16-lane order; the JIT returns its bits), xnat = vs the\n"
           "naive sequential loop at -O3 -march=native, xfast = vs that loop with reassociation allowed\n"
           "(vectorised, other bits); strm1 / strm = streaming read of the same weight buffer in GB/s\n"
           "with one stream / the fastest of 1, 2 and 4 parallel streams, %%strm = JIT GB/s / strm (matvec shapes\n"
           "whose weights exceed L2).\n\n");
    printf("%-11s %-20s %9s | %7s %7s %7s %7s | %8s | %7s %7s %7s | %6s %6s %6s | %s\n", "op", "shape", "KiB", "ref", "native",
        "nat-fast", "JIT", "JIT GF/s", "xref", "xnat", "xfast", "strm1", "strm", "%strm", "JIT kernel");
    for (const Row& r : rows) {
        char strm[16] = "-";
        if (r.stream_gbs > 0)
            snprintf(strm, sizeof(strm), "%.0f%%", 100.0 * gbs(r.bytes, r.jit_ns) / r.stream_gbs);
        auto cell = [&](double ns, char* out) {
            if (ns > 0)
                snprintf(out, 16, "%.2f", gbs(r.bytes, ns));
            else
                snprintf(out, 16, "-");
        };
        auto rcell = [&](double slow, char* out) {
            if (slow > 0 && r.jit_ns > 0)
                snprintf(out, 16, "%.2fx", ratio(slow, r.jit_ns));
            else
                snprintf(out, 16, "-");
        };
        char c_ref[16], c_nat[16], c_fast[16], c_jit[16], x_ref[16], x_nat[16], x_fast[16];
        cell(r.ref_ns, c_ref);
        cell(r.native_ns, c_nat);
        cell(r.native_fast_ns, c_fast);
        cell(r.jit_ns, c_jit);
        rcell(r.ref_ns, x_ref);
        rcell(r.native_ns, x_nat);
        rcell(r.native_fast_ns, x_fast);
        char c_strm[16] = "-", c_strm1[16] = "-";
        if (r.stream_gbs > 0)
            snprintf(c_strm, sizeof(c_strm), "%.1f", r.stream_gbs);
        if (r.stream1_gbs > 0)
            snprintf(c_strm1, sizeof(c_strm1), "%.1f", r.stream1_gbs);
        char c_flops[16] = "-";
        if (r.flops > 0 && r.jit_ns > 0)
            snprintf(c_flops, sizeof(c_flops), "%.2f", r.flops / r.jit_ns);
        printf("%-11s %-20s %9.1f | %7s %7s %7s %7s | %8s | %7s %7s %7s | %6s %6s %6s | %s\n", r.group.c_str(), r.shape.c_str(),
            static_cast<double>(r.bytes) / 1024.0, c_ref, c_nat, c_fast, c_jit, c_flops, x_ref, x_nat, x_fast, c_strm1, c_strm, strm,
            r.jit_name.c_str());
    }
}

void print_json(const std::vector<Row>& rows, double stream_gbs, const std::string& cpu, const std::string& isa)
{
    printf("{\"cpu\": \"%s\", \"isa\": \"%s\", \"stream_read_gbs\": %.3f, \"results\": [\n", cpu.c_str(), isa.c_str(), stream_gbs);
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        printf("  {\"op\": \"%s\", \"shape\": \"%s\", \"bytes\": %llu, \"flops\": %.0f, \"ref_ns\": %.1f, \"native_ns\": %.1f, "
               "\"native_fast_ns\": %.1f, \"jit_ns\": %.1f, \"jit_default_ns\": %.1f, \"jit_kernel\": \"%s\", "
               "\"jit_gbs\": %.3f, \"jit_gflops\": %.3f, \"speedup_vs_ref\": %.3f, \"speedup_vs_native\": %.3f, "
               "\"beyond_l2\": %s, \"stream_gbs\": %.3f, \"stream1_gbs\": %.3f, \"stream_fraction\": %.3f}%s\n",
            r.group.c_str(), r.shape.c_str(), static_cast<unsigned long long>(r.bytes), r.flops, r.ref_ns, r.native_ns,
            r.native_fast_ns, r.jit_ns, r.jit_default_ns, r.jit_name.c_str(), gbs(r.bytes, r.jit_ns),
            r.jit_ns > 0 ? r.flops / r.jit_ns : 0.0, ratio(r.ref_ns, r.jit_ns), ratio(r.native_ns, r.jit_ns),
            r.beyond_l2 ? "true" : "false", r.stream_gbs, r.stream1_gbs, r.stream_gbs > 0 ? gbs(r.bytes, r.jit_ns) / r.stream_gbs : 0.0,
            i + 1 < rows.size() ? "," : "");
    }
    printf("]}\n");
}

}
