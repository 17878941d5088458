// The loops every matrix generator shares (fp32 and Q8): rows, stripes and tokens.
//
// A subclass describes its rows (bytes of a W row, of a w_scale row if any, of an x and
// x_scale token) and the rows/tokens it keeps in flight, then calls row_loops(), which
// calls back sweep(rows, toks) + store(rows, toks) for each block:
//   - blocks of `rows` adjacent rows while they last, then single rows; or, with
//     variant::stripes, one row from each of `rows` equal stripes of the range per step
//     (every load walks one linear stream), the leftover rows again one at a time;
//   - per block, the tokens `toks` at a time, then the remainder (the first group filling
//     the step cache, if the subclass keeps one, and the others reading it).
// Within a sweep, column_loop() walks the columns the subclass described (m_columns) and
// calls back column_step() for each step of them (a chunk of fp32 values, a step of
// blocks, a batch of Q8 groups).
// Rows come from args->row_begin/row_end at run time (row_end stays in memory), so any
// split of the rows across cores works; an empty or inverted range writes nothing.
#pragma once

#include "microjit/emitter.h"

namespace mjit {

class MatrixGenerator : public Emitter {
protected:
    explicit MatrixGenerator(const KernelConfig& config) : Emitter(config) {}

    struct Rows {
        i64 w_row = 0;      // bytes per row of W
        i64 ws_row = 0;     // bytes per row of w_scale; 0 = none (fp32)
        i64 x_tok = 0;      // bytes per token of x
        i64 xs_tok = 0;     // bytes per token of x_scale
        u32 rows = 1;       // in flight
        u32 toks = 1;       // in flight
        u32 stripes = 0;    // 0, or = rows (2..4)
    };
    // General registers of the loops (call first in assign_registers()).
    void assign_row_registers(const Rows& rows);
    // Row pointers of row_begin (call in load_args()).
    void load_row_args();
    void row_loops();
    virtual void sweep(u32 rows, u32 toks) = 0;
    virtual void store(u32 rows, u32 toks) = 0;
    // The step cache: a subclass whose steps do work that does not depend on the tokens
    // (decoding the row block's scales) may do it in a block's first token group only and
    // keep each step's results in step_cache_bytes() (0: no cache), which row_loops()
    // reserves below the stack pointer, for the groups after it to read. m_pass says which
    // group a sweep emits. Work that does not depend on the rows may instead fill it once
    // per call, in prepare_columns(), which row_loops() calls before the first row.
    enum class Pass { Alone, Fill, Reuse };
    virtual u32 step_cache_bytes() const { return 0; }
    virtual void prepare_columns() {}

    // The columns of a row, as column_loop() walks them: `steps` whole steps of `bytes` of W
    // (index m_col) and of `second_bytes` of a second stream with its own index `second`
    // (the block formats' activations, Q8's scales; none for fp32), then a short last step
    // if `last`. The first `loop_steps` steps (0: none) run as a loop of `unroll` steps per
    // iteration whose indices count up to 0; the others are straight-line code, which
    // addresses through the indices too when `indexed` (Q8's long groups move m_col in
    // their own loop). A straight-line step prefetches `straight_prefetch` bytes ahead on
    // every W row, an iteration of the loop its `unroll` steps.
    struct Columns {
        u32 steps = 0, loop_steps = 0, unroll = 1;
        i64 bytes = 0, second_bytes = 0;
        x86::Gp second;
        bool indexed = false, last = false;
        u32 straight_prefetch = 0;
    };
    // The columns of a sweep (call from sweep()): column_step() for every step, prefetch_rows()
    // after each straight-line step and each loop iteration when the config prefetches.
    void column_loop(u32 rows, u32 toks);
    // One step at byte `disp` of W (`second_disp` of the second stream); `last`: the short
    // last step.
    virtual void column_step(u32 rows, u32 toks, bool indexed, i64 disp, i64 second_disp, bool last) = 0;
    // Software prefetch of `bytes` at config().prefetch bytes ahead of `disp` on each row in
    // flight (Q8 adds its scale rows).
    virtual void prefetch_rows(u32 rows, bool indexed, i64 disp, i64 second_disp, u32 bytes);
    void prefetch_row(u32 row, bool indexed, i64 disp, u32 bytes);

    // Addresses of row `row` / token `tok` of the current block at byte `disp`, optionally
    // plus the column index (m_col for W and x, m_scol for the scales).
    x86::Mem w_mem(u32 row, bool indexed, i64 disp) const { return row_mem(m_w, m_stripe_w, m_rows.w_row, row, indexed, disp); }
    x86::Mem ws_mem(u32 row, bool indexed, i64 disp) const { return row_mem(m_ws, m_stripe_ws, m_rows.ws_row, row, indexed, disp); }
    x86::Mem x_mem(u32 tok, bool indexed, i64 disp) const;
    x86::Mem xs_mem(u32 tok, bool indexed, i64 disp) const;
    // Where out[tok][row] of rows r0.. goes: contiguous (outs[0]) or, in a stripe step,
    // outs[i] for stripe i. Returns whether contiguous. May use m_scratch.
    bool out_mems(u32 r0, u32 tok, x86::Mem* outs);

    Rows m_rows;
    Columns m_columns;
    bool m_in_stripe = false;  // emitting the stripe loop
    Pass m_pass = Pass::Alone;
    x86::Gp m_args, m_row, m_w, m_ws, m_xt, m_xst, m_ot, m_col, m_scol, m_tok_count, m_scratch;

private:
    x86::Mem row_mem(const x86::Gp& base, const x86::Gp* stripe, i64 row_bytes, u32 row, bool indexed, i64 disp) const;
    void stripe_setup();
    void stripe_loop();
    void token_blocks(u32 rows);
    void advance(const x86::Gp* w, const x86::Gp* ws, u32 rows);

    // Stripes: each stripe's W and w_scale pointers (stripe 0's are m_w / m_ws), the out
    // pointer of stripe 0, the distance between stripes in out (rows per stripe * 4), the
    // steps left.
    x86::Gp m_stripe_w[4], m_stripe_ws[4], m_stripe_out, m_stripe_gap, m_stripe_count;
};

}
