// Autotuning candidates (see candidates.h).
//
// The lists are short on purpose: the tuner runs each candidate on the real weights, so
// every entry costs a generation (~0.1 ms) plus a few timed calls. The entries are the
// register blockings that measured well on the benchmark shapes (microjit/bench), first
// the default, then alternatives that win on some machines or shapes.
#include "microjit/candidates.h"

#include "microjit/jit.h"

namespace mjit {

namespace {

struct Knobs {
    u8 rows, tokens, unroll;
};

// Weights that do not fit a typical L2, or that the caller knows are streamed (the whole
// model exceeds the caches), come from memory: prefetching ahead may help.
bool streams_from_memory(Op op, Shape s, bool streamed)
{
    const u64 bytes = weight_row_bytes(op.format, s.n) * s.d;
    return streamed || bytes > 2 * kl::MiB;
}

// Copies at least this long are worth trying with streaming stores (they would evict
// more than a typical L2 holds).
constexpr u32 nontemporal_copy_bytes = 256 * 1024;

// How far ahead the streamed stripes prefetch each row (below).
constexpr u16 stripe_prefetch = 2048;

class Collector {
public:
    Collector(const CpuCaps& caps, KernelConfig* out, usize capacity) : m_caps(caps), m_out(out), m_capacity(capacity) {}

    void add(const KernelConfig& c)
    {
        if (m_count >= m_capacity || validate(c).is_error() || check_runnable(c, m_caps).is_error())
            return;
        for (usize i = 0; i < m_count; ++i)
            if (m_out[i] == c)
                return;
        m_out[m_count++] = c;
    }
    usize count() const { return m_count; }

private:
    const CpuCaps& m_caps;
    KernelConfig* m_out;
    usize m_capacity;
    usize m_count = 0;
};

void add_matrix(Collector& out, Op op, Shape shape, Isa isa, const CpuCaps& caps, const Knobs* knobs, usize count,
    bool streamed)
{
    const bool stream = streams_from_memory(op, shape, streamed);
    const u64 row_bytes = weight_row_bytes(op.format, shape.n);
    const bool matvec = op.kind == OpKind::Matvec;
    const bool k_format = format_info(op.format).activation == Format::Q8_K;
    auto add_at = [&](Isa at, Knobs k, u16 prefetch, u8 flags) {
        KernelConfig c = default_config(op, shape, at);
        c.rows = k.rows;
        c.tokens = k.tokens < shape.t ? k.tokens : static_cast<u8>(shape.t);
        c.unroll = k.unroll;
        c.prefetch = prefetch;
        c.flags = flags;
        if (is_quantized(op.format) && at == Isa::Avx512 && caps.avx512vnni)
            c.flags |= variant::vnni;
        if ((c.flags & variant::vnni) && has_gfni_variant(op.format) && caps.gfni)
            c.flags |= variant::gfni;
        out.add(c);
    };
    auto add = [&](Knobs k, u16 prefetch, u8 flags = 0) { add_at(isa, k, prefetch, flags); };
    // Prefetching one block of rows ahead fetches the next block while this one is summed
    // (where the distance is a valid one).
    auto add_block_ahead = [&](Knobs k) {
        const u64 block = k.rows * row_bytes;
        if (block <= 32768)
            add(k, static_cast<u16>(block));
    };
    // Streaming a matrix, adjacent rows in flight defeat the hardware prefetchers (each
    // load's address jumps by a block of rows every few iterations): stripes (one linear
    // stream per row in flight) or a single row measured 1.3-2x faster on weights that
    // come from memory (stories110M's shapes: ~33 GB/s against 16-25 for row blocks), so
    // they go first, before the register blockings that win on cache-resident weights.
    // Two formats streamed faster still another way on a Zen 5 host, and go before them:
    // Q4_0 as a block of rows with the next block prefetched, Q8_0 in the 256-bit stripes
    // on AVX-512 parts (TinyLlama with either kernel fixed: 1.2-1.4x the tokens a second;
    // jit-bench's _dram rows agree; Q4_K ran slower both ways). First, not merely among
    // the candidates: the tuner times a few calls while the machine's memory traffic comes
    // and goes, and kept the stripes in about half the runs. Invalid entries drop.
    // Each ISA's stripes lead with the ones that prefetch each row 2 KB ahead: TinyLlama
    // 1.06x (Q4_0), 1.12x (Q8_0) and 1.05x (Q4_K_M) the tokens a second of the same stripes
    // without (alternating runs); 1 KB gained less there, and for Q8_0 3 KB gained less and
    // 4 KB none.
    if (stream && matvec) {
        if (op.format == Format::Q8_0 && isa == Isa::Avx512) {
            add_at(Isa::Avx2, { 4, 1, 1 }, stripe_prefetch, variant::stripes);
            add_at(Isa::Avx2, { 4, 1, 1 }, 0, variant::stripes);
        }
        add({ 4, 1, 1 }, stripe_prefetch, variant::stripes);
        if (op.format == Format::Q4_0)
            for (u8 rows = 12; rows >= 8; rows -= 4)
                add_block_ahead({ rows, 1, 1 });
        add({ 4, 1, 2 }, 0, variant::stripes);
        add({ 4, 1, 1 }, 0, variant::stripes);
        add({ 2, 1, 2 }, 0, variant::stripes);
        add({ 2, 1, 1 }, 0, variant::stripes);
        add({ 1, 1, 4 }, 512);
        add({ 1, 1, 4 }, 0);
    }
    // A K-format prefill streams each row block once per 16 tokens and sums it from L1 for
    // them all; fetching the next block meanwhile took TinyLlama Q4_K_M's 207-token prompt
    // 1.09-1.17x sooner (alternating runs, both orders). The prompt runs on the default
    // kernels (the tuner waits for the first token), so it goes first. Q4_0 and Q8_0 measured
    // the same either way.
    if (stream && !matvec && k_format)
        add_block_ahead(knobs[0]);
    for (usize i = 0; i < count; ++i) {
        add(knobs[i], 0);
        if (stream) {
            // Prefetching: a fixed distance along each row, and one block of rows ahead.
            add(knobs[i], 512);
            add_block_ahead(knobs[i]);
        }
    }
}

// The register blockings worth timing per matrix op, best guess first. Every output keeps
// its 16 canonical lanes (fp32: 64 / vector-bytes accumulators; Q8: one lane of a quad's
// accumulator), so AVX2 and SSE2 hold fewer outputs than AVX-512; the entries that do not
// fit an ISA drop out.
struct KnobList {
    const Knobs* knobs;
    usize count;
};

KnobList matrix_knobs(Op op)
{
    static constexpr Knobs matvec_f32[] = { { 4, 1, 2 }, { 6, 1, 2 }, { 4, 1, 4 }, { 8, 1, 1 }, { 8, 1, 2 }, { 12, 1, 1 }, { 2, 1, 4 } };
    static constexpr Knobs matmul_f32[] = { { 4, 3, 1 }, { 3, 2, 1 }, { 2, 2, 1 }, { 3, 4, 1 }, { 6, 2, 1 }, { 8, 3, 1 }, { 1, 4, 1 } };
    static constexpr Knobs matvec_q8[] = { { 4, 1, 1 }, { 8, 1, 1 }, { 4, 1, 2 }, { 2, 1, 2 }, { 12, 1, 1 } };
    static constexpr Knobs matmul_q8[] = { { 4, 2, 1 }, { 4, 1, 1 }, { 8, 2, 1 }, { 4, 4, 1 }, { 2, 2, 1 }, { 8, 1, 1 } };
    // Block formats: rows come in quads (the reduction's unit), tokens share each row's
    // unpacked weights and scales. Four tokens first: a 16-token prefill block is then four
    // even passes (three in flight left a one-token pass), and TinyLlama Q4_K_M's prefill
    // took ~10 % less CPU time with it. Where four do not fit the registers (Q4_0 on
    // AVX-512 needs 39 of 32; AVX2) the entry drops and the next one is the default.
    static constexpr Knobs matvec_blocks[] = { { 4, 1, 1 }, { 8, 1, 1 }, { 4, 1, 2 }, { 12, 1, 1 }, { 2, 1, 1 } };
    static constexpr Knobs matmul_blocks[] = { { 4, 4, 1 }, { 4, 3, 1 }, { 4, 2, 1 }, { 8, 2, 1 }, { 4, 1, 1 } };
    const bool matvec = op.kind == OpKind::Matvec;
    if (is_quantized(op.format) && !is_q8g(op))
        return matvec ? KnobList { matvec_blocks, sizeof(matvec_blocks) / sizeof(Knobs) }
                      : KnobList { matmul_blocks, sizeof(matmul_blocks) / sizeof(Knobs) };
    if (is_q8g(op))
        return matvec ? KnobList { matvec_q8, sizeof(matvec_q8) / sizeof(Knobs) } : KnobList { matmul_q8, sizeof(matmul_q8) / sizeof(Knobs) };
    return matvec ? KnobList { matvec_f32, sizeof(matvec_f32) / sizeof(Knobs) } : KnobList { matmul_f32, sizeof(matmul_f32) / sizeof(Knobs) };
}

void add_copy(Collector& collect, Shape shape, Isa isa, const CpuCaps& caps)
{
    KernelConfig c = default_config(ops::copy, shape, isa);
    collect.add(c);
    if (caps.erms || caps.fsrm) {
        KernelConfig rep = c;
        rep.flags |= variant::rep_movsb;
        collect.add(rep);
    }
    if (shape.n >= nontemporal_copy_bytes) {
        KernelConfig stream = c;
        stream.flags |= variant::nontemporal;
        collect.add(stream);
    }
}

}

usize candidate_configs(Op op, Shape shape, Isa isa, const CpuCaps& caps, KernelConfig* out, usize capacity,
    bool streamed)
{
    Collector collect(caps, out, capacity);
    switch (op.kind) {
    case OpKind::Matvec:
    case OpKind::Matmul: {
        const KnobList list = matrix_knobs(op);
        add_matrix(collect, op, shape, isa, caps, list.knobs, list.count, streamed);
        break;
    }
    case OpKind::Quantize: collect.add(default_config(op, shape, isa)); break;
    case OpKind::Copy: add_copy(collect, shape, isa, caps); break;
    }
    // Where none of the listed blockings fits the registers (SSE2), the default shrinks
    // until one does.
    if (collect.count() == 0)
        collect.add(default_config(op, shape, isa));
    // On AVX-512 parts the 256-bit kernels are worth a try (some cores split zmm work).
    if (isa == Isa::Avx512 && collect.count() < capacity) {
        KernelConfig lower[max_candidates];
        const usize extra = candidate_configs(op, shape, Isa::Avx2, caps, lower, 3, streamed);
        for (usize i = 0; i < extra; ++i)
            collect.add(lower[i]);
    }
    return collect.count();
}

}
