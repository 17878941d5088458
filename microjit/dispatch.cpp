// Dispatcher slots (see dispatch.h).
#include "microjit/dispatch.h"

#include <stdio.h>

#include "kernel_lib/base/error.h"
#include "microjit/reference.h"

namespace mjit {

const char* op_name(Op op)
{
    switch (op) {
    case Op::MatvecF32: return "matvec_f32";
    case Op::MatvecQ8: return "matvec_q8";
    case Op::MatmulF32: return "matmul_f32";
    case Op::MatmulQ8: return "matmul_q8";
    }
    return "?";
}

void format_kernel_name(char* buffer, usize size, Op op, Shape shape)
{
    int used = snprintf(buffer, size, "%s_n%u_d%u", op_name(op), shape.n, shape.d);
    if (shape.t > 1 && used > 0 && static_cast<usize>(used) < size)
        used += snprintf(buffer + used, size - used, "_t%u", shape.t);
    if (op_is_q8(op) && used > 0 && static_cast<usize>(used) < size)
        snprintf(buffer + used, size - used, "_gs%u", shape.gs);
}

KernelSlot* Dispatcher::slot(Op op, Shape shape)
{
    for (int i = 0; i < m_count; ++i) {
        if (m_slots[i].op == op && m_slots[i].shape == shape)
            return &m_slots[i];
    }
    VERIFY(m_count < max_slots);
    KernelSlot& s = m_slots[m_count++];
    s.op = op;
    s.shape = shape;
    s.reference = ref::kernel_for(op);
    s.fn = s.reference;
    format_kernel_name(s.name, sizeof(s.name), op, shape);
    return &s;
}

}
