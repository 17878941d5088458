// The host tools' file loading: mapped or copied into huge-page memory, the same bytes
// either way; failures name the file and its role.
#include <catch2/catch.hpp>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "tinyllama/host/load_file.h"

using namespace tllama::host;

namespace {

// A temporary file holding `bytes`, removed afterwards.
class TempFile {
public:
    explicit TempFile(const std::vector<u8>& bytes)
    {
        char pattern[] = "/tmp/bareflow-load-XXXXXX";
        const int fd = mkstemp(pattern);
        REQUIRE(fd >= 0);
        m_path = pattern;
        REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
        close(fd);
    }
    ~TempFile() { unlink(m_path.c_str()); }
    const char* path() const { return m_path.c_str(); }

private:
    std::string m_path;
};

std::vector<u8> pattern_bytes(usize size)
{
    std::vector<u8> bytes(size);
    for (usize i = 0; i < size; ++i)
        bytes[i] = static_cast<u8>(i * 131 + i / 4096);
    return bytes;
}

}

TEST_CASE("load_file: mapped and copied give the same bytes; the copy starts on a 2 MiB boundary", "[model]")
{
    for (usize size : { usize(1), usize(4097), usize(3 * 1024 * 1024 + 5) }) {
        INFO("size " << size);
        const std::vector<u8> bytes = pattern_bytes(size);
        TempFile file(bytes);
        for (Placement placement : { Placement::Mapped, Placement::Copied }) {
            auto loaded = load_file(file.path(), "model", placement);
            REQUIRE_FALSE(loaded.is_error());
            FileBuffer buffer = loaded.release_value();
            REQUIRE(buffer.size == size);
            CHECK(memcmp(buffer.data, bytes.data(), size) == 0);
            if (placement == Placement::Copied)
                CHECK(reinterpret_cast<u64>(buffer.data) % (2 * 1024 * 1024) == 0);
            free_file(buffer);
            CHECK(buffer.data == nullptr);
            CHECK(buffer.region == nullptr);
        }
    }
}

TEST_CASE("load_file: an empty file is no bytes, a missing one an error naming it", "[model]")
{
    TempFile empty({});
    for (Placement placement : { Placement::Mapped, Placement::Copied }) {
        auto loaded = load_file(empty.path(), "model", placement);
        REQUIRE_FALSE(loaded.is_error());
        FileBuffer buffer = loaded.release_value();
        CHECK((buffer.size == 0 && buffer.data == nullptr));
        free_file(buffer);

        auto missing = load_file("/nonexistent/bareflow-model.bin", "model", placement);
        REQUIRE(missing.is_error());
        CHECK(missing.error().code() == kl::ErrorCode::IoOpen);
        CHECK_THAT(missing.error().message(), Catch::Contains("model file /nonexistent/bareflow-model.bin"));
    }
    auto directory = load_file("/tmp", "tokenizer", Placement::Copied);
    REQUIRE(directory.is_error());
    CHECK_THAT(directory.error().message(), Catch::Contains("not a regular file"));
}
