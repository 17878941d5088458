// GGUF test files (see gguf_fixtures.h).
#include "tests/host/tinyllama/gguf_fixtures.h"

#include <catch2/catch.hpp>
#include <string.h>

#include "tests/host/tinyllama/model_fixtures.h"

namespace tllama::test {

Config small_config()
{
    return { 32, 64, 2, 4, 2, 512, 64 };
}

Config k_config()
{
    return { 256, 512, 1, 4, 2, 512, 64 };
}

tools::GgufModelSpec small_spec(const Config& config, const char* type)
{
    tools::GgufModelSpec spec;
    spec.config = config;
    spec.type = tools::find_gguf_type(type);
    REQUIRE(spec.type);
    spec.seed = 42;
    spec.tokenizer_bin = read_file(model_path("tok512.bin"));
    return spec;
}

std::vector<u8> make_gguf(const tools::GgufModelSpec& spec)
{
    auto plan = tools::plan_gguf_model(spec);
    INFO(error_text(plan));
    REQUIRE_FALSE(plan.is_error());
    std::vector<u8> bytes;
    tools::ChunkWriter out { [](void* context, const void* data, usize length) -> kl::ErrorOr<void> {
                                auto& v = *static_cast<std::vector<u8>*>(context);
                                v.insert(v.end(), static_cast<const u8*>(data), static_cast<const u8*>(data) + length);
                                return {};
                            },
        &bytes };
    auto written = tools::write_gguf_model(spec, plan.value(), out);
    INFO(error_text(written));
    REQUIRE_FALSE(written.is_error());
    REQUIRE(bytes.size() == plan.value().file_bytes());
    return bytes;
}

std::vector<u8> converted_gguf(const char* checkpoint, const char* type)
{
    const std::vector<u8> bin = read_file(model_path(checkpoint));
    auto cp = parse_checkpoint(bin.data(), bin.size());
    INFO(error_text(cp));
    REQUIRE_FALSE(cp.is_error());
    tools::GgufModelSpec spec = small_spec(cp.value().config, type);
    spec.source = &cp.value();
    spec.tied_classifier = cp.value().weights.shared_classifier;
    std::vector<u8> bytes = make_gguf(spec);
    free_checkpoint(cp.value());
    return bytes;
}

ParsedGguf::ParsedGguf(std::vector<u8> data) : bytes(std::move(data))
{
    auto parsed = gguf::parse(file, bytes.data(), bytes.size());
    INFO(error_text(parsed));
    REQUIRE_FALSE(parsed.is_error());
}

ParsedGguf::~ParsedGguf()
{
    gguf::free_file(file);
}

std::string parse_error(const std::vector<u8>& bytes, kl::ErrorCode* code)
{
    gguf::File f {};
    auto parsed = gguf::parse(f, bytes.data(), bytes.size());
    gguf::free_file(f);
    if (!parsed.is_error())
        return "";
    if (code)
        *code = parsed.error().code();
    return parsed.error().message();
}

namespace {

// The position of a length-prefixed string equal to `text`.
size_t string_at(const std::vector<u8>& file, const std::string& text)
{
    std::vector<u8> needle(8 + text.size());
    const u64 length = text.size();
    memcpy(needle.data(), &length, 8);
    memcpy(needle.data() + 8, text.data(), text.size());
    auto it = std::search(file.begin(), file.end(), needle.begin(), needle.end());
    REQUIRE(it != file.end());
    return static_cast<size_t>(it - file.begin());
}

}

size_t tensor_info_at(const std::vector<u8>& file, const std::string& name)
{
    return string_at(file, name);
}

size_t key_at(const std::vector<u8>& file, const std::string& key)
{
    return string_at(file, key);
}

}
