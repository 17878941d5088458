// Helpers of the micro-JIT tests (see jit_test_support.h).
#include "tests/host/microjit/jit_test_support.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

KernelConfig varied_config(Op op, Shape shape, Isa isa, uint64_t salt)
{
    Rng rng(salt * 7919 + shape.n * 131 + shape.d * 31 + shape.t * 17 + shape.gs * 3 + static_cast<u8>(isa));
    KernelConfig c = default_config(op, shape, isa);
    const bool matmul = op == ops::matmul_f32 || op == ops::matmul_q8;
    for (int attempt = 0; attempt < 16; ++attempt) {
        c.rows = static_cast<u8>(1 + rng.below(8));
        c.tokens = matmul ? static_cast<u8>(1 + rng.below(shape.t < 4 ? shape.t : 4)) : 1;
        c.unroll = static_cast<u8>(1 + rng.below(4));
        c.prefetch = static_cast<u16>(rng.below(3) * 256);
        c.flags = 0;
        if (c.prefetch && rng.below(2))
            c.flags |= variant::prefetch_nta;
        if (is_q8g(op) && isa == Isa::Avx512 && host_caps().avx512vnni && rng.below(2))
            c.flags |= variant::vnni;
        if (c.rows >= 2 && c.rows <= 4 && rng.below(3) == 0)
            c.flags |= variant::stripes;
        if (!validate(c).is_error())
            return c;
    }
    return default_config(op, shape, isa);
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

Verdict run_matrix_case(const KernelConfig& config, const MatrixCase& c)
{
    auto generated = generate(config);
    if (generated.is_error()) {
        Verdict v;
        v.ok = false;
        v.detail = std::string("generation failed: ") + generated.error().message();
        return v;
    }
    GeneratedKernel k = generated.release_value();
    Verdict v = is_q8g(config.op) ? check_q8(k.kernel(), c) : check_f32(k.kernel(), c);
    release(k);
    return v;
}

}
