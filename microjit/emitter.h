// The base of every kernel generator: one asmjit CodeHolder + x86::Assembler, the error
// plumbing, register hand-out, a constant pool and the few vector idioms every family needs
// in an ISA-neutral form (SSE2 two-operand code, AVX2 VEX, AVX-512 EVEX).
//
// A generator subclass assigns its registers once to named members, then emits
// prologue(); load_args(); main_loop(); tail(); epilogue() from generate(). Nothing here
// touches executable memory: assemble() leaves flattened code that copy_to() relocates
// and copies wherever the caller wants it (jit.cpp puts it into an ExecBlock).
//
// Errors: asmjit reports to EmitErrors (an asmjit::ErrorHandler) which records the first
// one; a generator that meets a shape it cannot handle calls fail(). Either way assemble()
// returns an ErrorOr failure (ErrorCode::JitEmit / the code given to fail()) and the caller
// keeps the reference kernel.
#pragma once

#include <asmjit/x86.h>

#include "kernel_lib/base/error.h"
#include "microjit/kernel_config.h"

namespace mjit {

namespace x86 = asmjit::x86;

class EmitErrors final : public asmjit::ErrorHandler {
public:
    void handleError(asmjit::Error error, const char* message, asmjit::BaseEmitter* origin) override;

    u32 count() const { return m_count; }
    asmjit::Error first() const { return m_first; }
    const char* first_message() const { return m_message; }

private:
    u32 m_count = 0;
    asmjit::Error m_first = 0;
    char m_message[112] {};
};

// How to load the first `dwords` 32-bit elements of a vector and zero the rest without
// touching the memory beyond them (row tails, partial Q8 groups). Prepared once per kernel
// by setup_tail(): an AVX2 vmaskmov mask register, an AVX-512 k register, or an SSE2
// scratch register for the movq/movd sequence.
struct Tail {
    u32 dwords = 0;  // 0 = no tail
    x86::Vec mask;   // AVX2
    x86::KReg k;     // AVX-512
    x86::Vec tmp;    // SSE2
};

class Emitter {
public:
    explicit Emitter(const KernelConfig& config);
    virtual ~Emitter() = default;
    Emitter(const Emitter&) = delete;
    Emitter& operator=(const Emitter&) = delete;

    // Runs generate(), emits the constant pool and flattens: code_size() is then final.
    kl::ErrorOr<void> assemble();
    usize code_size() const;
    // Relocates the flattened code to `base_address` and copies it into `dest`.
    kl::ErrorOr<void> copy_to(u8* dest, usize capacity, u64 base_address);

protected:
    virtual void generate() = 0;

    // A failure found by the generator itself (first one wins; emission may go on).
    void fail(kl::ErrorCode code, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
    bool failed() const { return m_failed || m_errors.count() != 0; }

    x86::Assembler& as() { return m_as; }
    const KernelConfig& config() const { return m_config; }
    Isa isa() const { return m_config.isa; }
    bool is_sse() const { return m_config.isa == Isa::Sse2; }
    bool is_avx512() const { return m_config.isa == Isa::Avx512; }
    u32 vbytes() const { return vector_bytes(m_config.isa); }

    // ---- registers -------------------------------------------------------------------
    // The next free vector register of full width (xmm/ymm/zmm); fails the generation
    // when the ISA has no more (the config asks for too many rows/tokens in flight).
    x86::Vec new_vec();
    // A vector register from the low 16 (VEX-encodable), also full width.
    x86::Vec new_low_vec();
    u32 vecs_used() const { return m_low_used + m_high_used; }
    static u32 vec_budget(Isa isa) { return isa == Isa::Avx512 ? 32 : 16; }
    // The next free general register (caller-saved first, then callee-saved, which the
    // prologue pushes). rdi always holds the argument pointer.
    x86::Gp new_gp();
    x86::KReg new_k();

    void prologue();  // saves the callee-saved registers handed out, reserves the stack
    void epilogue();  // releases the stack, restores them, vzeroupper after AVX code, ret
    // Scratch bytes on the stack between prologue and epilogue (call before prologue);
    // stack_slot(offset) addresses them. No red zone is assumed (kernel code has none).
    void reserve_stack(u32 bytes) { m_stack_bytes = (bytes + 31) / 32 * 32; }
    static x86::Mem stack_slot(i32 offset) { return x86::ptr(x86::rsp, offset); }

    // ---- constants (64-byte aligned pool after the code, read RIP-relative) ---------
    x86::Mem constant(const void* data, u32 bytes);
    x86::Mem constant_dwords(u32 value, u32 count);  // `count` copies of a 32-bit value

    // ---- tails ------------------------------------------------------------------------
    // Call once, before the first load_tail; `scratch` is clobbered (AVX-512 mask setup).
    void setup_tail(Tail& tail, u32 dwords, const x86::Gp& scratch);
    void load_tail(const x86::Vec& dst, const x86::Mem& src, const Tail& tail);

    // ---- vector idioms ----------------------------------------------------------------
    void v_zero(const x86::Vec& v);
    void v_load(const x86::Vec& dst, const x86::Mem& src, bool aligned = false);
    void v_store(const x86::Mem& dst, const x86::Vec& src, bool aligned = false);
    void v_copy(const x86::Vec& dst, const x86::Vec& src);
    // acc += a * b (b a register or memory); SSE2 multiplies into `tmp` first.
    void v_fma(const x86::Vec& acc, const x86::Vec& a, const asmjit::Operand& b, const x86::Vec& tmp);
    void v_add(const x86::Vec& dst, const x86::Vec& src);  // dst += src
    void prefetch(const x86::Mem& m);
    // Sums each of `accs[0..count)` (count 1..4) across its lanes and stores the `count`
    // sums as consecutive floats at `out`. Destroys the accumulators; `tmp` must be a
    // low register (new_low_vec).
    void reduce_store(const x86::Vec* accs, u32 count, const x86::Mem& out, const x86::Vec& tmp);
    // The same, but sum i goes to outs[i] (rows that are not adjacent in memory).
    void reduce_scatter(const x86::Vec* accs, u32 count, const x86::Mem* outs, const x86::Vec& tmp);

    // A memory operand of the ISA's vector width.
    static x86::Mem vmem(const x86::Gp& base, i64 disp);
    static x86::Mem vmem(const x86::Gp& base, const x86::Gp& index, i64 disp);

private:
    void emit_constant_pool();
    // Sums accs[i] across lanes into lane i of the returned register (destroys accs).
    x86::Xmm reduce_lanes(const x86::Vec* accs, u32 count, const x86::Vec& tmp);
    void hadd(const x86::Vec& dst, const x86::Vec& a, const x86::Vec& b, const x86::Vec& tmp);

    KernelConfig m_config;
    EmitErrors m_errors;
    asmjit::CodeHolder m_code;
    x86::Assembler m_as;

    bool m_failed = false;
    kl::ErrorCode m_fail_code = kl::ErrorCode::Ok;
    char m_fail_message[160] {};

    u32 m_low_used = 0;   // low registers handed out (0..15)
    u32 m_high_used = 0;  // AVX-512: 16..31 handed out
    u32 m_gp_used = 0;
    u32 m_k_used = 0;
    u32 m_stack_bytes = 0;
    bool m_assembled = false;

    static constexpr u32 max_constants = 12;
    struct Constant {
        asmjit::Label label;
        u8 bytes[64];
        u32 size;
    };
    Constant m_constants[max_constants];
    u32 m_constant_count = 0;
};

}
