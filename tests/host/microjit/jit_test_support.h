// Helpers of the micro-JIT tests: guard-paged buffers, deterministic data, the bitwise
// comparison with the reference kernels (backed by independent double-precision oracles),
// and which ISAs this host can run.
//
// Every buffer a kernel touches in these tests is a GuardedBuffer: its bytes sit flush
// against a PROT_NONE page (after it, or before it), so a single byte read or written out
// of bounds kills the test binary with SIGSEGV instead of passing unnoticed.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string>
#include <vector>

#include "microjit/jit.h"

namespace mjit::test {

enum class Flush { End, Start };

class GuardedBuffer {
public:
    // `bytes` usable bytes (0 allowed). Flush::End: the last byte touches the guard page
    // after it. Flush::Start: the first byte sits `offset` bytes after the guard before it.
    GuardedBuffer(size_t bytes, Flush flush = Flush::End, size_t offset = 0);
    ~GuardedBuffer();
    GuardedBuffer(const GuardedBuffer&) = delete;
    GuardedBuffer& operator=(const GuardedBuffer&) = delete;
    GuardedBuffer(GuardedBuffer&& other) noexcept;

    template<typename T>
    T* as() { return reinterpret_cast<T*>(m_data); }
    size_t size() const { return m_size; }

private:
    uint8_t* m_map = nullptr;
    size_t m_map_size = 0;
    uint8_t* m_data = nullptr;
    size_t m_size = 0;
};

// Small deterministic generator (xorshift64*), independent of the C library.
class Rng {
public:
    explicit Rng(uint64_t seed) : m_state(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next();
    uint32_t below(uint32_t bound) { return static_cast<uint32_t>(next() % bound); }
    float uniform(float lo, float hi);
    int8_t q8() { return static_cast<int8_t>(static_cast<int>(below(255)) - 127); }

private:
    uint64_t m_state;
};

// The ISAs whose kernels these tests run, lowest first: those the CPU supports, capped by
// the environment variable MJIT_TEST_ISA (sse2|avx2|avx512) to rehearse smaller hosts.
std::vector<Isa> runnable_isas();
bool runnable(const KernelConfig& config);
// All three generated ISAs (emission is tested for all of them on every host).
std::vector<Isa> all_isas();

// A one-line description of the config for failure messages.
std::string describe(const KernelConfig& config);

// Result of comparing one kernel run with the oracle.
struct Verdict {
    bool ok = true;
    std::string detail;  // first mismatch
};

// Matrix kernels: run `fn` (and the reference kernel) on random data in guarded buffers
// with rows [row_begin, row_end) and demand every output BIT-IDENTICAL to the reference's
// (reference.h defines the summation order every generated kernel follows); the reference
// itself must be within 1e-5 * sum|w x| + 1e-6 of a double-precision oracle. Rows outside
// the range must keep their sentinel.
struct MatrixCase {
    u32 n, d, t, gs;
    u64 row_begin, row_end;
    Flush flush = Flush::End;
    size_t misalign = 0;  // bytes added before w and x (Flush::Start)
    uint64_t seed = 1;
};
Verdict check_f32(KernelFn fn, const MatrixCase& c);
Verdict check_q8(KernelFn fn, const MatrixCase& c);

// Block formats (F16, BF16, Q8_0, Q4_0, the K formats ...: formats.h): random weight blocks
// (random bytes, the halves finite; `extreme` draws the scales from the whole fp16 range:
// zeros, subnormals, 65504, so that sums overflow to infinity and NaN), activations
// quantised from random floats by the activation format's reference quantiser (whose
// blocks are what the engine passes); every output bit-identical to the format's
// reference kernel, rows outside the range untouched. `misalign` moves w and x by a
// multiple of 4 bytes (the reference reads the blocks' fields as the structs they are).
Verdict check_blocks(KernelFn fn, Format format, const MatrixCase& c, bool extreme = false);
// The same inputs and reference output kept for several kernels (big shapes).
class BlockFixture {
public:
    BlockFixture(Format format, const MatrixCase& c, bool extreme = false);
    Verdict check(KernelFn fn);
    Verdict check(const KernelConfig& config);  // generates, checks, releases

private:
    MatrixCase m_case;
    GuardedBuffer m_w, m_x, m_out;
    u8* m_wp;
    u8* m_xp;
    std::vector<float> m_ref;
};
// Random weight rows / activation tokens of a format, as check_blocks() makes them.
void fill_weight_blocks(Format format, u8* rows, u64 bytes, Rng& rng, bool extreme);
void fill_activations(Format format, u8* out, u32 n, u32 t, Rng& rng, bool extreme);

// Generates `config`, runs it on `c` and returns the verdict (generation errors included).
Verdict run_matrix_case(const KernelConfig& config, const MatrixCase& c, bool extreme = false);

// A config with deterministic, shape-dependent knobs (rows, tokens, unroll, prefetch),
// clamped into what validate() accepts, so a sweep over shapes covers the variants.
// "matvec_f32", "copy", ... (for messages).
std::string op_text(Op op);

// A shape: n columns, d rows, t tokens, groups of gs (Q8G formats).
Shape shape_of(u32 n, u32 d = 1, u32 t = 1, u32 gs = 0);

KernelConfig varied_config(Op op, Shape shape, Isa isa, uint64_t salt);

}
