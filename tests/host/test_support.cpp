// Host test helpers (see test_support.h).
#include "tests/host/test_support.h"

#include <catch2/catch.hpp>
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

}
