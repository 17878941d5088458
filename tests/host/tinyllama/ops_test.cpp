// Each forward-pass op against a straightforward double-precision computation written
// here from formats.md, on random inputs of several sizes.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernel_lib/cpu/features.h"
#include "kernel_lib/libm/math.h"
#include "tinyllama/ops.h"

using namespace tllama;

namespace {

std::vector<float> random_vector(std::mt19937& rng, size_t n, float lo, float hi)
{
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v)
        x = dist(rng);
    return v;
}

// |a - b| <= abs_tol + rel_tol * |b|
bool close(double a, double b, double rel_tol = 1e-5, double abs_tol = 1e-6)
{
    return std::fabs(a - b) <= abs_tol + rel_tol * std::fabs(b);
}

}

TEST_CASE("rmsnorm matches mean-square normalisation in double", "[tinyllama][ops]")
{
    std::mt19937 rng(1);
    for (int n : { 1, 7, 64, 288, 1000 }) {
        auto x = random_vector(rng, n, -3.0f, 3.0f);
        auto w = random_vector(rng, n, 0.5f, 1.5f);
        std::vector<float> out(n);
        rmsnorm(out.data(), x.data(), w.data(), n);
        double ss = 0;
        for (float v : x)
            ss += double(v) * v;
        const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
        for (int j = 0; j < n; ++j) {
            INFO("n " << n << " j " << j);
            CHECK(close(out[j], w[j] * x[j] * inv));
        }
        // In place (the final norm runs on x itself).
        std::vector<float> y = x;
        rmsnorm(y.data(), y.data(), w.data(), n);
        CHECK(y == out);
    }
}

TEST_CASE("rmsnorm keeps the epsilon: a zero vector stays zero, not NaN", "[tinyllama][ops]")
{
    std::vector<float> x(16, 0.0f), w(16, 1.0f), out(16, 1.0f);
    rmsnorm(out.data(), x.data(), w.data(), 16);
    for (float v : out)
        CHECK(v == 0.0f);
}

TEST_CASE("softmax matches exp/sum in double, also for large logits", "[tinyllama][ops]")
{
    std::mt19937 rng(2);
    for (int n : { 1, 2, 5, 100, 32000 }) {
        for (float scale : { 1.0f, 80.0f }) {
            auto x = random_vector(rng, n, -scale, scale);
            x[n / 2] += 1000.0f;  // would overflow exp() without subtracting the max
            std::vector<float> p = x;
            softmax(p.data(), n);
            double max = *std::max_element(x.begin(), x.end()), sum = 0;
            for (float v : x)
                sum += std::exp(double(v) - max);
            double total = 0;
            for (int i = 0; i < n; ++i) {
                INFO("n " << n << " i " << i);
                CHECK(close(p[i], std::exp(double(x[i]) - max) / sum, 1e-5, 1e-9));
                total += p[i];
            }
            CHECK(std::fabs(total - 1.0) < 1e-4);
        }
    }
}

TEST_CASE("RoPE rotates each pair by pos / 10000^(i/head_size)", "[tinyllama][ops]")
{
    std::mt19937 rng(3);
    for (int head_size : { 2, 8, 48, 64 }) {
        for (int pos : { 0, 1, 17, 511 }) {
            const int n = head_size * 3;
            auto v = random_vector(rng, n, -1.0f, 1.0f);
            std::vector<float> freq(head_size / 2), cos(head_size / 2), sin(head_size / 2);
            rope_frequencies(freq.data(), head_size);
            rope_angles(cos.data(), sin.data(), freq.data(), head_size, pos);
            std::vector<float> r = v;
            rope_rotate(r.data(), n, head_size, cos.data(), sin.data());
            for (int i = 0; i < n; i += 2) {
                const double angle = pos / std::pow(10000.0, double(i % head_size) / head_size);
                const double c = std::cos(angle), s = std::sin(angle);
                INFO("head_size " << head_size << " pos " << pos << " i " << i);
                // The float angle pos * freq carries ~pos ulps of error: 1e-4 absolute.
                CHECK(close(r[i], v[i] * c - v[i + 1] * s, 0, 1e-4));
                CHECK(close(r[i + 1], v[i] * s + v[i + 1] * c, 0, 1e-4));
            }
            if (pos == 0)
                CHECK(r == v);  // angle 0: the identity, exactly
        }
    }
}

TEST_CASE("attention with grouped-query heads matches a direct computation", "[tinyllama][ops]")
{
    std::mt19937 rng(4);
    struct Case {
        int n_heads, n_kv_heads, head_size, pos;
    };
    for (Case c : { Case { 1, 1, 4, 0 }, Case { 6, 6, 48, 9 }, Case { 8, 4, 8, 30 }, Case { 32, 4, 16, 5 }, Case { 4, 1, 6, 12 } }) {
        const int kv_dim = c.n_kv_heads * c.head_size, dim = c.n_heads * c.head_size, seq = c.pos + 1;
        auto q = random_vector(rng, dim, -1.0f, 1.0f);
        auto k = random_vector(rng, seq * kv_dim, -1.0f, 1.0f);
        auto v = random_vector(rng, seq * kv_dim, -1.0f, 1.0f);
        const int att_stride = seq + 3;  // wider than needed, as in the RunState
        std::vector<float> att(c.n_heads * att_stride), out(dim, 123.0f);
        attention(out.data(), q.data(), k.data(), v.data(), att.data(), att_stride, c.pos, c.n_heads, c.n_kv_heads, c.head_size);

        for (int h = 0; h < c.n_heads; ++h) {
            const int g = h * c.n_kv_heads / c.n_heads;  // the kv head serving query head h
            std::vector<double> score(seq);
            double max = -1e300;
            for (int t = 0; t < seq; ++t) {
                double dot = 0;
                for (int i = 0; i < c.head_size; ++i)
                    dot += double(q[h * c.head_size + i]) * k[t * kv_dim + g * c.head_size + i];
                score[t] = dot / std::sqrt(double(c.head_size));
                max = std::max(max, score[t]);
            }
            double sum = 0;
            for (double& s : score)
                sum += (s = std::exp(s - max));
            for (int i = 0; i < c.head_size; ++i) {
                double expected = 0;
                for (int t = 0; t < seq; ++t)
                    expected += score[t] / sum * v[t * kv_dim + g * c.head_size + i];
                INFO("heads " << c.n_heads << "/" << c.n_kv_heads << " head " << h << " i " << i);
                CHECK(close(out[h * c.head_size + i], expected, 1e-4, 1e-5));
            }
        }
    }
}

TEST_CASE("SwiGLU computes silu(h1) * h3", "[tinyllama][ops]")
{
    std::mt19937 rng(5);
    for (int n : { 1, 13, 64, 130, 768 }) {
        auto h1 = random_vector(rng, n, -20.0f, 20.0f);
        auto h3 = random_vector(rng, n, -2.0f, 2.0f);
        h1[0] = -200.0f;  // exp(200) overflows to inf: silu must give (-)0, not NaN
        std::vector<float> out = h1;
        swiglu(out.data(), h3.data(), n);
        for (int i = 0; i < n; ++i) {
            const double a = h1[i];
            INFO("n " << n << " i " << i << " a " << a);
            CHECK(close(out[i], a / (1.0 + std::exp(-a)) * h3[i], 1e-5, 1e-7));
            // run.c's bits: its operations in its order, on expf's (the AVX2 exponentials
            // where this CPU has them).
            const float v = h1[i];
            const float expected = v * (1.0f / (1.0f + kl::expf(-v))) * h3[i];
            CHECK(std::memcmp(&out[i], &expected, sizeof(float)) == 0);
        }
    }
}

TEST_CASE("accumulate adds the residual", "[tinyllama][ops]")
{
    std::vector<float> x { 1.0f, -2.0f, 0.5f }, y { 0.25f, 2.0f, -4.0f };
    accumulate(x.data(), y.data(), 3);
    CHECK(x == std::vector<float> { 1.25f, 0.0f, -3.5f });
}

namespace {

u32 bits(float f)
{
    u32 u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

}

TEST_CASE("attention's grouped scores and hand-vectorized values keep run.c's float order bit for bit",
    "[tinyllama][ops]")
{
    // run.c's loops, head by head, in float: the grouped path (four heads sharing a key head,
    // keys in runs of 32) and the 8-lane value sums must give exactly these bits.
    std::mt19937 rng(7);
    struct Case {
        int n_heads, n_kv_heads, head_size, pos, head_begin, head_end;
    };
    // Grouped eight at a time: whole ranges, a core's share (8..24), the most queries that
    // fit (32 x 128) and more (40 x 128: 8-key blocks); the rest take the 8-key blocks.
    for (Case c : { Case { 32, 4, 64, 70, 0, 32 }, Case { 32, 4, 64, 70, 8, 20 }, Case { 32, 4, 64, 70, 8, 24 },
             Case { 32, 4, 128, 41, 0, 32 }, Case { 40, 5, 128, 41, 0, 40 }, Case { 16, 2, 12, 37, 0, 16 },
             Case { 8, 2, 20, 3, 4, 8 }, Case { 12, 12, 64, 45, 0, 12 }, Case { 8, 1, 136, 9, 0, 8 } }) {
        const int kv_dim = c.n_kv_heads * c.head_size, dim = c.n_heads * c.head_size, seq = c.pos + 1;
        const int kv_mul = c.n_heads / c.n_kv_heads;
        auto q = random_vector(rng, dim, -1.0f, 1.0f);
        auto k = random_vector(rng, seq * kv_dim, -1.0f, 1.0f);
        auto v = random_vector(rng, seq * kv_dim, -1.0f, 1.0f);
        // Score rows longer than the keys, and as long (nothing may be written past pos).
        for (const int att_stride : { seq + 5, seq }) {
            std::vector<float> att(c.n_heads * att_stride), out(dim, 0.0f);
            attention_heads(out.data(), q.data(), k.data(), v.data(), att.data(), att_stride, c.pos, c.n_heads,
                c.n_kv_heads, c.head_size, c.head_begin, c.head_end);
            const float scale = kl::sqrtf(static_cast<float>(c.head_size));
            for (int h = c.head_begin; h < c.head_end; ++h) {
                const int offset = (h / kv_mul) * c.head_size;
                std::vector<float> score(seq);
                for (int t = 0; t < seq; ++t) {
                    float sum = 0.0f;
                    for (int i = 0; i < c.head_size; ++i)
                        sum += q[h * c.head_size + i] * k[t * kv_dim + offset + i];
                    score[t] = sum / scale;
                }
                softmax(score.data(), seq);
                for (int i = 0; i < c.head_size; ++i) {
                    float expected = 0.0f;
                    for (int t = 0; t < seq; ++t)
                        expected += score[t] * v[t * kv_dim + offset + i];
                    INFO("heads " << c.n_heads << "/" << c.n_kv_heads << " size " << c.head_size << " head " << h << " i " << i
                                  << " stride " << att_stride);
                    REQUIRE(bits(out[h * c.head_size + i]) == bits(expected));
                }
            }
        }
    }
}

TEST_CASE("softmax's rows give run.c's bits with and without AVX2", "[tinyllama][ops]")
{
    // run.c's softmax, row by row, in float: max, exp(x - max) summed in order, divided.
    auto run_c = [](std::vector<float> x) {
        float max = x[0];
        for (float v : x)
            max = v > max ? v : max;
        float sum = 0.0f;
        for (float& v : x) {
            v = kl::expf(v - max);
            sum += v;
        }
        for (float& v : x)
            v /= sum;
        return x;
    };
    std::mt19937 rng(5);
    const bool avx2 = kl::cpu::features().avx2_usable;
    for (int rows : { 1, 3, 4, 7 }) {
        for (int n : { 1, 3, 4, 9, 300 }) {
            const int stride = n + 3;
            auto input = random_vector(rng, rows * stride, -30.0f, 30.0f);
            input[0] = -1e30f;  // far below the max: exp underflows to 0 (expf's special case)
            for (bool wide : { false, avx2 }) {
                std::vector<float> x = input;
                softmax_rows(x.data(), stride, n, 0, rows, wide);
                for (int r = 0; r < rows; ++r) {
                    auto expected = run_c(std::vector<float>(input.begin() + r * stride, input.begin() + r * stride + n));
                    for (int i = 0; i < n; ++i) {
                        INFO("rows " << rows << " n " << n << " avx2 " << wide << " row " << r << " i " << i);
                        REQUIRE(bits(x[r * stride + i]) == bits(expected[i]));
                    }
                }
            }
        }
    }
    // Zero maxima of either sign, infinities, the maximum in the tail or in any lane.
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<std::vector<float>> by_hand = {
        { -1.0f, 0.0f, -2.0f, -3.0f, -4.0f, -5.0f, -0.0f, -1.0f, -2.0f },
        { -0.0f, 0.0f, -1.0f, 0.0f, -0.0f },
        { -inf, -1.0f, -inf, 2.0f, -inf, -inf },
        { 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f, 10.0f },
        { 10.0f, 9.0f, 8.0f, 7.0f, 6.0f, 5.0f, 4.0f, 3.0f, 2.0f, 1.0f },
        { 1.0f, 2.0f, 9.0f, 4.0f, 5.0f, 6.0f, 7.0f },
        { -5.0f, -6.0f, -4.0f, -3.0f, -7.0f, -8.0f, -9.0f, -3.5f },
    };
    for (const auto& row : by_hand)
        for (bool wide : { false, avx2 }) {
            std::vector<float> x = row;
            softmax_rows(x.data(), 0, static_cast<int>(x.size()), 0, 1, wide);
            const auto expected = run_c(row);
            for (usize i = 0; i < x.size(); ++i) {
                INFO("row " << row[0] << ", " << row[1] << "... avx2 " << wide << " i " << i);
                REQUIRE(bits(x[i]) == bits(expected[i]));
            }
        }
}
