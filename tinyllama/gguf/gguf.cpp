// The GGUF reader (see gguf.h): one pass over the file in layout order, every field
// checked against the bytes left before it is believed.
#include "tinyllama/gguf/gguf.h"

#include <string.h>

#include "kernel_lib/base/unaligned.h"
#include "kernel_lib/mem/alloc.h"
#include "tinyllama/sort.h"

namespace tllama::gguf {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

using ull = unsigned long long;

// Smallest encodings, for bounding counts by the bytes left: a key/value pair is a key
// length, one key byte, a type and a one-byte value; a tensor info a name length, one
// name byte, n_dims, one dimension, a type and an offset.
constexpr u64 min_kv_bytes = 8 + 1 + 4 + 1;
constexpr u64 min_tensor_bytes = 8 + 1 + 4 + 8 + 4 + 8;

u32 fixed_size(ValueType t)
{
    switch (t) {
    case ValueType::U8: case ValueType::I8: case ValueType::Bool: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
    default: return 0;  // string, array
    }
}

bool is_known(u32 t) { return t <= static_cast<u32>(ValueType::F64); }

// A bounded read position over the file. Every read names what it reads, and the reader
// knows whose field it is reading (a key or a tensor), so that a truncation says where.
class Reader {
public:
    Reader(const u8* base, u64 size) : m_base(base), m_size(size) {}

    u64 position() const { return m_pos; }
    u64 left() const { return m_size - m_pos; }
    const u8* here() const { return m_base + m_pos; }
    void set_context(const char* kind, StringView name)
    {
        m_kind = kind;
        m_name = name;
    }

    ErrorOr<const u8*> take(u64 bytes, const char* what)
    {
        if (bytes > left())
            return Error::make(ErrorCode::GgufTruncated, "gguf: the file ends inside %s%s%.*s at offset 0x%llx (%llu bytes needed, %llu left)",
                what, m_kind, static_cast<int>(kl::min<u64>(m_name.length, 80)), m_name.data, static_cast<ull>(m_pos),
                static_cast<ull>(bytes), static_cast<ull>(left()));
        const u8* p = here();
        m_pos += bytes;
        return p;
    }

    ErrorOr<u32> u32_(const char* what) { return kl::read_u32(TRY(take(4, what))); }
    ErrorOr<u64> u64_(const char* what) { return kl::read_u64(TRY(take(8, what))); }

    ErrorOr<StringView> string(const char* what)
    {
        const u64 length = TRY(u64_(what));
        const u8* p = TRY(take(length, what));
        return StringView { reinterpret_cast<const char*>(p), length };
    }

private:
    const u8* m_base;
    u64 m_size;
    u64 m_pos = 0;
    const char* m_kind = "";
    StringView m_name { "", 0 };
};

int printable_length(const StringView& s) { return static_cast<int>(kl::min<u64>(s.length, 80)); }

ErrorOr<void> check_bool(const u8* p, u64 count, const StringView& key)
{
    for (u64 i = 0; i < count; ++i)
        if (p[i] > 1)
            return Error::make(ErrorCode::GgufMetadata, "gguf: key %.*s: boolean value %u, expected 0 or 1", printable_length(key),
                key.data, p[i]);
    return {};
}

// Reads one value of `type` (not an array) into v.
ErrorOr<void> read_scalar(Reader& r, ValueType type, const StringView& key, Value& v)
{
    v.type = type;
    if (type == ValueType::String) {
        const StringView s = TRY(r.string("a string value"));
        v.data = reinterpret_cast<const u8*>(s.data);
        v.count = s.length;
        v.bytes = s.length;
        return {};
    }
    v.count = 1;
    v.bytes = fixed_size(type);
    v.data = TRY(r.take(v.bytes, "a value"));
    return type == ValueType::Bool ? check_bool(v.data, 1, key) : ErrorOr<void> {};
}

ErrorOr<void> read_array(Reader& r, const StringView& key, Value& v)
{
    v.type = ValueType::Array;
    const u32 element = TRY(r.u32_("an array's element type"));
    if (!is_known(element) || element == static_cast<u32>(ValueType::Array))
        return Error::make(ErrorCode::GgufMetadata, "gguf: key %.*s: array element type %u is not supported (%s)",
            printable_length(key), key.data, element, is_known(element) ? "arrays of arrays" : "unknown type");
    v.element = static_cast<ValueType>(element);
    v.count = TRY(r.u64_("an array's length"));
    const u64 start = r.position();
    v.data = r.here();
    if (v.element == ValueType::String) {
        // Each string is at least its 8-byte length: bound the count before walking.
        if (v.count > r.left() / 8)
            return Error::make(ErrorCode::GgufTruncated, "gguf: key %.*s: %llu strings cannot fit in the %llu bytes left",
                printable_length(key), key.data, static_cast<ull>(v.count), static_cast<ull>(r.left()));
        for (u64 i = 0; i < v.count; ++i)
            TRY(r.string("an array string"));
    } else {
        u64 bytes;
        if (!kl::checked_mul(v.count, fixed_size(v.element), bytes) || bytes > r.left())
            return Error::make(ErrorCode::GgufTruncated, "gguf: key %.*s: an array of %llu %s values does not fit in the %llu bytes left",
                printable_length(key), key.data, static_cast<ull>(v.count), value_type_name(v.element), static_cast<ull>(r.left()));
        TRY(r.take(bytes, "an array"));
        if (v.element == ValueType::Bool)
            TRY(check_bool(v.data, v.count, key));
    }
    v.bytes = r.position() - start;
    return {};
}

int compare_views(const StringView& a, const StringView& b)
{
    const int c = memcmp(a.data, b.data, kl::min(a.length, b.length));
    return c != 0 ? c : (a.length < b.length ? -1 : (a.length > b.length ? 1 : 0));
}

// The first name that occurs twice, found by sorting indices (n log n; the counts come
// from the file). Name i is the StringView at names + i * stride (the keys of the
// key/value table or the names of the tensor table). Returns -1 when all are distinct.
i64 find_duplicate(u64 count, const void* names, u64 stride, u32* order, u32* scratch)
{
    auto name_of = [&](u32 i) -> const StringView& {
        return *reinterpret_cast<const StringView*>(static_cast<const u8*>(names) + i * stride);
    };
    for (u64 i = 0; i < count; ++i)
        order[i] = static_cast<u32>(i);
    stable_sort(order, scratch, count, [&](u32 a, u32 b) { return compare_views(name_of(a), name_of(b)) < 0; });
    for (u64 i = 1; i < count; ++i)
        if (compare_views(name_of(order[i - 1]), name_of(order[i])) == 0)
            return order[i];
    return -1;
}

ErrorOr<void> read_header(Reader& r, File& f)
{
    const u32 file_magic = TRY(r.u32_("the magic"));
    if (file_magic != magic)
        return Error::make(ErrorCode::GgufHeader, "gguf: the file starts with 0x%08x, not the magic \"GGUF\" (is this a GGUF model?)",
            file_magic);
    f.version = TRY(r.u32_("the version"));
    if (f.version != 2 && f.version != 3) {
        const bool big_endian = f.version == 0x02000000u || f.version == 0x03000000u;
        return Error::make(ErrorCode::GgufHeader, "gguf: version %u is not supported (2 and 3 are%s)", f.version,
            big_endian ? "; this looks like a big-endian file" : (f.version == 1 ? "; version 1 has 32-bit counts" : ""));
    }
    f.tensor_count = TRY(r.u64_("the tensor count"));
    f.kv_count = TRY(r.u64_("the metadata count"));
    if (f.kv_count > r.left() / min_kv_bytes)
        return Error::make(ErrorCode::GgufHeader, "gguf: %llu metadata entries cannot fit in the %llu bytes of the file that follow",
            static_cast<ull>(f.kv_count), static_cast<ull>(r.left()));
    if (f.tensor_count > r.left() / min_tensor_bytes)
        return Error::make(ErrorCode::GgufHeader, "gguf: %llu tensor infos cannot fit in the %llu bytes of the file that follow",
            static_cast<ull>(f.tensor_count), static_cast<ull>(r.left()));
    return {};
}

ErrorOr<void> read_metadata(Reader& r, File& f, u32* order, u32* scratch)
{
    for (u64 i = 0; i < f.kv_count; ++i) {
        KeyValue& kv = f.kvs[i];
        const u64 at = r.position();
        r.set_context("", { "", 0 });
        kv.key = TRY(r.string("a metadata key"));
        r.set_context(" of key ", kv.key);
        if (kv.key.length == 0 || kv.key.length > 65535)
            return Error::make(ErrorCode::GgufMetadata, "gguf: metadata key %llu at offset 0x%llx is %llu bytes long, expected 1..65535",
                static_cast<ull>(i), static_cast<ull>(at), static_cast<ull>(kv.key.length));
        const u32 type = TRY(r.u32_("the value type"));
        if (!is_known(type))
            return Error::make(ErrorCode::GgufMetadata, "gguf: key %.*s has value type %u, which is not a GGUF type (0..12)",
                printable_length(kv.key), kv.key.data, type);
        kv.value = {};
        if (type == static_cast<u32>(ValueType::Array))
            TRY(read_array(r, kv.key, kv.value));
        else
            TRY(read_scalar(r, static_cast<ValueType>(type), kv.key, kv.value));
    }
    const i64 dup = find_duplicate(f.kv_count, &f.kvs->key, sizeof(KeyValue), order, scratch);
    if (dup >= 0)
        return Error::make(ErrorCode::GgufMetadata, "gguf: key %.*s occurs twice", printable_length(f.kvs[dup].key), f.kvs[dup].key.data);
    // general.alignment decides where the data section starts.
    f.alignment = default_alignment;
    if (find_key(f, "general.alignment")) {
        const KeyValue* kv = find_key(f, "general.alignment");
        if (kv->value.type != ValueType::U32)
            return Error::make(ErrorCode::GgufMetadata, "gguf: key general.alignment is a %s, expected a u32",
                value_type_name(kv->value.type));
        f.alignment = kl::read_u32(kv->value.data);
        if (f.alignment == 0 || (f.alignment & (f.alignment - 1)) != 0)
            return Error::make(ErrorCode::GgufMetadata, "gguf: general.alignment is %u, expected a power of two", f.alignment);
    }
    return {};
}

ErrorOr<void> read_tensor_info(Reader& r, TensorInfo& t, u64 index)
{
    const u64 at = r.position();
    r.set_context("", { "", 0 });
    t.name = TRY(r.string("a tensor name"));
    r.set_context(" of tensor ", t.name);
    if (t.name.length == 0 || t.name.length > max_name_length)
        return Error::make(ErrorCode::GgufTensor, "gguf: tensor %llu at offset 0x%llx has a %llu-byte name, expected 1..%u bytes",
            static_cast<ull>(index), static_cast<ull>(at), static_cast<ull>(t.name.length), max_name_length);
    const int nl = static_cast<int>(t.name.length);
    t.n_dims = TRY(r.u32_("the dimension count"));
    if (t.n_dims == 0 || t.n_dims > max_dims)
        return Error::make(ErrorCode::GgufTensor, "tensor %.*s: %u dimensions, expected 1..%u", nl, t.name.data, t.n_dims, max_dims);
    u64 elements = 1;
    for (u32 d = 0; d < max_dims; ++d) {
        t.dims[d] = d < t.n_dims ? TRY(r.u64_("a dimension")) : 1;
        if (!kl::checked_mul(elements, t.dims[d], elements) || elements > (1ull << 60))
            return Error::make(ErrorCode::GgufTensor, "tensor %.*s: its dimensions multiply to more than 2^60 values", nl, t.name.data);
    }
    t.ggml_type = TRY(r.u32_("the type"));
    auto format = mjit::format_from_ggml_type(t.ggml_type);
    if (format.is_error())
        return Error::make(ErrorCode::GgufTensor, "tensor %.*s: %s", nl, t.name.data, format.error().message());
    t.format = format.value();
    auto row = mjit::row_bytes(t.format, t.dims[0]);
    if (row.is_error())
        return Error::make(ErrorCode::GgufTensor, "tensor %.*s: %s", nl, t.name.data, row.error().message());
    // elements <= 2^60 and no format takes more than 4 bytes per value: no overflow.
    t.bytes = t.dims[0] == 0 ? 0 : row.value() * (elements / t.dims[0]);
    t.offset = TRY(r.u64_("the offset"));
    return {};
}

// Offsets: aligned, increasing in file order without overlap, inside the data section.
ErrorOr<void> place_tensors(File& f)
{
    u64 end = 0;
    const u64 data_bytes = f.size - f.data_offset;
    for (u64 i = 0; i < f.tensor_count; ++i) {
        TensorInfo& t = f.tensors[i];
        const int nl = static_cast<int>(t.name.length);
        if (t.offset % f.alignment != 0)
            return Error::make(ErrorCode::GgufTensor, "tensor %.*s: offset 0x%llx is not aligned to %u", nl, t.name.data,
                static_cast<ull>(t.offset), f.alignment);
        if (t.offset < end)
            return Error::make(ErrorCode::GgufTensor, "tensor %.*s: offset 0x%llx overlaps the tensor before it (which ends at 0x%llx)",
                nl, t.name.data, static_cast<ull>(t.offset), static_cast<ull>(end));
        if (t.offset > data_bytes || t.bytes > data_bytes - t.offset)
            return Error::make(ErrorCode::GgufTensor,
                "tensor %.*s: %llu bytes at offset 0x%llx end outside the data section (0x%llx bytes; is the file truncated?)", nl,
                t.name.data, static_cast<ull>(t.bytes), static_cast<ull>(t.offset), static_cast<ull>(data_bytes));
        end = t.offset + t.bytes;
        t.data = f.base + f.data_offset + t.offset;
    }
    return {};
}

ErrorOr<void> parse_body(Reader& r, File& f, u32* order, u32* scratch)
{
    TRY(read_metadata(r, f, order, scratch));
    for (u64 i = 0; i < f.tensor_count; ++i)
        TRY(read_tensor_info(r, f.tensors[i], i));
    const i64 dup = find_duplicate(f.tensor_count, &f.tensors->name, sizeof(TensorInfo), order, scratch);
    if (dup >= 0)
        return Error::make(ErrorCode::GgufTensor, "tensor %.*s occurs twice", static_cast<int>(f.tensors[dup].name.length),
            f.tensors[dup].name.data);
    const u64 end_of_infos = r.position();
    f.data_offset = kl::align_up<u64>(end_of_infos, f.alignment);
    if (f.data_offset > f.size)
        return Error::make(ErrorCode::GgufTruncated, "gguf: the file ends in the padding before the data section (at 0x%llx)",
            static_cast<ull>(f.size));
    return place_tensors(f);
}

}

bool StringView::equals(const char* text) const
{
    const u64 n = strlen(text);
    return n == length && memcmp(data, text, n) == 0;
}

const char* value_type_name(ValueType type)
{
    static const char* const names[] = { "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64" };
    const u32 t = static_cast<u32>(type);
    return t < 13 ? names[t] : "unknown type";
}

ErrorOr<void> parse(File& f, const void* data, u64 size)
{
    f = {};
    f.base = static_cast<const u8*>(data);
    f.size = size;
    Reader r(f.base, size);
    TRY(read_header(r, f));
    // One block: the two tables and the index arrays for the duplicate checks.
    const u64 most = kl::max(f.kv_count, f.tensor_count);
    const u64 bytes = f.kv_count * sizeof(KeyValue) + f.tensor_count * sizeof(TensorInfo) + 2 * most * sizeof(u32);
    f.block = TRY(kl::mem::allocate(bytes ? bytes : 1, 16, "the GGUF metadata and tensor tables"));
    f.kvs = static_cast<KeyValue*>(f.block);
    f.tensors = reinterpret_cast<TensorInfo*>(f.kvs + f.kv_count);
    u32* order = reinterpret_cast<u32*>(f.tensors + f.tensor_count);
    auto result = parse_body(r, f, order, order + most);
    if (result.is_error()) {
        free_file(f);
        return result;
    }
    return {};
}

void free_file(File& f)
{
    if (f.block)
        kl::mem::release(f.block);
    f = {};
}

const KeyValue* find_key(const File& f, const char* key)
{
    for (u64 i = 0; i < f.kv_count; ++i)
        if (f.kvs[i].key.equals(key))
            return &f.kvs[i];
    return nullptr;
}

const TensorInfo* find_tensor(const File& f, const char* name)
{
    for (u64 i = 0; i < f.tensor_count; ++i)
        if (f.tensors[i].name.equals(name))
            return &f.tensors[i];
    return nullptr;
}

}
