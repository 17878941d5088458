// GGUF, llama.cpp's model file: the reader (versions 2 and 3, little-endian).
//
// parse() walks the file once, in the order it is laid out: header, metadata key/value
// pairs, tensor infos, padding, data. Every count, length, size and offset is checked
// against the bytes left (64-bit arithmetic checked for overflow) before it is used, and
// a failure is a kl::Error that names what it rejected, e.g.
//   tensor blk.3.ffn_down.weight: offset 0x1f00 is not aligned to 32
// Nothing is copied: keys, strings, arrays and tensor data are views into the buffer,
// which the caller keeps alive; only the two index tables (keys, tensors) are allocated.
//
// Rules beyond the byte layout (as ggml's own reader has them): keys non-empty and
// unique; no arrays of arrays; booleans 0 or 1; general.alignment a u32 power of two
// (32 when absent); tensor names 1..63 bytes and unique, 1..4 dimensions, a supported
// type (mjit::Format), a first dimension that is a whole number of blocks, offsets
// aligned and increasing without overlap, data inside the file.
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/formats.h"

namespace tllama::gguf {

constexpr u32 magic = 0x46554747;  // "GGUF" as a little-endian u32
constexpr u32 default_alignment = 32;
constexpr u32 max_dims = 4;
constexpr u32 max_name_length = 63;

enum class ValueType : u32 {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};
const char* value_type_name(ValueType type);  // "u32", "string", "array", ...

// Bytes inside the file (not NUL-terminated).
struct StringView {
    const char* data;
    u64 length;

    bool equals(const char* text) const;
};

// A metadata value. Scalars: `data` points at the value's bytes. Strings: `data` at the
// bytes, `count` = their length. Arrays: `element` is the element type, `count` the
// number of elements, `data` the first element (strings: its u64 length), `bytes` the
// size of all elements.
struct Value {
    ValueType type;
    ValueType element;
    u64 count;
    const u8* data;
    u64 bytes;
};

struct KeyValue {
    StringView key;
    Value value;
};

struct TensorInfo {
    StringView name;
    u32 n_dims;
    u64 dims[max_dims];   // ne0 (the fastest, a row's length) first; unused ones 1
    u32 ggml_type;
    mjit::Format format;
    u64 offset;           // from the start of the data section
    u64 bytes;            // the tensor's size in its format
    const u8* data;       // the view: file + data_offset + offset
};

struct File {
    const u8* base;
    u64 size;
    u32 version;
    u32 alignment;
    u64 kv_count;
    u64 tensor_count;
    KeyValue* kvs;          // [kv_count] in file order
    TensorInfo* tensors;    // [tensor_count] in file order
    u64 data_offset;        // where the data section starts in the file
    void* block;            // the allocation behind kvs and tensors
};

// Parses `size` bytes at `data` (kept alive by the caller). Errors: GgufHeader (magic,
// version, counts that cannot fit), GgufTruncated, GgufMetadata, GgufTensor, OutOfMemory.
kl::ErrorOr<void> parse(File& file, const void* data, u64 size);
void free_file(File& file);

const KeyValue* find_key(const File& file, const char* key);
const TensorInfo* find_tensor(const File& file, const char* name);

// Typed getters. A missing key, a value of another type or one out of range is a
// GgufMetadata error naming the key, what it holds and what was expected. Integer getters
// accept every integer type whose value fits; get_f32 accepts f32 and f64.
kl::ErrorOr<u32> get_u32(const File& file, const char* key);
kl::ErrorOr<u64> get_u64(const File& file, const char* key);
kl::ErrorOr<i32> get_i32(const File& file, const char* key);
kl::ErrorOr<float> get_f32(const File& file, const char* key);
kl::ErrorOr<bool> get_bool(const File& file, const char* key);
kl::ErrorOr<StringView> get_string(const File& file, const char* key);
// An array of `element` values with exactly `count` elements (any count when count is ~0).
kl::ErrorOr<Value> get_array(const File& file, const char* key, ValueType element, u64 count = ~0ull);

// The same for optional keys: `fallback` when the key is absent, an error when it is
// present with the wrong type.
kl::ErrorOr<u32> get_u32_or(const File& file, const char* key, u32 fallback);
kl::ErrorOr<float> get_f32_or(const File& file, const char* key, float fallback);
kl::ErrorOr<bool> get_bool_or(const File& file, const char* key, bool fallback);

// Array elements: fixed-size ones by index (the caller checked the element type),
// strings one after another from a cursor that starts at the array's `data`.
i64 array_int(const Value& array, u64 index);      // any integer element type
float array_f32(const Value& array, u64 index);    // F32 elements
StringView next_string(const u8*& cursor);         // validated by parse()

}
