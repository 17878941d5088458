// kl::qsort (stable merge sort) and kl::bsearch (kernel_lib/libc/kstdlib.h).
//
// Random arrays with many equal keys, element sizes from 1 byte to odd 12- and 40-byte
// records: the result must be sorted, a permutation of the input, and equal keys must
// keep their input order, i.e. equal to std::stable_sort's result. The in-place fallback
// (used when the merge buffer cannot be allocated) is checked the same way.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <stdint.h>
#include <string.h>
#include <vector>

#include "kernel_lib/libc/kstdlib.h"

namespace {

// A record of N bytes: key in the first 2 bytes, original position in the next 4.
template<size_t N>
struct Record {
    static_assert(N >= 6);
    unsigned char bytes[N];

    uint16_t key() const { return static_cast<uint16_t>(bytes[0] | bytes[1] << 8); }
    uint32_t position() const
    {
        uint32_t p;
        memcpy(&p, bytes + 2, 4);
        return p;
    }
};

template<size_t N>
int compare_records(const void* a, const void* b)
{
    uint16_t x = static_cast<const Record<N>*>(a)->key();
    uint16_t y = static_cast<const Record<N>*>(b)->key();
    return (x > y) - (x < y);
}

template<size_t N>
std::vector<Record<N>> random_records(std::mt19937& rng, size_t count, unsigned distinct_keys)
{
    std::vector<Record<N>> v(count);
    for (size_t i = 0; i < count; ++i) {
        for (auto& b : v[i].bytes)
            b = static_cast<unsigned char>(rng());
        uint16_t key = static_cast<uint16_t>(rng() % distinct_keys);
        v[i].bytes[0] = static_cast<unsigned char>(key);
        v[i].bytes[1] = static_cast<unsigned char>(key >> 8);
        uint32_t p = static_cast<uint32_t>(i);
        memcpy(v[i].bytes + 2, &p, 4);
    }
    return v;
}

template<size_t N>
void check_sort(std::mt19937& rng, size_t count, unsigned distinct_keys, bool in_place)
{
    auto v = random_records<N>(rng, count, distinct_keys);
    auto expected = v;
    std::stable_sort(expected.begin(), expected.end(),
        [](const Record<N>& a, const Record<N>& b) { return a.key() < b.key(); });
    if (in_place)
        kl::detail::stable_sort_in_place(v.data(), v.size(), N, compare_records<N>);
    else
        kl::qsort(v.data(), v.size(), N, compare_records<N>);
    CAPTURE(N, count, distinct_keys, in_place);
    // Whole records equal: sorted, stable (positions ascending within a key), a permutation.
    REQUIRE((count == 0 || memcmp(v.data(), expected.data(), count * N) == 0));
}

int compare_ints(const void* a, const void* b)
{
    int x = *static_cast<const int*>(a);
    int y = *static_cast<const int*>(b);
    return (x > y) - (x < y);
}

int compare_bytes(const void* a, const void* b)
{
    return *static_cast<const unsigned char*>(a) - *static_cast<const unsigned char*>(b);
}

}

TEST_CASE("qsort is a stable sort for every size and element size", "[libc]")
{
    std::mt19937 rng(31);
    for (size_t count = 0; count < 300; ++count) {
        check_sort<6>(rng, count, 1 + rng() % 8, false);
        check_sort<12>(rng, count, 1 + rng() % 50, false);
        check_sort<40>(rng, count, 3, false);
    }
    check_sort<12>(rng, 100000, 1000, false);
    check_sort<8>(rng, 65537, 2, false);
}

TEST_CASE("qsort's in-place fallback is stable too", "[libc]")
{
    std::mt19937 rng(32);
    for (size_t count = 0; count < 200; ++count) {
        check_sort<6>(rng, count, 1 + rng() % 8, true);
        check_sort<40>(rng, count, 5, true);
    }
}

TEST_CASE("qsort sorts plain ints and bytes like std::sort", "[libc]")
{
    std::mt19937 rng(33);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<int> v(rng() % 2000);
        for (int& x : v)
            x = static_cast<int>(rng());  // full range, negatives included
        auto expected = v;
        std::sort(expected.begin(), expected.end());
        kl::qsort(v.data(), v.size(), sizeof(int), compare_ints);
        REQUIRE(v == expected);
        std::vector<unsigned char> bytes(rng() % 500);
        for (auto& b : bytes)
            b = static_cast<unsigned char>(rng());
        auto expected_bytes = bytes;
        std::sort(expected_bytes.begin(), expected_bytes.end());
        kl::qsort(bytes.data(), bytes.size(), 1, compare_bytes);
        REQUIRE(bytes == expected_bytes);
    }
    // Already sorted and reversed inputs.
    std::vector<int> up(5000);
    for (int i = 0; i < 5000; ++i)
        up[i] = i;
    std::vector<int> down(up.rbegin(), up.rend());
    kl::qsort(down.data(), down.size(), sizeof(int), compare_ints);
    CHECK(down == up);
    kl::qsort(up.data(), up.size(), sizeof(int), compare_ints);
    CHECK(down == up);
}

TEST_CASE("bsearch finds present keys and only those", "[libc]")
{
    std::mt19937 rng(34);
    for (int trial = 0; trial < 300; ++trial) {
        std::vector<int> v(rng() % 300);
        for (int& x : v)
            x = static_cast<int>(rng() % 1000) * 2;  // even numbers only
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        for (size_t i = 0; i < v.size(); ++i) {
            const int* found = static_cast<const int*>(kl::bsearch(&v[i], v.data(), v.size(), sizeof(int), compare_ints));
            REQUIRE(found == v.data() + i);
            int odd = v[i] + 1;
            REQUIRE(kl::bsearch(&odd, v.data(), v.size(), sizeof(int), compare_ints) == nullptr);
        }
        int below = -1;
        REQUIRE(kl::bsearch(&below, v.data(), v.size(), sizeof(int), compare_ints) == nullptr);
    }
}
