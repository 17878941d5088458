// The GGUF writer (see gguf_writer.h).
#include "tinyllama/host/gguf_writer.h"

#include <string.h>

namespace tllama::tools {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using gguf::ValueType;

namespace {

template<typename T>
void put(std::vector<u8>& out, T value)
{
    const u8* p = reinterpret_cast<const u8*>(&value);
    out.insert(out.end(), p, p + sizeof(T));
}

void put_string(std::vector<u8>& out, const std::string& s)
{
    put<u64>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

// Counts what passes through, so that each tensor's callback can be held to its size.
struct CountingWriter {
    ChunkWriter& out;
    u64 written = 0;

    static ErrorOr<void> write(void* context, const void* bytes, usize length)
    {
        auto& self = *static_cast<CountingWriter*>(context);
        self.written += length;
        return self.out.write(self.out.context, bytes, length);
    }
};

ErrorOr<void> zeros(ChunkWriter& out, u64 count)
{
    static const u8 padding[256] = {};
    while (count > 0) {
        const u64 n = kl::min<u64>(count, sizeof(padding));
        TRY(out.write(out.context, padding, n));
        count -= n;
    }
    return {};
}

ErrorOr<void> collect(void* context, const void* bytes, usize length)
{
    auto& v = *static_cast<std::vector<u8>*>(context);
    const u8* p = static_cast<const u8*>(bytes);
    v.insert(v.end(), p, p + length);
    return {};
}

}

GgufWriter::GgufWriter(u32 alignment) : m_alignment(alignment)
{
    if (alignment != gguf::default_alignment)
        add_u32("general.alignment", alignment);
}

void GgufWriter::add_raw(const std::string& key, ValueType type, const std::vector<u8>& encoded)
{
    put_string(m_kvs, key);
    put<u32>(m_kvs, static_cast<u32>(type));
    m_kvs.insert(m_kvs.end(), encoded.begin(), encoded.end());
    ++m_kv_count;
}

void GgufWriter::add_u32(const std::string& key, u32 value)
{
    std::vector<u8> v;
    put(v, value);
    add_raw(key, ValueType::U32, v);
}

void GgufWriter::add_i32(const std::string& key, i32 value)
{
    std::vector<u8> v;
    put(v, value);
    add_raw(key, ValueType::I32, v);
}

void GgufWriter::add_u64(const std::string& key, u64 value)
{
    std::vector<u8> v;
    put(v, value);
    add_raw(key, ValueType::U64, v);
}

void GgufWriter::add_f32(const std::string& key, float value)
{
    std::vector<u8> v;
    put(v, value);
    add_raw(key, ValueType::F32, v);
}

void GgufWriter::add_bool(const std::string& key, bool value)
{
    add_raw(key, ValueType::Bool, { static_cast<u8>(value ? 1 : 0) });
}

void GgufWriter::add_string(const std::string& key, const std::string& value)
{
    std::vector<u8> v;
    put_string(v, value);
    add_raw(key, ValueType::String, v);
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& values)
{
    std::vector<u8> v;
    put<u32>(v, static_cast<u32>(ValueType::String));
    put<u64>(v, values.size());
    for (const std::string& s : values)
        put_string(v, s);
    add_raw(key, ValueType::Array, v);
}

void GgufWriter::add_f32_array(const std::string& key, const std::vector<float>& values)
{
    std::vector<u8> v;
    put<u32>(v, static_cast<u32>(ValueType::F32));
    put<u64>(v, values.size());
    for (float f : values)
        put(v, f);
    add_raw(key, ValueType::Array, v);
}

void GgufWriter::add_i32_array(const std::string& key, const std::vector<i32>& values)
{
    std::vector<u8> v;
    put<u32>(v, static_cast<u32>(ValueType::I32));
    put<u64>(v, values.size());
    for (i32 i : values)
        put(v, i);
    add_raw(key, ValueType::Array, v);
}

ErrorOr<void> GgufWriter::add_tensor(const std::string& name, const std::vector<u64>& dims, mjit::Format format)
{
    u64 rows = 1;
    for (size_t i = 1; i < dims.size(); ++i)
        rows *= dims[i];
    const u64 bytes = TRY(mjit::matrix_bytes(format, rows, dims.at(0)));
    m_tensors.push_back({ name, dims, mjit::format_info(format).ggml_type, bytes, m_data_bytes });
    m_data_bytes += kl::align_up<u64>(bytes, m_alignment);
    return {};
}

std::vector<u8> GgufWriter::header_bytes() const
{
    std::vector<u8> h;
    put<u32>(h, gguf::magic);
    put<u32>(h, 3);
    put<u64>(h, m_tensors.size());
    put<u64>(h, m_kv_count);
    h.insert(h.end(), m_kvs.begin(), m_kvs.end());
    for (const Tensor& t : m_tensors) {
        put_string(h, t.name);
        put<u32>(h, static_cast<u32>(t.dims.size()));
        for (u64 d : t.dims)
            put<u64>(h, d);
        put<u32>(h, t.ggml_type);
        put<u64>(h, t.offset);
    }
    h.resize(kl::align_up<u64>(h.size(), m_alignment), 0);
    return h;
}

u64 GgufWriter::file_bytes() const
{
    return header_bytes().size() + m_data_bytes;
}

ErrorOr<void> GgufWriter::write(ChunkWriter& out, const TensorData& data) const
{
    const std::vector<u8> header = header_bytes();
    TRY(out.write(out.context, header.data(), header.size()));
    for (u64 i = 0; i < m_tensors.size(); ++i) {
        CountingWriter counter { out };
        ChunkWriter counted { CountingWriter::write, &counter };
        TRY(data(i, counted));
        if (counter.written != m_tensors[i].bytes)
            return Error::make(ErrorCode::InvalidArgument, "gguf writer: tensor %s got %llu bytes, expected %llu",
                m_tensors[i].name.c_str(), static_cast<unsigned long long>(counter.written),
                static_cast<unsigned long long>(m_tensors[i].bytes));
        TRY(zeros(out, kl::align_up<u64>(m_tensors[i].bytes, m_alignment) - m_tensors[i].bytes));
    }
    return {};
}

ErrorOr<std::vector<u8>> GgufWriter::to_bytes(const TensorData& data) const
{
    std::vector<u8> bytes;
    bytes.reserve(file_bytes());
    ChunkWriter out { collect, &bytes };
    TRY(write(out, data));
    return bytes;
}

}
