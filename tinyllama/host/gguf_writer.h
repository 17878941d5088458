// Host-only: a GGUF writer (version 3, little-endian), for gen-model and the tests.
//
// Metadata and tensor infos are collected first; write() then streams the header, the
// key/value pairs, the tensor infos, the padding to general.alignment and each tensor's
// data, which a callback produces in order (so a 4 GB model streams in constant memory),
// padding every tensor to the alignment as llama.cpp's writer does.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kernel_lib/base/error.h"
#include "tinyllama/gguf/gguf.h"
#include "tinyllama/host/random_model.h"

namespace tllama::tools {

class GgufWriter {
public:
    explicit GgufWriter(u32 alignment = gguf::default_alignment);

    void add_u32(const std::string& key, u32 value);
    void add_i32(const std::string& key, i32 value);
    void add_u64(const std::string& key, u64 value);
    void add_f32(const std::string& key, float value);
    void add_bool(const std::string& key, bool value);
    void add_string(const std::string& key, const std::string& value);
    void add_string_array(const std::string& key, const std::vector<std::string>& values);
    void add_f32_array(const std::string& key, const std::vector<float>& values);
    void add_i32_array(const std::string& key, const std::vector<i32>& values);
    // Any value, encoded by the caller (type, then the value's bytes as GGUF lays them out).
    void add_raw(const std::string& key, gguf::ValueType type, const std::vector<u8>& encoded);

    // A tensor of `dims` (ne0 first) in `format`; its size follows from them.
    kl::ErrorOr<void> add_tensor(const std::string& name, const std::vector<u64>& dims, mjit::Format format);

    u64 tensor_count() const { return m_tensors.size(); }
    u64 tensor_bytes(u64 index) const { return m_tensors[index].bytes; }
    // The file's total size.
    u64 file_bytes() const;

    // Streams the file to `out`; `data(index, out)` must write exactly tensor_bytes(index).
    using TensorData = std::function<kl::ErrorOr<void>(u64 index, ChunkWriter& out)>;
    kl::ErrorOr<void> write(ChunkWriter& out, const TensorData& data) const;
    // The whole file in memory (tests, small models).
    kl::ErrorOr<std::vector<u8>> to_bytes(const TensorData& data) const;

private:
    struct Tensor {
        std::string name;
        std::vector<u64> dims;
        u32 ggml_type;
        u64 bytes;
        u64 offset;
    };

    std::vector<u8> header_bytes() const;

    u32 m_alignment;
    u64 m_kv_count = 0;
    std::vector<u8> m_kvs;  // the encoded key/value pairs
    std::vector<Tensor> m_tensors;
    u64 m_data_bytes = 0;   // the data section, padded
};

}
