// Generator of fixed-size copies (op copy, kernel_abi.h): out[0..n) = x[0..n), n bytes baked
// in, the two pointers read from the KernelArgs.
//
//   n < 16          two overlapping general-register moves (1, 2, 4 or 8 bytes wide)
//   small n         straight-line vector moves; the last vector overlaps the previous one
//                   instead of a byte tail (both ends stay inside the buffers)
//   large n         a loop of four vectors per iteration, then the overlapping tail
//   rep_movsb       `rep movsb` (the variant to pick when the CPU has ERMS/FSRM)
//   nontemporal     streaming stores (movntps) to the vector-aligned part of the
//                   destination, ordinary moves at both ends, then sfence: large copies
//                   that need not stay in the caches
// The aligned variant promises vector-aligned dst and src (aligned moves in the body).
#pragma once

#include "microjit/emitter.h"

namespace mjit {

class CopyGenerator final : public Emitter {
public:
    explicit CopyGenerator(const KernelConfig& config);

    static kl::ErrorOr<void> check(const KernelConfig& config);

private:
    void generate() override;
    void small_copy();
    void vector_copy();
    void move(i64 offset, u32 reg, bool aligned);
    void streaming_copy();
    void load(const x86::Vec& v, const x86::Mem& from, bool aligned);
    void store(const x86::Mem& to, const x86::Vec& v, bool aligned);

    x86::Vec w(const x86::Vec& v) const;

    u64 m_n;
    u32 m_width;  // vector bytes used (16/32/64), at most n
    bool m_aligned;
    x86::Gp m_dst, m_src, m_index;
    x86::Vec m_regs[4];
};

}
