// The host tools' model search: ./models, then each $BAREFLOW_MODEL_PATH directory; a
// name with a '/' is a path; not found lists where it looked.
#include <catch2/catch.hpp>
#include <stdio.h>
#include <stdlib.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyllama/host/model_search.h"

using namespace tllama::host;

namespace {

// Sets $BAREFLOW_MODEL_PATH for one test and restores it afterwards.
class ScopedModelPath {
public:
    explicit ScopedModelPath(const std::string& value)
    {
        if (const char* old = getenv("BAREFLOW_MODEL_PATH"))
            m_old = old, m_had = true;
        setenv("BAREFLOW_MODEL_PATH", value.c_str(), 1);
    }
    ~ScopedModelPath()
    {
        if (m_had)
            setenv("BAREFLOW_MODEL_PATH", m_old.c_str(), 1);
        else
            unsetenv("BAREFLOW_MODEL_PATH");
    }

private:
    std::string m_old;
    bool m_had = false;
};

std::string make_temp_dir()
{
    char pattern[] = "/tmp/bareflow-search-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    return pattern;
}

void touch(const std::string& path)
{
    FILE* f = fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    fclose(f);
}

}

TEST_CASE("model search walks $BAREFLOW_MODEL_PATH in order and reports where it looked", "[tinyllama]")
{
    const std::string a = make_temp_dir(), b = make_temp_dir();
    touch(b + "/only-in-b.bin");
    touch(a + "/in-both.bin");
    touch(b + "/in-both.bin");
    {
        ScopedModelPath path(a + "::" + b);  // an empty entry is skipped
        auto found = find_model_file("only-in-b.bin", FileKind::Model);
        REQUIRE_FALSE(found.is_error());
        CHECK(std::string(found.value().path) == b + "/only-in-b.bin");
        auto first = find_model_file("in-both.bin", FileKind::Tokenizer);
        REQUIRE_FALSE(first.is_error());
        CHECK(std::string(first.value().path) == a + "/in-both.bin");

        auto missing = find_model_file("no-such-model.bin", FileKind::Model);
        REQUIRE(missing.is_error());
        CHECK(missing.error().code() == kl::ErrorCode::IoOpen);
        const std::string message = missing.error().message();
        CHECK(message.find("no-such-model.bin") != std::string::npos);
        CHECK(message.find("./models") != std::string::npos);
        CHECK(message.find(a) != std::string::npos);
        CHECK(message.find(b) != std::string::npos);
        CHECK(message.find("huggingface.co/karpathy/tinyllamas") != std::string::npos);
    }
    // A name with a slash is a path, used as given (and not searched for).
    auto direct = find_model_file((b + "/only-in-b.bin").c_str(), FileKind::Model);
    REQUIRE_FALSE(direct.is_error());
    CHECK(std::string(direct.value().path) == b + "/only-in-b.bin");
    auto bad = find_model_file((a + "/only-in-b.bin").c_str(), FileKind::Model);
    CHECK(bad.is_error());
    auto dir = find_model_file(a.c_str(), FileKind::Model);  // a directory is not a model
    CHECK(dir.is_error());

    for (const std::string& d : { a, b }) {
        unlink((d + "/in-both.bin").c_str());
        unlink((d + "/only-in-b.bin").c_str());
        rmdir(d.c_str());
    }
}
