// Helpers of the micro-JIT tests (see jit_test_support.h).
#include "tests/host/microjit/jit_test_support.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "microjit/blocks.h"
#include "microjit/candidates.h"
#include "microjit/reference.h"

namespace mjit::test {

namespace {

size_t page()
{
    static size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

// NaN with a payload no computation produces: "this output was never written".
constexpr uint32_t sentinel_bits = 0x7FC0DEADu;

float sentinel()
{
    float f;
    memcpy(&f, &sentinel_bits, 4);
    return f;
}

bool is_sentinel(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    return bits == sentinel_bits;
}

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...)
{
    char buffer[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(buffer, sizeof(buffer), fmt, args);
    va_end(args);
    return buffer;
}

struct Outputs {
    GuardedBuffer out;
    std::vector<float> ref;
};

uint32_t bits_of(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    return bits;
}

// Compares `out` (t x d, rows in range) with the reference result bit for bit (the
// canonical order every generated kernel follows), and the reference with the exact sums
// (an independent oracle, so that a broken reference cannot pass either).
Verdict compare(const MatrixCase& c, const float* out, const float* ref, const std::vector<double>& exact,
    const std::vector<double>& magnitude)
{
    Verdict v;
    u64 differing = 0;
    for (u32 tok = 0; tok < c.t; ++tok) {
        for (u32 row = 0; row < c.d; ++row) {
            const size_t i = static_cast<size_t>(tok) * c.d + row;
            const bool inside = row >= c.row_begin && row < c.row_end;
            if (!inside) {
                if (!is_sentinel(out[i])) {
                    v.ok = false;
                    v.detail = format("out[%u][%u] outside rows [%llu, %llu) was written (%g)", tok, row,
                        static_cast<unsigned long long>(c.row_begin), static_cast<unsigned long long>(c.row_end), out[i]);
                    return v;
                }
                continue;
            }
            const double tol = 1e-5 * magnitude[i] + 1e-6;
            if (!(fabs(static_cast<double>(ref[i]) - exact[i]) <= tol)) {
                v.ok = false;
                v.detail = format("the reference's out[%u][%u] = %.9g is off the exact sum %.9g (tolerance %.3g)", tok, row, ref[i],
                    exact[i], tol);
                return v;
            }
            if (bits_of(out[i]) != bits_of(ref[i]) && differing++ == 0) {
                v.ok = false;
                v.detail = format("out[%u][%u] = %.9g (0x%08x), reference %.9g (0x%08x), exact %.9g", tok, row, out[i],
                    bits_of(out[i]), ref[i], bits_of(ref[i]), exact[i]);
            }
        }
    }
    if (differing)
        v.detail += format(": %llu output(s) not bit-identical to the reference", static_cast<unsigned long long>(differing));
    return v;
}
}

// ---- GuardedBuffer -------------------------------------------------------------------

GuardedBuffer::GuardedBuffer(size_t bytes, Flush flush, size_t offset)
{
    const size_t body = (bytes + offset + page() - 1) / page() * page();
    m_map_size = body + 2 * page();
    void* p = mmap(nullptr, m_map_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "GuardedBuffer: mmap of %zu bytes failed\n", m_map_size);
        abort();
    }
    m_map = static_cast<uint8_t*>(p);
    if (body && mprotect(m_map + page(), body, PROT_READ | PROT_WRITE) != 0) {
        fprintf(stderr, "GuardedBuffer: mprotect failed\n");
        abort();
    }
    m_size = bytes;
    m_data = flush == Flush::End ? m_map + page() + body - bytes : m_map + page() + offset;
}

GuardedBuffer::GuardedBuffer(GuardedBuffer&& other) noexcept
    : m_map(other.m_map), m_map_size(other.m_map_size), m_data(other.m_data), m_size(other.m_size)
{
    other.m_map = nullptr;
    other.m_map_size = 0;
}

GuardedBuffer::~GuardedBuffer()
{
    if (m_map)
        munmap(m_map, m_map_size);
}

// ---- Rng -----------------------------------------------------------------------------

uint64_t Rng::next()
{
    m_state ^= m_state >> 12;
    m_state ^= m_state << 25;
    m_state ^= m_state >> 27;
    return m_state * 0x2545F4914F6CDD1Dull;
}

float Rng::uniform(float lo, float hi)
{
    const double unit = static_cast<double>(next() >> 11) / static_cast<double>(1ull << 53);
    return static_cast<float>(lo + (hi - lo) * unit);
}

// ---- ISAs ----------------------------------------------------------------------------

std::vector<Isa> all_isas()
{
    return { Isa::Sse2, Isa::Avx2, Isa::Avx512 };
}

std::vector<Isa> runnable_isas()
{
    Isa best = host_caps().best;
    if (const char* cap = getenv("MJIT_TEST_ISA")) {
        auto parsed = parse_isa(cap);
        if (!parsed.is_error() && static_cast<u8>(parsed.value()) < static_cast<u8>(best))
            best = parsed.value();
    }
    std::vector<Isa> isas;
    for (Isa isa : all_isas())
        if (static_cast<u8>(isa) <= static_cast<u8>(best))
            isas.push_back(isa);
    return isas;
}

bool runnable(const KernelConfig& config)
{
    for (Isa isa : runnable_isas())
        if (isa == config.isa)
            return !check_runnable(config, host_caps()).is_error();
    return false;
}

std::string describe(const KernelConfig& config)
{
    char name[128];
    format_config_name(name, sizeof(name), config);
    return name;
}

std::string op_text(Op op)
{
    char name[32];
    format_op_name(name, sizeof(name), op);
    return name;
}

Shape shape_of(u32 n, u32 d, u32 t, u32 gs)
{
    Shape s;
    s.n = n;
    s.d = d;
    s.t = t;
    s.gs = gs;
    return s;
}

KernelConfig varied_config(Op op, Shape shape, Isa isa, uint64_t salt)
{
    Rng rng(salt * 7919 + shape.n * 131 + shape.d * 31 + shape.t * 17 + shape.gs * 3 + static_cast<u8>(isa));
    KernelConfig c = default_config(op, shape, isa);
    const bool matmul = op.kind == OpKind::Matmul;
    for (int attempt = 0; attempt < 16; ++attempt) {
        c.rows = static_cast<u8>(1 + rng.below(8));
        c.tokens = matmul ? static_cast<u8>(1 + rng.below(shape.t < 4 ? shape.t : 4)) : 1;
        c.unroll = static_cast<u8>(1 + rng.below(4));
        c.prefetch = static_cast<u16>(rng.below(3) * 256);
        c.flags = 0;
        if (c.prefetch && rng.below(2))
            c.flags |= variant::prefetch_nta;
        if (is_quantized(op.format) && isa == Isa::Avx512 && host_caps().avx512vnni && rng.below(2))
            c.flags |= variant::vnni;
        if ((c.flags & variant::vnni) && has_gfni_variant(op.format) && host_caps().gfni && rng.below(2))
            c.flags |= variant::gfni;
        if (c.rows >= 2 && c.rows <= 4 && rng.below(3) == 0)
            c.flags |= variant::stripes;
        if (!validate(c).is_error())
            return c;
    }
    // Q8_0 on AVX-512 exists only with VNNI (the canonical config has no variant bits).
    c = default_config(op, shape, isa);
    if (validate(c).is_error() && is_quantized(op.format) && isa == Isa::Avx512 && host_caps().avx512vnni)
        c.flags |= variant::vnni;
    return c;
}

// ---- oracles -------------------------------------------------------------------------

Verdict check_f32(KernelFn fn, const MatrixCase& c)
{
    Rng rng(c.seed);
    const size_t wn = static_cast<size_t>(c.n) * c.d, xn = static_cast<size_t>(c.n) * c.t, on = static_cast<size_t>(c.d) * c.t;
    GuardedBuffer w(wn * 4 + c.misalign, c.flush), x(xn * 4 + c.misalign, c.flush), out(on * 4, c.flush);
    float* wp = reinterpret_cast<float*>(w.as<uint8_t>() + c.misalign);
    float* xp = reinterpret_cast<float*>(x.as<uint8_t>() + c.misalign);
    for (size_t i = 0; i < wn; ++i)
        wp[i] = rng.uniform(-1, 1);
    for (size_t i = 0; i < xn; ++i)
        xp[i] = rng.uniform(-1, 1);
    std::vector<float> ref(on, sentinel());
    float* op = out.as<float>();
    for (size_t i = 0; i < on; ++i)
        op[i] = sentinel();

    KernelArgs args {};
    args.w = wp;
    args.x = xp;
    args.row_begin = c.row_begin;
    args.row_end = c.row_end;
    args.n = c.n;
    args.d = c.d;
    args.t = c.t;
    args.out = ref.data();
    ref::matmul_f32(&args);
    args.out = op;
    fn(&args);

    std::vector<double> exact(on, 0), magnitude(on, 0);
    for (u32 tok = 0; tok < c.t; ++tok)
        for (u64 row = c.row_begin; row < c.row_end; ++row) {
            double s = 0, m = 0;
            for (u32 j = 0; j < c.n; ++j) {
                const double p = static_cast<double>(wp[row * c.n + j]) * xp[static_cast<size_t>(tok) * c.n + j];
                s += p;
                m += fabs(p);
            }
            exact[static_cast<size_t>(tok) * c.d + row] = s;
            magnitude[static_cast<size_t>(tok) * c.d + row] = m;
        }
    return compare(c, op, ref.data(), exact, magnitude);
}

Verdict check_q8(KernelFn fn, const MatrixCase& c)
{
    Rng rng(c.seed);
    const u32 groups = c.n / c.gs;
    const size_t wn = static_cast<size_t>(c.n) * c.d, xn = static_cast<size_t>(c.n) * c.t, on = static_cast<size_t>(c.d) * c.t;
    const size_t wsn = static_cast<size_t>(groups) * c.d, xsn = static_cast<size_t>(groups) * c.t;
    // Scales stay 4-byte aligned (the reference reads them as floats); int8 data moves by
    // the full misalignment.
    const size_t fmis = c.misalign / 4 * 4;
    GuardedBuffer w(wn + c.misalign, c.flush), x(xn + c.misalign, c.flush), out(on * 4, c.flush);
    GuardedBuffer ws(wsn * 4 + fmis, c.flush), xs(xsn * 4 + fmis, c.flush);
    int8_t* wp = w.as<int8_t>() + c.misalign;
    int8_t* xp = x.as<int8_t>() + c.misalign;
    float* wsp = reinterpret_cast<float*>(ws.as<uint8_t>() + fmis);
    float* xsp = reinterpret_cast<float*>(xs.as<uint8_t>() + fmis);
    for (size_t i = 0; i < wn; ++i)
        wp[i] = rng.q8();
    for (size_t i = 0; i < xn; ++i)
        xp[i] = rng.q8();
    // Make sure the extremes occur: +-127 saturate vpmaddubsw pairs if anything is wrong.
    if (wn && xn) {
        wp[0] = -127;
        xp[0] = 127;
        wp[wn - 1] = 127;
        xp[xn - 1] = -127;
    }
    for (size_t i = 0; i < wsn; ++i)
        wsp[i] = rng.uniform(1e-3f, 2e-2f);
    for (size_t i = 0; i < xsn; ++i)
        xsp[i] = rng.uniform(1e-3f, 2e-2f);
    std::vector<float> ref(on, sentinel());
    float* op = out.as<float>();
    for (size_t i = 0; i < on; ++i)
        op[i] = sentinel();

    KernelArgs args {};
    args.w = wp;
    args.w_scale = wsp;
    args.x = xp;
    args.x_scale = xsp;
    args.row_begin = c.row_begin;
    args.row_end = c.row_end;
    args.n = c.n;
    args.d = c.d;
    args.t = c.t;
    args.gs = c.gs;
    args.out = ref.data();
    ref::matmul_q8(&args);
    args.out = op;
    fn(&args);

    std::vector<double> exact(on, 0), magnitude(on, 0);
    for (u32 tok = 0; tok < c.t; ++tok)
        for (u64 row = c.row_begin; row < c.row_end; ++row) {
            double s = 0, m = 0;
            for (u32 g = 0; g < groups; ++g) {
                int64_t isum = 0;
                for (u32 k = 0; k < c.gs; ++k)
                    isum += static_cast<int64_t>(wp[row * c.n + g * c.gs + k]) * xp[static_cast<size_t>(tok) * c.n + g * c.gs + k];
                const double p = static_cast<double>(isum) * wsp[row * groups + g] * xsp[static_cast<size_t>(tok) * groups + g];
                s += p;
                m += fabs(p);
            }
            exact[static_cast<size_t>(tok) * c.d + row] = s;
            magnitude[static_cast<size_t>(tok) * c.d + row] = m;
        }
    return compare(c, op, ref.data(), exact, magnitude);
}

namespace {

// Where a block's fp16 scales sit (d, then dmin / m where the format has one).
struct HalfFields {
    u32 d, second;  // byte offsets; second = ~0u: none
};

HalfFields half_fields(Format f)
{
    switch (f) {
    case Format::Q4_1:
    case Format::Q5_1:
    case Format::Q4_K:
    case Format::Q5_K: return { 0, 2 };
    case Format::Q2_K: return { 80, 82 };
    case Format::Q3_K: return { 108, ~0u };
    case Format::Q6_K: return { 208, ~0u };
    default: return { 0, ~0u };
    }
}

// A finite value for an fp16 field: mostly the magnitudes quantisers write, with
// `extreme` also zeros, subnormals, the largest half and both signs.
float scale_value(Rng& rng, bool extreme)
{
    if (extreme) {
        switch (rng.below(8)) {
        case 0: return 0.0f;
        case 1: return 65504.0f;
        case 2: return -65504.0f;
        case 3: return 5.96e-8f * static_cast<float>(1 + rng.below(1000));  // subnormal halves
        case 4: return rng.uniform(-1e4f, 1e4f);
        default: break;
        }
    }
    return rng.uniform(-4e-2f, 4e-2f);
}

}

void fill_weight_blocks(Format f, u8* rows, u64 bytes, Rng& rng, bool extreme)
{
    if (is_halves(f)) {
        u16* h = reinterpret_cast<u16*>(rows);
        for (u64 i = 0; i < bytes / 2; ++i) {
            const float v = extreme && rng.below(16) == 0 ? scale_value(rng, true) : rng.uniform(-2.0f, 2.0f);
            h[i] = f == Format::F16 ? f32_to_fp16(v) : f32_to_bf16(v);
        }
        return;
    }
    u64 i = 0;
    for (; i + 8 <= bytes; i += 8) {
        const uint64_t bits = rng.next();
        memcpy(rows + i, &bits, 8);
    }
    for (; i < bytes; ++i)
        rows[i] = static_cast<u8>(rng.next());
    const FormatInfo& info = format_info(f);
    const HalfFields fields = half_fields(f);
    for (u64 b = 0; b + info.block_bytes <= bytes; b += info.block_bytes) {
        u8* block = rows + b;
        for (u32 off : { fields.d, fields.second }) {
            if (off == ~0u)
                continue;
            const u16 h = f32_to_fp16(scale_value(rng, extreme));
            memcpy(block + off, &h, 2);
        }
        // Q8_0's quantiser writes -127..127 (the kernels without VNNI rely on it).
        if (f == Format::Q8_0)
            for (u32 i = 2; i < info.block_bytes; ++i)
                if (block[i] == 0x80)
                    block[i] = 0x81;
    }
}

void fill_activations(Format f, u8* out, u32 n, u32 t, Rng& rng, bool extreme)
{
    const FormatInfo& info = format_info(f);
    std::vector<float> x(n);
    const u64 token_bytes = weight_row_bytes(f, n);
    for (u32 tok = 0; tok < t; ++tok) {
        // Each block gets its own magnitude; some blocks are all zero, some extreme.
        const u32 block = info.block_values > 1 ? info.block_values : 32;
        for (u32 b = 0; b < n; b += block) {
            const u32 kind = rng.below(extreme ? 6 : 12);
            const float scale = kind == 0 ? 0.0f : kind == 1 && extreme ? 1e30f : kind == 2 && extreme ? 1e-30f
                                                                                                : rng.uniform(1e-3f, 8.0f);
            for (u32 i = b; i < b + block && i < n; ++i)
                x[i] = scale * rng.uniform(-1.0f, 1.0f);
            // Ties: the largest magnitude twice, with both signs.
            if (kind == 3 && b + 2 < n) {
                x[b + 1] = scale;
                x[b + 2] = -scale;
            }
        }
        info.quantize_row(x.data(), out + tok * token_bytes, n);
    }
}

namespace {

// Bit-for-bit against the reference; rows outside the range keep the sentinel.
Verdict compare_bits(const MatrixCase& c, const float* out, const float* ref)
{
    Verdict v;
    u64 differing = 0;
    for (u32 tok = 0; tok < c.t; ++tok)
        for (u32 row = 0; row < c.d; ++row) {
            const size_t i = static_cast<size_t>(tok) * c.d + row;
            const bool inside = row >= c.row_begin && row < c.row_end;
            if (!inside && !is_sentinel(out[i])) {
                v.ok = false;
                v.detail = format("out[%u][%u] outside rows [%llu, %llu) was written (%g)", tok, row,
                    static_cast<unsigned long long>(c.row_begin), static_cast<unsigned long long>(c.row_end), out[i]);
                return v;
            }
            if (inside && bits_of(out[i]) != bits_of(ref[i]) && differing++ == 0) {
                v.ok = false;
                v.detail = format("out[%u][%u] = %.9g (0x%08x), reference %.9g (0x%08x)", tok, row, out[i], bits_of(out[i]), ref[i],
                    bits_of(ref[i]));
            }
        }
    if (differing)
        v.detail += format(": %llu output(s) not bit-identical to the reference", static_cast<unsigned long long>(differing));
    return v;
}

}

BlockFixture::BlockFixture(Format f, const MatrixCase& c, bool extreme)
    : m_case(c),
      m_w(weight_row_bytes(f, c.n) * c.d + c.misalign / 4 * 4, c.flush),
      m_x(weight_row_bytes(format_info(f).activation, c.n) * c.t + c.misalign / 4 * 4, c.flush),
      m_out(static_cast<size_t>(c.d) * c.t * 4, c.flush)
{
    Rng rng(c.seed);
    const size_t shift = c.misalign / 4 * 4;
    m_wp = m_w.as<u8>() + shift;
    m_xp = m_x.as<u8>() + shift;
    fill_weight_blocks(f, m_wp, m_w.size() - shift, rng, extreme);
    fill_activations(format_info(f).activation, m_xp, c.n, c.t, rng, extreme);
    m_ref.assign(static_cast<size_t>(c.d) * c.t, sentinel());
    KernelArgs args {};
    args.w = m_wp;
    args.x = m_xp;
    args.row_begin = c.row_begin;
    args.row_end = c.row_end;
    args.n = c.n;
    args.d = c.d;
    args.t = c.t;
    args.out = m_ref.data();
    format_info(f).reference(&args);
}

Verdict BlockFixture::check(KernelFn fn)
{
    float* op = m_out.as<float>();
    for (size_t i = 0; i < m_ref.size(); ++i)
        op[i] = sentinel();
    KernelArgs args {};
    args.w = m_wp;
    args.x = m_xp;
    args.row_begin = m_case.row_begin;
    args.row_end = m_case.row_end;
    args.n = m_case.n;
    args.d = m_case.d;
    args.t = m_case.t;
    args.out = op;
    fn(&args);
    return compare_bits(m_case, op, m_ref.data());
}

Verdict BlockFixture::check(const KernelConfig& config)
{
    auto generated = generate(config);
    if (generated.is_error()) {
        Verdict v;
        v.ok = false;
        v.detail = std::string("generation failed: ") + generated.error().message();
        return v;
    }
    GeneratedKernel k = generated.release_value();
    Verdict v = check(k.kernel());
    release(k);
    return v;
}

Verdict check_blocks(KernelFn fn, Format f, const MatrixCase& c, bool extreme)
{
    BlockFixture fixture(f, c, extreme);
    return fixture.check(fn);
}

Verdict run_matrix_case(const KernelConfig& config, const MatrixCase& c, bool extreme)
{
    auto generated = generate(config);
    if (generated.is_error()) {
        Verdict v;
        v.ok = false;
        v.detail = std::string("generation failed: ") + generated.error().message();
        return v;
    }
    GeneratedKernel k = generated.release_value();
    const Format f = config.op.format;
    Verdict v = is_q8g(config.op) ? check_q8(k.kernel(), c) : f == Format::F32 ? check_f32(k.kernel(), c)
                                                                               : check_blocks(k.kernel(), f, c, extreme);
    release(k);
    return v;
}

}
