// The GGUF reader: every field of a file written by our writer read back, and every
// failure (bad magic and version, truncation anywhere, huge counts, bad values, tensor
// infos with bad dimensions, types, offsets) refused with its code and a message that
// names what was wrong.
#include <catch2/catch.hpp>
#include <string.h>

#include <string>
#include <vector>

#include "tests/host/tinyllama/gguf_fixtures.h"
#include "tests/host/tinyllama/model_fixtures.h"
#include "tinyllama/host/gguf_writer.h"

using namespace tllama;
using namespace tllama::test;
using gguf::ValueType;
using kl::ErrorCode;
using mjit::Format;

namespace {

// A file with one key of every type and three small tensors.
std::vector<u8> every_field_file(u32 alignment = gguf::default_alignment)
{
    tools::GgufWriter w(alignment);
    w.add_raw("t.u8", ValueType::U8, { 200 });
    w.add_raw("t.i8", ValueType::I8, { 0xfe });
    w.add_raw("t.u16", ValueType::U16, { 0x34, 0x12 });
    w.add_raw("t.i16", ValueType::I16, { 0xff, 0xff });
    w.add_u32("t.u32", 4000000000u);
    w.add_i32("t.i32", -5);
    w.add_f32("t.f32", 0.25f);
    w.add_bool("t.bool", true);
    w.add_string("t.string", "hello");
    w.add_u64("t.u64", 1ull << 40);
    w.add_raw("t.i64", ValueType::I64, { 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff });
    const double half = 0.5;
    std::vector<u8> f64(8);
    memcpy(f64.data(), &half, 8);
    w.add_raw("t.f64", ValueType::F64, f64);
    w.add_string_array("t.strings", { "a", "", "▁b" });
    w.add_f32_array("t.floats", { 1.0f, -2.0f });
    w.add_i32_array("t.ints", { 7, -8, 9 });
    w.add_raw("t.bools", ValueType::Array, { 7, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0 });
    REQUIRE_FALSE(w.add_tensor("vector", { 5 }, Format::F32).is_error());
    REQUIRE_FALSE(w.add_tensor("matrix", { 64, 3 }, Format::Q8_0).is_error());
    REQUIRE_FALSE(w.add_tensor("cube", { 256, 2, 2 }, Format::Q4_K).is_error());
    auto bytes = w.to_bytes([&](u64 index, tools::ChunkWriter& out) -> kl::ErrorOr<void> {
        std::vector<u8> data(w.tensor_bytes(index), static_cast<u8>(index + 1));
        return out.write(out.context, data.data(), data.size());
    });
    REQUIRE_FALSE(bytes.is_error());
    return bytes.release_value();
}

void check_refused(const std::vector<u8>& bytes, ErrorCode code, const std::string& words)
{
    ErrorCode got = ErrorCode::Ok;
    const std::string message = parse_error(bytes, &got);
    INFO("message: " << message);
    CHECK(got == code);
    CHECK(message.find(words) != std::string::npos);
}

}

TEST_CASE("gguf: every metadata type and tensor info reads back", "[gguf]")
{
    ParsedGguf p(every_field_file());
    const gguf::File& f = p.file;
    CHECK(f.version == 3);
    CHECK(f.alignment == 32);
    CHECK(f.kv_count == 16);
    CHECK(f.tensor_count == 3);
    CHECK(gguf::get_u32(f, "t.u8").value() == 200);
    CHECK(gguf::get_i32(f, "t.i8").value() == -2);
    CHECK(gguf::get_u32(f, "t.u16").value() == 0x1234);
    CHECK(gguf::get_i32(f, "t.i16").value() == -1);
    CHECK(gguf::get_u32(f, "t.u32").value() == 4000000000u);
    CHECK(gguf::get_i32(f, "t.i32").value() == -5);
    CHECK(gguf::get_f32(f, "t.f32").value() == 0.25f);
    CHECK(gguf::get_bool(f, "t.bool").value());
    CHECK(gguf::get_string(f, "t.string").value().equals("hello"));
    CHECK(gguf::get_u64(f, "t.u64").value() == (1ull << 40));
    CHECK(gguf::get_i32(f, "t.i64").value() == -3);
    CHECK(gguf::get_f32(f, "t.f64").value() == 0.5f);
    const gguf::Value strings = gguf::get_array(f, "t.strings", ValueType::String, 3).value();
    const u8* cursor = strings.data;
    CHECK(gguf::next_string(cursor).equals("a"));
    CHECK(gguf::next_string(cursor).equals(""));
    CHECK(gguf::next_string(cursor).equals("▁b"));
    CHECK(cursor == strings.data + strings.bytes);
    const gguf::Value floats = gguf::get_array(f, "t.floats", ValueType::F32).value();
    CHECK((floats.count == 2 && gguf::array_f32(floats, 1) == -2.0f));
    const gguf::Value ints = gguf::get_array(f, "t.ints", ValueType::I32).value();
    CHECK((gguf::array_int(ints, 0) == 7 && gguf::array_int(ints, 1) == -8 && gguf::array_int(ints, 2) == 9));
    const gguf::Value bools = gguf::get_array(f, "t.bools", ValueType::Bool, 2).value();
    CHECK((bools.data[0] == 1 && bools.data[1] == 0));

    const gguf::TensorInfo* cube = gguf::find_tensor(f, "cube");
    REQUIRE(cube);
    CHECK(cube->n_dims == 3);
    CHECK((cube->dims[0] == 256 && cube->dims[1] == 2 && cube->dims[2] == 2 && cube->dims[3] == 1));
    CHECK(cube->format == Format::Q4_K);
    CHECK(cube->ggml_type == 12);
    CHECK(cube->bytes == 4 * 144);
    const gguf::TensorInfo* matrix = gguf::find_tensor(f, "matrix");
    CHECK(matrix->bytes == 3 * 2 * 34);
    CHECK(matrix->offset == 32);  // the vector's 20 bytes padded to 32
    CHECK(f.data_offset % 32 == 0);
    CHECK(matrix->data == p.bytes.data() + f.data_offset + 32);
    CHECK(matrix->data[0] == 2);
    CHECK(cube->data[cube->bytes - 1] == 3);
    CHECK(gguf::find_tensor(f, "absent") == nullptr);
    CHECK(gguf::find_key(f, "t.absent") == nullptr);
}

TEST_CASE("gguf: general.alignment and version 2", "[gguf]")
{
    std::vector<u8> bytes = every_field_file(64);
    {
        ParsedGguf p(bytes);
        CHECK(p.file.alignment == 64);
        CHECK(p.file.data_offset % 64 == 0);
        CHECK(gguf::find_tensor(p.file, "matrix")->offset == 64);
    }
    poke<u32>(bytes, 4, 2);
    ParsedGguf v2(bytes);
    CHECK(v2.file.version == 2);
}

TEST_CASE("gguf: typed getters name the key and what it holds", "[gguf]")
{
    ParsedGguf p(every_field_file());
    auto text = [](const auto& r) { return std::string(r.error().message()); };
    CHECK(text(gguf::get_u32(p.file, "t.i32")).find("t.i32 is -5, expected 0..4294967295") != std::string::npos);
    CHECK(text(gguf::get_i32(p.file, "t.u32")).find("t.u32 is 4000000000") != std::string::npos);
    CHECK(text(gguf::get_f32(p.file, "t.string")).find("t.string is a string, expected a float") != std::string::npos);
    CHECK(text(gguf::get_string(p.file, "missing.key")).find("missing.key is missing") != std::string::npos);
    CHECK(text(gguf::get_array(p.file, "t.floats", ValueType::String)).find("array of f32, expected an array of string") !=
        std::string::npos);
    CHECK(text(gguf::get_array(p.file, "t.floats", ValueType::F32, 3)).find("has 2 elements, expected 3") != std::string::npos);
    CHECK(gguf::get_bool(p.file, "t.u8").error().code() == ErrorCode::GgufMetadata);
    CHECK(gguf::get_u32_or(p.file, "absent", 9).value() == 9);
    CHECK(gguf::get_u32_or(p.file, "t.string", 9).is_error());
    CHECK(gguf::get_f32_or(p.file, "absent", 1.5f).value() == 1.5f);
}

TEST_CASE("gguf: bad magic, versions and counts are refused", "[gguf]")
{
    const std::vector<u8> good = every_field_file();
    std::vector<u8> b = good;
    b[0] = 'X';
    check_refused(b, ErrorCode::GgufHeader, "not the magic \"GGUF\"");
    for (u32 version : { 0u, 1u, 4u, 0x03000000u }) {
        b = good;
        poke<u32>(b, 4, version);
        check_refused(b, ErrorCode::GgufHeader, "version " + std::to_string(version) + " is not supported");
    }
    b = good;
    poke<u64>(b, 16, 1ull << 62);  // metadata count
    check_refused(b, ErrorCode::GgufHeader, "metadata entries cannot fit");
    b = good;
    poke<u64>(b, 8, ~0ull);  // tensor count
    check_refused(b, ErrorCode::GgufHeader, "tensor infos cannot fit");
    b = good;
    poke<u64>(b, 8, 4);  // one tensor more than there are: its info reads the padding and data
    CHECK(!parse_error(b).empty());
}

TEST_CASE("gguf: a file cut anywhere is refused, never misread", "[gguf]")
{
    const std::vector<u8> good = every_field_file();
    ParsedGguf whole(good);
    const u64 needed = whole.file.data_offset + gguf::find_tensor(whole.file, "cube")->offset + gguf::find_tensor(whole.file, "cube")->bytes;
    for (size_t size = 0; size < needed; ++size) {
        const std::vector<u8> cut(good.begin(), good.begin() + size);
        ErrorCode code = ErrorCode::Ok;
        const std::string message = parse_error(cut, &code);
        if (message.empty()) {
            FAIL_CHECK("a " << size << "-byte prefix was accepted");
            continue;
        }
        const bool expected = code == ErrorCode::GgufTruncated || code == ErrorCode::GgufHeader || code == ErrorCode::GgufTensor;
        if (!expected)
            FAIL_CHECK("prefix " << size << ": " << message);
    }
}

TEST_CASE("gguf: malformed metadata values are refused with the key's name", "[gguf]")
{
    const std::vector<u8> good = every_field_file();
    std::vector<u8> b = good;
    const size_t u32_type = key_at(good, "t.u32") + 8 + 5;
    poke<u32>(b, u32_type, 13);
    check_refused(b, ErrorCode::GgufMetadata, "key t.u32 has value type 13");
    b = good;
    poke<u8>(b, key_at(good, "t.bool") + 8 + 6 + 4, 2);
    check_refused(b, ErrorCode::GgufMetadata, "key t.bool: boolean value 2");
    b = good;
    poke<u8>(b, key_at(good, "t.bools") + 8 + 7 + 4 + 4 + 8 + 1, 5);
    check_refused(b, ErrorCode::GgufMetadata, "key t.bools: boolean value 5");
    b = good;
    poke<u32>(b, key_at(good, "t.ints") + 8 + 6 + 4, 9);  // an array of arrays
    check_refused(b, ErrorCode::GgufMetadata, "arrays of arrays");
    b = good;
    poke<u64>(b, key_at(good, "t.ints") + 8 + 6 + 8, 1ull << 61);  // element count
    check_refused(b, ErrorCode::GgufTruncated, "t.ints: an array of 2305843009213693952 i32 values does not fit");
    b = good;
    poke<u64>(b, key_at(good, "t.strings") + 8 + 9 + 8, 1ull << 40);
    check_refused(b, ErrorCode::GgufTruncated, "strings cannot fit");
    b = good;
    poke<u64>(b, key_at(good, "t.string") + 8 + 8 + 4, ~0ull);  // string length
    check_refused(b, ErrorCode::GgufTruncated, "a string value of key t.string");
    b = good;
    poke<u64>(b, key_at(good, "t.u8"), 0);  // an empty key: its bytes become the type...
    CHECK(!parse_error(b).empty());
    b = good;
    b[key_at(good, "t.i8") + 8 + 2] = 'u';  // "t.i8" becomes a second "t.u8"
    b[key_at(good, "t.i8") + 8 + 3] = '8';
    check_refused(b, ErrorCode::GgufMetadata, "key t.u8 occurs twice");
}

TEST_CASE("gguf: general.alignment must be a u32 power of two", "[gguf]")
{
    for (u32 alignment : { 0u, 48u }) {
        tools::GgufWriter w(7);  // then patched to the value under test
        auto bytes = w.to_bytes([](u64, tools::ChunkWriter&) -> kl::ErrorOr<void> { return {}; }).release_value();
        poke<u32>(bytes, key_at(bytes, "general.alignment") + 8 + 17 + 4, alignment);
        check_refused(bytes, ErrorCode::GgufMetadata, "general.alignment is " + std::to_string(alignment));
    }
    tools::GgufWriter w;
    w.add_u64("general.alignment", 32);
    auto bytes = w.to_bytes([](u64, tools::ChunkWriter&) -> kl::ErrorOr<void> { return {}; }).release_value();
    check_refused(bytes, ErrorCode::GgufMetadata, "general.alignment is a u64, expected a u32");
}

TEST_CASE("gguf: tensor infos with bad dimensions, types and offsets are refused by name", "[gguf]")
{
    const std::vector<u8> good = every_field_file();
    const size_t matrix = tensor_info_at(good, "matrix") + 8 + 6;  // at n_dims
    const size_t matrix_type = matrix + 4 + 16, matrix_offset = matrix_type + 4;
    std::vector<u8> b = good;
    poke<u32>(b, matrix, 0);
    check_refused(b, ErrorCode::GgufTensor, "tensor matrix: 0 dimensions, expected 1..4");
    b = good;
    poke<u32>(b, matrix, 5);
    check_refused(b, ErrorCode::GgufTensor, "tensor matrix: 5 dimensions");
    b = good;
    poke<u32>(b, matrix_type, 16);
    check_refused(b, ErrorCode::GgufTensor, "tensor matrix: ggml type 16 (IQ2_XXS) is not supported");
    b = good;
    poke<u32>(b, matrix_type, 77);
    check_refused(b, ErrorCode::GgufTensor, "tensor matrix: ggml type 77 (unknown)");
    b = good;
    poke<u64>(b, matrix + 4, 48);  // 48 values: not a whole number of Q8_0 blocks
    check_refused(b, ErrorCode::GgufTensor, "tensor matrix: a q8_0 row of 48 values is not a whole number of 32-value blocks");
    b = good;
    poke<u64>(b, matrix + 4 + 8, 1ull << 60);  // rows: the data cannot be in the file
    check_refused(b, ErrorCode::GgufTensor, "tensor matrix: its dimensions multiply to more than 2^60");
    b = good;
    poke<u64>(b, matrix + 4 + 8, 1ull << 50);
    check_refused(b, ErrorCode::GgufTensor, "end outside the data section");
    b = good;
    poke<u64>(b, matrix_offset, 0x1f08);
    check_refused(b, ErrorCode::GgufTensor, "tensor matrix: offset 0x1f08 is not aligned to 32");
    b = good;
    poke<u64>(b, matrix_offset, 0x1f00);
    check_refused(b, ErrorCode::GgufTensor, "tensor matrix: 204 bytes at offset 0x1f00 end outside the data section");
    b = good;
    poke<u64>(b, matrix_offset, 0);
    check_refused(b, ErrorCode::GgufTensor, "tensor matrix: offset 0x0 overlaps the tensor before it");
    b = good;
    poke<u64>(b, tensor_info_at(good, "cube"), 6);  // the name swallows 2 bytes of n_dims: the rest is misread
    CHECK(!parse_error(b).empty());
}

TEST_CASE("gguf: duplicate and overlong tensor names are refused", "[gguf]")
{
    tools::GgufWriter w;
    REQUIRE_FALSE(w.add_tensor("same", { 4 }, Format::F32).is_error());
    REQUIRE_FALSE(w.add_tensor("same", { 4 }, Format::F32).is_error());
    auto zeros = [&](u64 i, tools::ChunkWriter& out) -> kl::ErrorOr<void> {
        std::vector<u8> d(w.tensor_bytes(i));
        return out.write(out.context, d.data(), d.size());
    };
    check_refused(w.to_bytes(zeros).release_value(), ErrorCode::GgufTensor, "tensor same occurs twice");
    tools::GgufWriter w2;
    REQUIRE_FALSE(w2.add_tensor(std::string(64, 'n'), { 4 }, Format::F32).is_error());
    auto zeros2 = [&](u64 i, tools::ChunkWriter& out) -> kl::ErrorOr<void> {
        std::vector<u8> d(w2.tensor_bytes(i));
        return out.write(out.context, d.data(), d.size());
    };
    check_refused(w2.to_bytes(zeros2).release_value(), ErrorCode::GgufTensor, "64-byte name, expected 1..63 bytes");
}
