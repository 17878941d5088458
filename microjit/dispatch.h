// The dispatcher: one slot per (operation, shape) the program uses, holding the kernel
// that currently serves it.
//
// Every matrix product of the engine goes through `call(slot, args)`. A slot starts on the
// reference kernel (tier 0); the micro-JIT later publishes a verified generated kernel by
// swapping `fn` atomically, so a call in flight always sees one complete kernel.
// Slots are created while the model is set up and never move afterwards.
#pragma once

#include "microjit/kernel_abi.h"

namespace mjit {

struct KernelSlot {
    Op op;
    Shape shape;
    KernelFn reference;  // tier 0, always valid
    KernelFn fn;         // current kernel; read with acquire, published with release
    char name[48];       // "matvec_f32_n288_d768"
};

class Dispatcher {
public:
    static constexpr int max_slots = 64;

    // The slot for (op, shape), created on first request (nullptr when the table is full,
    // which VERIFY()s: the engine asks for a handful of shapes per model).
    KernelSlot* slot(Op op, Shape shape);

    int slot_count() const { return m_count; }
    KernelSlot& slot_at(int index) { return m_slots[index]; }

    // Publishes `fn` for the slot (atomic pointer swap).
    static void publish(KernelSlot& slot, KernelFn fn) { __atomic_store_n(&slot.fn, fn, __ATOMIC_RELEASE); }

private:
    KernelSlot m_slots[max_slots] {};
    int m_count = 0;
};

inline void call(KernelSlot& slot, const KernelArgs& args)
{
    __atomic_load_n(&slot.fn, __ATOMIC_ACQUIRE)(&args);
}

// "matvec_f32_n288_d768", "matmul_q8_n288_d768_t16_gs64": the name of a kernel's shape.
void format_kernel_name(char* buffer, usize size, Op op, Shape shape);

}
