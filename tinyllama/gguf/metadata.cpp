// Typed access to GGUF metadata values (see gguf.h): getters that name the key, what it
// holds and what was expected, and element access for arrays.
#include <string.h>

#include "kernel_lib/base/unaligned.h"
#include "tinyllama/gguf/gguf.h"

namespace tllama::gguf {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

using ull = unsigned long long;

// An integer value of any width as a 128-bit-safe pair: (negative, magnitude).
bool read_integer(ValueType type, const u8* p, i64& as_signed, u64& as_unsigned, bool& negative)
{
    negative = false;
    switch (type) {
    case ValueType::U8: as_unsigned = p[0]; break;
    case ValueType::U16: as_unsigned = kl::read_unaligned<u16>(p); break;
    case ValueType::U32: as_unsigned = kl::read_u32(p); break;
    case ValueType::U64: as_unsigned = kl::read_u64(p); break;
    case ValueType::I8: as_signed = static_cast<i8>(p[0]); negative = as_signed < 0; break;
    case ValueType::I16: as_signed = kl::read_unaligned<i16>(p); negative = as_signed < 0; break;
    case ValueType::I32: as_signed = kl::read_i32(p); negative = as_signed < 0; break;
    case ValueType::I64: as_signed = kl::read_unaligned<i64>(p); negative = as_signed < 0; break;
    default: return false;
    }
    const bool is_signed = type == ValueType::I8 || type == ValueType::I16 || type == ValueType::I32 || type == ValueType::I64;
    if (is_signed && !negative)
        as_unsigned = static_cast<u64>(as_signed);
    if (!is_signed)
        as_signed = as_unsigned > static_cast<u64>(INT64_MAX) ? INT64_MAX : static_cast<i64>(as_unsigned);
    return true;
}

ErrorOr<const KeyValue*> require(const File& f, const char* key)
{
    const KeyValue* kv = find_key(f, key);
    if (!kv)
        return Error::make(ErrorCode::GgufMetadata, "gguf: key %s is missing", key);
    return kv;
}

Error wrong_type(const char* key, const Value& v, const char* expected)
{
    return Error::make(ErrorCode::GgufMetadata, "gguf: key %s is a%s %s, expected %s", key,
        v.type == ValueType::Array || v.type == ValueType::I8 ? "n" : "", value_type_name(v.type), expected);
}

// Any integer value within [lo, hi].
ErrorOr<i64> integer_in(const File& f, const char* key, i64 lo, u64 hi)
{
    const KeyValue* kv = TRY(require(f, key));
    i64 s = 0;
    u64 u = 0;
    bool negative;
    if (!read_integer(kv->value.type, kv->value.data, s, u, negative))
        return wrong_type(key, kv->value, "an integer");
    if (negative && s < lo)
        return Error::make(ErrorCode::GgufMetadata, "gguf: key %s is %lld, expected %lld..%llu", key, static_cast<long long>(s),
            static_cast<long long>(lo), static_cast<ull>(hi));
    if (!negative && u > hi)
        return Error::make(ErrorCode::GgufMetadata, "gguf: key %s is %llu, expected %lld..%llu", key, static_cast<ull>(u),
            static_cast<long long>(lo), static_cast<ull>(hi));
    return negative ? s : static_cast<i64>(u);
}

}

ErrorOr<u32> get_u32(const File& f, const char* key)
{
    return static_cast<u32>(TRY(integer_in(f, key, 0, 0xffffffffu)));
}

ErrorOr<u64> get_u64(const File& f, const char* key)
{
    const KeyValue* kv = TRY(require(f, key));
    i64 s = 0;
    u64 u = 0;
    bool negative;
    if (!read_integer(kv->value.type, kv->value.data, s, u, negative))
        return wrong_type(key, kv->value, "an integer");
    if (negative)
        return Error::make(ErrorCode::GgufMetadata, "gguf: key %s is %lld, expected a count (>= 0)", key, static_cast<long long>(s));
    return u;
}

ErrorOr<i32> get_i32(const File& f, const char* key)
{
    return static_cast<i32>(TRY(integer_in(f, key, INT32_MIN, INT32_MAX)));
}

ErrorOr<float> get_f32(const File& f, const char* key)
{
    const KeyValue* kv = TRY(require(f, key));
    if (kv->value.type == ValueType::F32)
        return kl::read_unaligned<float>(kv->value.data);
    if (kv->value.type == ValueType::F64)
        return static_cast<float>(kl::read_unaligned<double>(kv->value.data));
    return wrong_type(key, kv->value, "a float");
}

ErrorOr<bool> get_bool(const File& f, const char* key)
{
    const KeyValue* kv = TRY(require(f, key));
    if (kv->value.type != ValueType::Bool)
        return wrong_type(key, kv->value, "a bool");
    return kv->value.data[0] != 0;
}

ErrorOr<StringView> get_string(const File& f, const char* key)
{
    const KeyValue* kv = TRY(require(f, key));
    if (kv->value.type != ValueType::String)
        return wrong_type(key, kv->value, "a string");
    return StringView { reinterpret_cast<const char*>(kv->value.data), kv->value.count };
}

ErrorOr<Value> get_array(const File& f, const char* key, ValueType element, u64 count)
{
    const KeyValue* kv = TRY(require(f, key));
    if (kv->value.type != ValueType::Array)
        return wrong_type(key, kv->value, "an array");
    const Value& v = kv->value;
    const bool integers_ok = element == ValueType::I32 && v.element != ValueType::F32 && v.element != ValueType::F64 &&
        v.element != ValueType::String && v.element != ValueType::Bool;
    if (v.element != element && !integers_ok)
        return Error::make(ErrorCode::GgufMetadata, "gguf: key %s is an array of %s, expected an array of %s", key,
            value_type_name(v.element), value_type_name(element));
    if (count != ~0ull && v.count != count)
        return Error::make(ErrorCode::GgufMetadata, "gguf: key %s has %llu elements, expected %llu", key, static_cast<ull>(v.count),
            static_cast<ull>(count));
    return v;
}

ErrorOr<u32> get_u32_or(const File& f, const char* key, u32 fallback)
{
    return find_key(f, key) ? get_u32(f, key) : ErrorOr<u32>(fallback);
}

ErrorOr<float> get_f32_or(const File& f, const char* key, float fallback)
{
    return find_key(f, key) ? get_f32(f, key) : ErrorOr<float>(fallback);
}

ErrorOr<bool> get_bool_or(const File& f, const char* key, bool fallback)
{
    return find_key(f, key) ? get_bool(f, key) : ErrorOr<bool>(fallback);
}

i64 array_int(const Value& a, u64 index)
{
    const u32 size = a.element == ValueType::U8 || a.element == ValueType::I8 ? 1
        : a.element == ValueType::U16 || a.element == ValueType::I16      ? 2
        : a.element == ValueType::U32 || a.element == ValueType::I32      ? 4
                                                                          : 8;
    i64 s = 0;
    u64 u = 0;
    bool negative;
    VERIFY(index < a.count && read_integer(a.element, a.data + index * size, s, u, negative));
    return s;
}

float array_f32(const Value& a, u64 index)
{
    VERIFY(index < a.count && a.element == ValueType::F32);
    return kl::read_unaligned<float>(a.data + index * 4);
}

StringView next_string(const u8*& cursor)
{
    const u64 length = kl::read_u64(cursor);
    StringView s { reinterpret_cast<const char*>(cursor + 8), length };
    cursor += 8 + length;
    return s;
}

}
