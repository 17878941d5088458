// Warm start from a saved profile (see warm_start.h).
#include "tinyllama/warm_start.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "microjit/isa.h"

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

// The dispatcher's slot of a decision's op and shape, or null (a shape this model does not use).
mjit::KernelSlot* slot_of(Transformer& t, mjit::Op op, const Decision& d)
{
    for (int i = 0; i < t.dispatcher.slot_count(); ++i) {
        mjit::KernelSlot& s = t.dispatcher.slot_at(i);
        if (s.op == op && s.shape.n == d.n && s.shape.d == d.d && s.shape.t == d.t && s.shape.gs == d.gs)
            return &s;
    }
    return nullptr;
}

mjit::KernelConfig config_of(mjit::Op op, kl::cpu::Isa isa, const Decision& d, mjit::Shape shape)
{
    mjit::KernelConfig config;
    config.op = op;
    config.isa = isa;
    config.rows = static_cast<u8>(d.rows);
    config.tokens = static_cast<u8>(d.tokens);
    config.unroll = static_cast<u8>(d.unroll);
    config.flags = static_cast<u8>(d.flags);
    config.prefetch = static_cast<u16>(d.prefetch);
    config.shape = shape;
    return config;
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
        if (!mjit::parse_op_name(d.op, op) || isa.is_error() || d.n == 0 || d.t == 0) {
            kl::print("warm start: decision %u (%s %s n%u d%u) is malformed; skipped\n", result.decisions, d.op, d.isa, d.n,
                d.d);
            ++result.skipped;
            continue;
        }
        mjit::KernelSlot* slot = slot_of(t, op, d);
        if (!slot) {
            ++result.skipped;
            continue;  // a shape this model does not use
        }
        const mjit::KernelConfig config = config_of(op, isa.value(), d, slot->shape);
        auto applied = jit.tiering().publish_verified(*slot, config, mjit::Tier::Tuned);
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
