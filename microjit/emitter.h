// The base of every kernel generator: one asmjit CodeHolder + x86::Assembler, the error
// plumbing, register hand-out, a constant pool and the few vector idioms every family needs
// in an ISA-neutral form (SSE2 two-operand code, AVX2 VEX, AVX-512 EVEX).
//
// A generator subclass assigns its registers once to named members, then emits
// prologue(); load_args(); main_loop(); tail(); epilogue() from generate(). Nothing here
// touches executable memory: assemble() leaves flattened, position-independent code that
// copy_to() copies wherever the caller wants it (jit.cpp puts it into an ExecBlock).
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

// The assembler every generator emits through: asmjit's, with one check in front of each
// instruction. The kernel image carries asmjit's instruction tables pruned to the
// instructions the sources name (scripts/kernel-insts, boot/tools/prune-asmjit.main.cpp),
// and asmjit would encode a pruned (zeroed) entry as no bytes at all, without an error:
// wrong code. Here such an instruction is an asmjit error (kErrorInvalidInstruction) that
// names its id, so the generation fails and the reference kernel stays. Host builds, whose
// tables are whole, can also show every instruction to an observer (the tests).
class Assembler final : public x86::Assembler {
public:
    asmjit::Error _emit(asmjit::InstId id, const asmjit::Operand_& o0, const asmjit::Operand_& o1,
        const asmjit::Operand_& o2, const asmjit::Operand_* rest) override;
};

#ifdef BAREFLOW_HOST
// Host tests: `observer` sees the id of every instruction any generator emits from now on
// (null stops it). Not thread-safe, like generation itself.
using InstObserver = void (*)(void* context, asmjit::InstId id);
void set_inst_observer(InstObserver observer, void* context);
#endif

// How to load the first `dwords` 32-bit elements of a vector and zero the rest without
// touching the memory beyond them (row tails, partial Q8 groups and scale batches), and
// how to update only those lanes. Prepared once per kernel by setup_tail(): an AVX2
// vmaskmov/vblendv mask register, an AVX-512 k register, or for SSE2 a scratch register
// and an and/andn/or mask in the constant pool.
struct Tail {
    u32 dwords = 0;  // 0 = no tail
    x86::Vec mask;   // AVX2
    x86::KReg k;     // AVX-512
    x86::Vec tmp;    // SSE2
    x86::Mem bits;   // SSE2: the lane mask, 16 bytes
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
    // Copies the flattened code into `dest`; it runs at any address (an error if it would not).
    kl::ErrorOr<void> copy_to(u8* dest, usize capacity);

    // Vector registers an ISA has (xmm/ymm 0-15, zmm 0-31): the budget every generator's
    // check() and new_vec() count against.
    static constexpr u32 vec_budget(Isa isa) { return isa == Isa::Avx512 ? 32 : 16; }

protected:
    virtual void generate() = 0;

    // A failure found by the generator itself (first one wins; emission may go on).
    void fail(kl::ErrorCode code, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
    bool failed() const { return m_failed || m_errors.count() != 0; }

    Assembler& as() { return m_as; }
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
    // The next free general register (caller-saved first, then callee-saved, which the
    // prologue pushes). rdi always holds the argument pointer.
    x86::Gp new_gp();
    x86::KReg new_k();

    void prologue();  // saves the callee-saved registers handed out (no stack frame, no red zone)
    void epilogue();  // restores them, vzeroupper after AVX code, ret

    // ---- constants (64-byte aligned pool after the code, read RIP-relative) ---------
    x86::Mem constant(const void* data, u32 bytes);
    x86::Mem constant_dwords(u32 value, u32 count);  // `count` copies of a 32-bit value

    // ---- tails ------------------------------------------------------------------------
    // Call once, before the first load_tail; `scratch` is clobbered (AVX-512 mask setup).
    // An SSE2 tail gets a scratch register unless the generator lent it one (tail.tmp).
    void setup_tail(Tail& tail, u32 dwords, const x86::Gp& scratch);
    // Loads at the width of `dst` (xmm/ymm/zmm; at most the ISA's).
    void load_tail(const x86::Vec& dst, const x86::Mem& src, const Tail& tail);
    // dst = tail lanes ? src : dst (the other lanes keep their bits). `src` is clobbered
    // on SSE2.
    void blend_tail(const x86::Vec& dst, const x86::Vec& src, const Tail& tail);

    // ---- vector idioms ----------------------------------------------------------------
    void v_zero(const x86::Vec& v);
    void v_load(const x86::Vec& dst, const x86::Mem& src, bool aligned = false);
    void v_add(const x86::Vec& dst, const x86::Vec& src);  // dst += src (fp32)
    void prefetch(const x86::Mem& m);
    // The 4x4 transpose of four rows in[0..3] within each 128-bit block (aliases allowed:
    // they are only read): cols[k] = [in[0][k], in[1][k], in[2][k], in[3][k]] per block.
    // Uses tmp[0..4], which end up holding the columns except tmp[3], left free.
    void transpose4(const x86::Vec* in, const x86::Vec* tmp, x86::Vec* cols);
    // dst = 128-bit lane `lane` of src: vextracti128 (AVX-512: vextracti32x4), or for
    // float data the vextractf forms (the same bits in the float domain).
    void extract128(const x86::Xmm& dst, const x86::Vec& src, u32 lane, bool floats = false);
    // Folds the 128-bit lanes of v (`bytes` wide: 64, 32 or 16) into its xmm with `op`
    // (vpaddd, vaddps, vmaxps): the upper half onto the lower until 16 bytes are left.
    // `tmp` is clobbered.
    void fold_to_xmm(const x86::Vec& v, u32 bytes, const x86::Vec& tmp, asmjit::InstId op);
    // dst = per 128-bit lane [a0+a1, a2+a3, b0+b1, b2+b3] (i32; what vphaddd gives, which
    // EVEX and SSE2 lack and some cores run three times slower). SSE2: dst must be a.
    // `tmp` is clobbered.
    void pair_sums(const x86::Vec& dst, const x86::Vec& a, const x86::Vec& b, const x86::Vec& tmp);
    // Every i32 of each 128-bit lane of v = the sum of the lane's four. `tmp` is clobbered.
    void lane_sums(const x86::Vec& v, const x86::Vec& tmp);
    // Stores lanes 0..count-1 of xmm `r` to outs[i] (contiguous: as consecutive floats at
    // outs[0]). `tmp` is scratch.
    void store_lanes(const x86::Vec& r, u32 count, const x86::Mem* outs, bool contiguous, const x86::Vec& tmp);
    // Vector registers never handed out (up to `max`), for short-lived scratch.
    u32 unallocated_vecs(x86::Vec* out, u32 max) const;

    // A memory operand of the ISA's vector width.
    static x86::Mem vmem(const x86::Gp& base, i64 disp);
    static x86::Mem vmem(const x86::Gp& base, const x86::Gp& index, i64 disp);

private:
    void emit_constant_pool();

    KernelConfig m_config;
    EmitErrors m_errors;
    asmjit::CodeHolder m_code;
    Assembler m_as;

    bool m_failed = false;
    kl::ErrorCode m_fail_code = kl::ErrorCode::Ok;
    char m_fail_message[160] {};

    u32 m_low_used = 0;   // low registers handed out (0..15)
    u32 m_high_used = 0;  // AVX-512: 16..31 handed out
    u32 m_gp_used = 0;
    u32 m_k_used = 0;
    bool m_assembled = false;

    static constexpr u32 max_constants = 32;  // the K formats' grid uses about 26
    struct Constant {
        asmjit::Label label;
        u8 bytes[64];
        u32 size;
    };
    Constant m_constants[max_constants];
    u32 m_constant_count = 0;
};

}
