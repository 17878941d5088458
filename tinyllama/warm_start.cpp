// Warm start from a saved profile (see warm_start.h).
#include "tinyllama/warm_start.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "microjit/isa.h"
#include "microjit/reference.h"

namespace tllama {

namespace {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

struct Decision {
    char op[16] {};
    char isa[8] {};
    u32 n = 0, d = 0, t = 1, gs = 0, rows = 0, tokens = 1, unroll = 1, flags = 0, prefetch = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// One flat JSON object {"key": number | "string", ...} starting at text[*pos] == '{'.
ErrorOr<Decision> parse_object(const char* text, usize length, usize* pos)
{
    Decision d;
    usize i = *pos + 1;
    auto fail = [&](const char* what) {
        return Error::make(ErrorCode::InvalidArgument, "profile: %s at byte %zu", what, i);
    };
    for (;;) {
        while (i < length && (is_space(text[i]) || text[i] == ','))
            ++i;
        if (i >= length)
            return fail("unterminated decision object");
        if (text[i] == '}') {
            *pos = i + 1;
            return d;
        }
        if (text[i] != '"')
            return fail("expected a key");
        usize key_start = ++i;
        while (i < length && text[i] != '"')
            ++i;
        if (i >= length)
            return fail("unterminated key");
        usize key_length = i - key_start;
        ++i;
        while (i < length && is_space(text[i]))
            ++i;
        if (i >= length || text[i] != ':')
            return fail("expected ':'");
        ++i;
        while (i < length && is_space(text[i]))
            ++i;
        auto key_is = [&](const char* k) { return strlen(k) == key_length && memcmp(text + key_start, k, key_length) == 0; };
        if (i < length && text[i] == '"') {
            usize value_start = ++i;
            while (i < length && text[i] != '"')
                ++i;
            if (i >= length)
                return fail("unterminated string");
            usize value_length = i - value_start;
            ++i;
            char* target = key_is("op") ? d.op : key_is("isa") ? d.isa : nullptr;
            usize capacity = key_is("op") ? sizeof(d.op) : sizeof(d.isa);
            if (target) {
                if (value_length >= capacity)
                    return fail("string value too long");
                memcpy(target, text + value_start, value_length);
                target[value_length] = 0;
            }
            continue;
        }
        if (i >= length || text[i] < '0' || text[i] > '9')
            return fail("expected a number or a string");
        u64 value = 0;
        while (i < length && text[i] >= '0' && text[i] <= '9') {
            value = value * 10 + static_cast<u64>(text[i] - '0');
            if (value > 0xFFFFFFFFull)
                return fail("number out of range");
            ++i;
        }
        u32 v = static_cast<u32>(value);
        if (key_is("n"))
            d.n = v;
        else if (key_is("d"))
            d.d = v;
        else if (key_is("t"))
            d.t = v;
        else if (key_is("gs"))
            d.gs = v;
        else if (key_is("rows"))
            d.rows = v;
        else if (key_is("tokens"))
            d.tokens = v;
        else if (key_is("unroll"))
            d.unroll = v;
        else if (key_is("flags"))
            d.flags = v;
        else if (key_is("prefetch"))
            d.prefetch = v;
    }
}

bool op_from_name(const char* name, mjit::Op& op)
{
    const mjit::Op ops[] = { mjit::Op::MatvecF32, mjit::Op::MatvecQ8, mjit::Op::MatmulF32, mjit::Op::MatmulQ8 };
    for (mjit::Op candidate : ops) {
        if (strcmp(name, mjit::op_name(candidate)) == 0) {
            op = candidate;
            return true;
        }
    }
    return false;
}

// A weight matrix of the model with the slot's shape (layer 0 of the first role that has it).
bool matrix_for(const Transformer& t, const mjit::KernelSlot* slot, MatrixView& view)
{
    const MatmulSlots& s = t.slots;
    const TransformerWeights& w = t.weights;
    const struct {
        const mjit::KernelSlot* slot;
        const MatrixStack* stack;
    } roles[] = { { s.wq, &w.wq }, { s.wk, &w.wk }, { s.wv, &w.wv }, { s.wo, &w.wo }, { s.w1, &w.w1 }, { s.w2, &w.w2 },
        { s.w3, &w.w3 }, { s.wcls, &w.wcls } };
    for (const auto& role : roles) {
        if (role.slot == slot) {
            view = role.stack->layer(0);
            return true;
        }
    }
    return false;
}

// Verifies and publishes one decision on the model's weights with a synthetic input.
ErrorOr<void> apply(Transformer& t, EngineJit& jit, mjit::KernelSlot* slot, const mjit::KernelConfig& config)
{
    MatrixView view;
    if (!matrix_for(t, slot, view))
        return Error::make(ErrorCode::InvalidArgument, "no weights of this shape");
    const u32 n = slot->shape.n, d = slot->shape.d;
    const bool q8 = mjit::op_is_q8(slot->op);
    const u64 bytes = static_cast<u64>(n) * sizeof(float) * 2 + static_cast<u64>(d) * sizeof(float) + n + 64;
    u8* scratch = static_cast<u8*>(TRY(kl::mem::allocate(bytes, 64, "warm-start sample")));
    float* x = reinterpret_cast<float*>(scratch);
    float* xq_scale = x + n;
    float* out = xq_scale + n;
    i8* xq = reinterpret_cast<i8*>(out + d);
    u32 state = 0x9E3779B9u;
    for (u32 j = 0; j < n; ++j) {
        state = state * 1664525u + 1013904223u;
        x[j] = static_cast<float>(static_cast<i32>(state >> 8) - (1 << 23)) / static_cast<float>(1 << 23);
    }
    mjit::KernelArgs sample {};
    sample.out = out;
    sample.w = view.w;
    sample.w_scale = view.scale;
    sample.x = x;
    sample.row_begin = 0;
    sample.row_end = d;
    sample.n = n;
    sample.d = d;
    sample.t = 1;
    sample.gs = slot->shape.gs;
    if (q8) {
        mjit::ref::quantize_q8(x, xq, xq_scale, n, slot->shape.gs);
        sample.x = xq;
        sample.x_scale = xq_scale;
    }
    auto result = jit.tiering().warm_start(*slot, config, sample);
    kl::mem::release(scratch);
    return result;
}

}

ErrorOr<WarmStartResult> warm_start(Transformer& t, EngineJit& jit, const char* text, usize length)
{
    WarmStartResult result {};
    const char* marker = "\"decisions\"";
    const char* found = nullptr;
    for (usize i = 0; i + strlen(marker) <= length; ++i) {
        if (memcmp(text + i, marker, strlen(marker)) == 0) {
            found = text + i;
            break;
        }
    }
    if (!found)
        return Error::make(ErrorCode::InvalidArgument, "profile: no \"decisions\" list (is this a BareFlow profile?)");
    usize pos = static_cast<usize>(found - text) + strlen(marker);
    while (pos < length && text[pos] != '[')
        ++pos;
    for (++pos; pos < length && text[pos] != ']'; ++pos) {
        if (text[pos] != '{')
            continue;
        Decision d = TRY(parse_object(text, length, &pos));
        --pos;  // the loop's ++pos steps past the object
        ++result.decisions;

        mjit::Op op;
        auto isa = mjit::parse_isa(d.isa);
        if (!op_from_name(d.op, op) || isa.is_error() || d.n == 0 || d.d == 0 || d.t == 0) {
            kl::print("warm start: decision %u (%s %s n%u d%u) is malformed; skipped\n", result.decisions, d.op, d.isa, d.n,
                d.d);
            ++result.skipped;
            continue;
        }
        mjit::KernelSlot* slot = nullptr;
        for (int i = 0; i < t.dispatcher.slot_count(); ++i) {
            mjit::KernelSlot& s = t.dispatcher.slot_at(i);
            if (s.op == op && s.shape.n == d.n && s.shape.d == d.d && s.shape.t == d.t && s.shape.gs == d.gs)
                slot = &s;
        }
        if (!slot) {
            ++result.skipped;
            continue;  // a shape this model does not use
        }
        mjit::KernelConfig config;
        config.op = mjit::kernel_op(op);
        config.isa = isa.value();
        config.rows = static_cast<u8>(d.rows);
        config.tokens = static_cast<u8>(d.tokens);
        config.unroll = static_cast<u8>(d.unroll);
        config.flags = static_cast<u8>(d.flags);
        config.prefetch = static_cast<u16>(d.prefetch);
        config.shape = slot->shape;
        auto applied = apply(t, jit, slot, config);
        if (applied.is_error()) {
            kl::print("warm start: %s stays with tuning: %s\n", slot->name, applied.error().message());
            ++result.skipped;
        } else {
            ++result.published;
        }
    }
    return result;
}

}
