// Host test helpers (see test_support.h).
#include "tests/host/test_support.h"

#include <catch2/catch.hpp>
#include <random>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

namespace test_support {

std::string repo_root()
{
    if (const char* env = getenv("BAREFLOW_ROOT"))
        return env;
    // __FILE__ is "tests/host/test_support.cpp" relative to the root (the Makefile compiles
    // from there), or absolute.
    std::string file = __FILE__;
    auto pos = file.rfind("tests/host/test_support.cpp");
    std::string root = pos == std::string::npos || pos == 0 ? "." : file.substr(0, pos - 1);
    struct stat st;
    if (stat((root + "/Makefile").c_str(), &st) != 0)
        root = ".";
    return root;
}

std::vector<unsigned char> read_file(const std::string& path)
{
    FILE* f = fopen(path.c_str(), "rb");
    INFO("reading " << path);
    REQUIRE(f != nullptr);
    std::vector<unsigned char> data;
    unsigned char buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
        data.insert(data.end(), buffer, buffer + n);
    fclose(f);
    return data;
}

std::string read_text(const std::string& path)
{
    auto bytes = read_file(path);
    return std::string(bytes.begin(), bytes.end());
}

std::vector<unsigned char> repetitive_bytes(size_t size, unsigned seed, unsigned alphabet, size_t long_copy)
{
    std::mt19937 rng(seed);
    std::vector<unsigned char> data(size);
    for (size_t i = 0; i < size;) {
        if (i > 0 && rng() % 3 == 0) {
            size_t distance = 1 + rng() % i;
            size_t length = 2 + rng() % (rng() % 8 == 0 ? long_copy : 12);
            for (size_t k = 0; k < length && i < size; ++k, ++i)
                data[i] = data[i - distance];
        } else {
            data[i++] = static_cast<unsigned char>(rng() % alphabet);
        }
    }
    return data;
}

}
