// The sampler: RNG values, greedy ties, multinomial and top-p selection, reproducibility,
// and the stable sort it relies on.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "tinyllama/sampler.h"
#include "tinyllama/sort.h"

using namespace tllama;

namespace {

// formats.md's xorshift, written independently with 128-bit arithmetic for the product.
u32 oracle_u32(u64& s)
{
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    unsigned __int128 product = static_cast<unsigned __int128>(s) * 0x2545F4914F6CDD1Dull;
    return static_cast<u32>(static_cast<u64>(product) >> 32);
}

struct OwnedSampler {
    Sampler s {};
    OwnedSampler(i32 vocab, float temperature, float topp, u64 seed)
    {
        REQUIRE_FALSE(build_sampler(s, vocab, temperature, topp, seed).is_error());
    }
    ~OwnedSampler() { free_sampler(s); }
};

}

TEST_CASE("the RNG is formats.md's xorshift and next_f32 stays in [0, 1)", "[tinyllama][sampler]")
{
    for (u64 seed : { 1ull, 42ull, 0xdeadbeefcafef00dull }) {
        u64 a = seed, b = seed;
        for (int i = 0; i < 1000; ++i)
            REQUIRE(random_u32(&a) == oracle_u32(b));
    }
    u64 s = 7;
    for (int i = 0; i < 10000; ++i) {
        const float f = random_f32(&s);
        REQUIRE(f >= 0.0f);
        REQUIRE(f < 1.0f);
    }
}

TEST_CASE("greedy picks the lowest index among equal maxima", "[tinyllama][sampler]")
{
    std::vector<float> logits { 0.5f, 2.0f, -1.0f, 2.0f, 2.0f };
    CHECK(sample_argmax(logits.data(), 5) == 1);
    logits[0] = 2.0f;
    CHECK(sample_argmax(logits.data(), 5) == 0);
    OwnedSampler greedy(5, 0.0f, 0.9f, 1);
    CHECK(sample(greedy.s, logits.data()) == 0);
}

TEST_CASE("multinomial walks the cdf: first index with coin < cdf, else the last", "[tinyllama][sampler]")
{
    std::vector<float> p { 0.1f, 0.0f, 0.6f, 0.3f };
    CHECK(sample_mult(p.data(), 4, 0.0f) == 0);
    CHECK(sample_mult(p.data(), 4, 0.0999f) == 0);
    CHECK(sample_mult(p.data(), 4, 0.1f) == 2);  // p[1] = 0 never wins
    CHECK(sample_mult(p.data(), 4, 0.69f) == 2);
    CHECK(sample_mult(p.data(), 4, 0.71f) == 3);
    std::vector<float> short_total { 0.2f, 0.2f };  // sums below coin: the last index
    CHECK(sample_mult(short_total.data(), 2, 0.9f) == 1);
}

TEST_CASE("top-p keeps the smallest high-probability prefix", "[tinyllama][sampler]")
{
    //                      0     1     2     3     4     5
    std::vector<float> p { 0.05f, 0.4f, 0.1f, 0.3f, 0.1f, 0.05f };
    std::vector<ProbIndex> buffer(6), scratch(6);
    // topp 0.5: sorted 0.4 (1), 0.3 (3) -> 0.7 > 0.5, so the nucleus is {1, 3}, total 0.7.
    // r = coin * 0.7: below 0.4 -> 1, else 3.
    CHECK(sample_topp(p.data(), 6, 0.5f, buffer.data(), scratch.data(), 0.0f) == 1);
    CHECK(sample_topp(p.data(), 6, 0.5f, buffer.data(), scratch.data(), 0.57f) == 1);  // r = 0.399
    CHECK(sample_topp(p.data(), 6, 0.5f, buffer.data(), scratch.data(), 0.58f) == 3);  // r = 0.406
    CHECK(sample_topp(p.data(), 6, 0.5f, buffer.data(), scratch.data(), 0.999f) == 3);
    // Ties keep index order (stable): 0.1 at 2 comes before 0.1 at 4.
    // topp 0.85: 0.4 + 0.3 + 0.1 (2) = 0.8, + 0.1 (4) = 0.9 > 0.85 -> nucleus {1, 3, 2, 4}.
    CHECK(sample_topp(p.data(), 6, 0.85f, buffer.data(), scratch.data(), 0.8f) == 2);   // r = 0.72
    CHECK(sample_topp(p.data(), 6, 0.85f, buffer.data(), scratch.data(), 0.95f) == 4);  // r = 0.855
    // A tiny topp keeps only the most likely token.
    CHECK(sample_topp(p.data(), 6, 0.01f, buffer.data(), scratch.data(), 0.99f) == 1);
}

TEST_CASE("topp 0 and 1 mean plain multinomial sampling", "[tinyllama][sampler]")
{
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
    std::vector<float> logits(300);
    for (float& l : logits)
        l = dist(rng);
    for (float topp : { 0.0f, 1.0f }) {
        OwnedSampler s(300, 0.7f, topp, 99);
        u64 rng_copy = 99;
        for (int i = 0; i < 50; ++i) {
            std::vector<float> a = logits, probs = logits;
            const i32 got = sample(s.s, a.data());
            // Independently: divide by the temperature, softmax, one coin, the cdf walk.
            double max = *std::max_element(probs.begin(), probs.end()) / 0.7, sum = 0;
            std::vector<double> p(300);
            for (int j = 0; j < 300; ++j)
                sum += (p[j] = std::exp(probs[j] / 0.7 - max));
            const float coin = random_f32(&rng_copy);
            double cdf = 0;
            int expected = 299;
            for (int j = 0; j < 300; ++j) {
                cdf += p[j] / sum;
                if (coin < cdf) {
                    expected = j;
                    break;
                }
            }
            INFO("topp " << topp << " draw " << i << " coin " << coin);
            CHECK(got == expected);
        }
    }
}

TEST_CASE("one seed gives one sequence of samples", "[tinyllama][sampler]")
{
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    std::vector<float> logits(1000);
    for (float& l : logits)
        l = dist(rng);
    auto draws = [&](u64 seed, float topp) {
        OwnedSampler s(1000, 1.0f, topp, seed);
        std::vector<i32> out;
        for (int i = 0; i < 40; ++i) {
            std::vector<float> copy = logits;
            out.push_back(sample(s.s, copy.data()));
        }
        return out;
    };
    CHECK(draws(42, 0.9f) == draws(42, 0.9f));
    CHECK(draws(42, 0.0f) == draws(42, 0.0f));
    CHECK(draws(42, 0.9f) != draws(43, 0.9f));
    const auto varied = draws(5, 0.0f);
    CHECK(std::set<i32>(varied.begin(), varied.end()).size() > 20);  // not stuck on one token
}

TEST_CASE("stable_sort orders like std::stable_sort, ties in input order", "[tinyllama][sampler]")
{
    std::mt19937 rng(5);
    for (size_t n : { 0, 1, 2, 3, 7, 64, 1000, 4097 }) {
        std::vector<ProbIndex> items(n), scratch(n);
        std::uniform_int_distribution<int> few(0, 9);  // many ties
        for (size_t i = 0; i < n; ++i)
            items[i] = { few(rng) / 10.0f, static_cast<i32>(i) };
        std::vector<ProbIndex> expected = items;
        auto by_prob_desc = [](const ProbIndex& a, const ProbIndex& b) { return a.prob > b.prob; };
        std::stable_sort(expected.begin(), expected.end(), by_prob_desc);
        stable_sort(items.data(), scratch.data(), n, by_prob_desc);
        for (size_t i = 0; i < n; ++i) {
            INFO("n " << n << " i " << i);
            REQUIRE(items[i].index == expected[i].index);
        }
    }
}
