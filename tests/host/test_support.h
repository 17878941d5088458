// Helpers shared by the host tests: where the repository is, reading files.
#pragma once

#include <string>
#include <vector>

namespace test_support {

// True in the sanitizer build (ASan + UBSan, make test-sanitize), where code runs ~10x slower
// and huge allocations abort instead of failing.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

// How many times the plain build's randomized tests repeat the sanitized build's trials.
constexpr int trial_scale = sanitized ? 1 : 4;

// The repository root: $BAREFLOW_ROOT, else found from this file's compile-time path.
std::string repo_root();

// A file's bytes (the test fails with a clear message when it cannot be read).
std::vector<unsigned char> read_file(const std::string& path);
std::string read_text(const std::string& path);

// `size` random bytes over `alphabet` symbols with copies of earlier stretches mixed in
// (some overlapping their source; one in eight up to `long_copy` bytes): input for codecs.
std::vector<unsigned char> repetitive_bytes(size_t size, unsigned seed, unsigned alphabet, size_t long_copy);

}
