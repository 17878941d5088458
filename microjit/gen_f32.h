// Generator of fp32 matvec/matmul kernels: out[tok][row] = W[row] . x[tok] (kernel_abi.h).
//
// Specialised on n, d and t: every trip count, stride and tail is a constant. The kernel
// takes `rows` rows of W and `tokens` tokens at a time (register blocking: each weight
// vector is loaded once per block and multiplied into `tokens` accumulators), keeps
// `splits` independent accumulators per output when unrolling (to hide FMA latency), and
// reduces each block's accumulators with a horizontal-add tree into one vector store.
// Rows come from args->row_begin/row_end at run time: blocks of `rows`, then single rows
// (or, with variant::stripes, one row from each of `rows` equal stripes per step).
// Columns: full vectors in an unrolled loop (or straight-line code for short rows), then
// one masked tail for n % width (never a byte outside the row). Optional software
// prefetch `prefetch` bytes ahead on every weight row.
#pragma once

#include "microjit/emitter.h"

namespace mjit {

class F32MatmulGenerator final : public Emitter {
public:
    explicit F32MatmulGenerator(const KernelConfig& config);

    // Register budget and shape checks specific to this family.
    static kl::ErrorOr<void> check(const KernelConfig& config);

    static constexpr u32 max_accumulators = 32;

private:
    void generate() override;
    void assign_registers();
    void load_args();
    void main_loop();
    void stripe_setup();
    void stripe_loop();
    void token_blocks(u32 rows);
    void sweep(u32 rows, u32 toks);
    void chunk(u32 rows, u32 toks, bool indexed, i64 disp, u32 split);
    void prefetch_rows(u32 rows, bool indexed, i64 disp, u32 bytes);
    void tail(u32 rows, u32 toks);
    void store(u32 rows, u32 toks);

    const x86::Vec& acc(u32 row, u32 tok, u32 split) const { return m_acc[(row * m_toks + tok) * m_splits + split]; }
    x86::Mem w_mem(u32 row, bool indexed, i64 disp) const;
    x86::Mem x_mem(u32 tok, bool indexed, i64 disp) const;

    // Shape, baked in.
    u32 m_n, m_d, m_t;
    u32 m_rows, m_toks, m_unroll, m_splits;
    u32 m_vfloats;      // floats per vector
    u32 m_full;         // full vectors per row
    u32 m_tail_floats;  // n % m_vfloats
    i64 m_row_bytes;    // n * 4
    i64 m_out_tok_bytes;
    bool m_aligned;
    bool m_stripes;     // variant::stripes
    bool m_in_stripe;   // emitting the stripe loop: row r lives at m_stripe_w[r]
    bool m_unrolled;    // columns as straight-line code (no loop)
    i64 m_loop_bytes;   // bytes covered by the column loop (its index runs -m_loop_bytes .. 0)

    // General registers.
    x86::Gp m_args, m_row, m_row_end, m_w, m_xt, m_ot, m_col, m_tok_count, m_scratch;
    // Stripes: each stripe's current W row, the out pointer of stripe 0, the distance
    // between stripes in out (rows per stripe * 4), the steps left.
    x86::Gp m_stripe_w[4], m_stripe_out, m_stripe_gap, m_stripe_count;
    // Vector registers.
    x86::Vec m_acc[max_accumulators];
    x86::Vec m_xv[8];
    x86::Vec m_wv;
    x86::Vec m_tmp;  // SSE2 products
    Tail m_tail;
};

}
