// Operation names (see op.h).
#include "microjit/op.h"

#include <stdio.h>
#include <string.h>

namespace mjit {

const char* op_kind_name(OpKind kind)
{
    constexpr const char* names[op_kind_count] = { "matvec", "matmul", "quantize", "copy" };
    return static_cast<int>(kind) < op_kind_count ? names[static_cast<int>(kind)] : "?";
}

void format_op_name(char* buffer, usize size, Op op)
{
    if (op.kind == OpKind::Copy)
        snprintf(buffer, size, "copy");
    else
        snprintf(buffer, size, "%s_%s", op_kind_name(op.kind), format_info(op.format).name);
}

bool parse_op_name(const char* name, Op& op)
{
    for (int k = 0; k < op_kind_count; ++k) {
        for (int f = 0; f < format_count; ++f) {
            const Op candidate { static_cast<OpKind>(k), static_cast<Format>(f) };
            if (!format_info(candidate.format).name || (candidate.kind == OpKind::Copy && f != 0))
                continue;
            char text[32];
            format_op_name(text, sizeof(text), candidate);
            if (strcmp(text, name) == 0) {
                op = candidate;
                return true;
            }
        }
    }
    return false;
}

}
