// Replays the fuzzers' kept inputs without libFuzzer: every file in
// tests/fuzz/regressions/<target>/ goes through that target's entry function (the same
// code `make fuzz` runs), so a crash or property violation the fuzzers once found fails
// `make test` if it comes back. Under test-sanitize the replay runs with ASan and UBSan.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/fuzz/targets.h"
#include "tests/host/test_support.h"

namespace {

struct PropertyViolated : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_violation(const char* message)
{
    throw PropertyViolated(message);
}

// Installs the throwing handler for one test case.
struct ThrowingFailures {
    ThrowingFailures() { set_fuzz_failure_handler(throw_violation); }
    ~ThrowingFailures() { set_fuzz_failure_handler(nullptr); }
};

std::vector<std::string> list_directory(const std::string& dir, bool directories)
{
    std::vector<std::string> names;
    DIR* d = opendir(dir.c_str());
    if (!d)
        return names;
    while (dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == ".." || name[0] == '.' || name == "README.md")
            continue;
        struct stat st;
        if (stat((dir + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode) == directories)
            names.push_back(name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

std::string regressions_dir() { return test_support::repo_root() + "/tests/fuzz/regressions"; }

const FuzzTarget* find_target(const std::string& name)
{
    for (size_t i = 0; i < fuzz_target_count; ++i) {
        if (name == fuzz_targets[i].name)
            return &fuzz_targets[i];
    }
    return nullptr;
}

void run_input(const FuzzTarget& target, const std::string& what, const std::vector<unsigned char>& bytes)
{
    INFO("fuzz target " << target.name << ", input " << what << " (" << bytes.size() << " bytes)");
    try {
        // A copy of exactly the input's size, so that ASan sees reads past its end.
        std::vector<u8> copy(bytes.begin(), bytes.end());
        CHECK(target.entry(copy.data(), copy.size()) == 0);
    } catch (const PropertyViolated& e) {
        FAIL_CHECK("property violated: " << e.what());
    }
}

}

TEST_CASE("every regressions directory belongs to a fuzz target", "[fuzz]")
{
    for (const auto& name : list_directory(regressions_dir(), true)) {
        INFO("tests/fuzz/regressions/" << name);
        CHECK(find_target(name) != nullptr);
    }
}

TEST_CASE("the fuzz targets' real tokenizers load", "[fuzz]")
{
    const char* why = fuzz_encode_setup_error();
    INFO((why ? why : ""));
    REQUIRE(why == nullptr);
}

TEST_CASE("fuzz targets accept trivial inputs", "[fuzz]")
{
    ThrowingFailures handler;
    const std::vector<std::vector<unsigned char>> inputs { {}, { 0 }, { 0xFF }, std::vector<unsigned char>(600, 0),
        std::vector<unsigned char>(600, 0xFF) };
    for (size_t i = 0; i < fuzz_target_count; ++i) {
        for (const auto& input : inputs)
            run_input(fuzz_targets[i], "trivial input of " + std::to_string(input.size()) + " bytes", input);
    }
}

TEST_CASE("fuzz regression inputs replay cleanly", "[fuzz]")
{
    ThrowingFailures handler;
    size_t replayed = 0;
    for (size_t i = 0; i < fuzz_target_count; ++i) {
        const FuzzTarget& target = fuzz_targets[i];
        const std::string dir = regressions_dir() + "/" + target.name;
        for (const auto& file : list_directory(dir, false)) {
            run_input(target, file, test_support::read_file(dir + "/" + file));
            ++replayed;
        }
    }
    // The kept inputs are part of the repository: none found means the path is wrong.
    REQUIRE(replayed > 0);
}
