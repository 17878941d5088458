// Sampling (see sampler.h). The float steps (divide by temperature, cutoff, cumulative
// sums) are run.c's, since a rounding difference near a cdf boundary changes a story.
#include "tinyllama/sampler.h"

#include "kernel_lib/mem/alloc.h"
#include "tinyllama/ops.h"
#include "tinyllama/sort.h"

namespace tllama {

using kl::ErrorOr;

ErrorOr<void> build_sampler(Sampler& s, i32 vocab_size, float temperature, float topp, u64 seed)
{
    const u64 bytes = static_cast<u64>(vocab_size) * sizeof(ProbIndex);
    void* block = TRY(kl::mem::allocate(2 * bytes, 64, "the sampler's top-p buffers"));
    s.vocab_size = vocab_size;
    s.probindex = static_cast<ProbIndex*>(block);
    s.scratch = s.probindex + vocab_size;
    s.temperature = temperature;
    s.topp = topp;
    s.rng_state = seed;
    return {};
}

void free_sampler(Sampler& s)
{
    if (s.probindex)
        kl::mem::release(s.probindex);
    s.probindex = nullptr;
    s.scratch = nullptr;
}

u32 random_u32(u64* state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return static_cast<u32>((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

float random_f32(u64* state)
{
    return static_cast<float>(random_u32(state) >> 8) / 16777216.0f;
}

i32 sample_argmax(const float* logits, i32 n)
{
    i32 best = 0;
    for (i32 i = 1; i < n; ++i) {
        if (logits[i] > logits[best])
            best = i;
    }
    return best;
}

i32 sample_mult(const float* probs, i32 n, float coin)
{
    float cdf = 0.0f;
    for (i32 i = 0; i < n; ++i) {
        cdf += probs[i];
        if (coin < cdf)
            return i;
    }
    return n - 1;  // rounding left the total just below coin
}

i32 sample_topp(const float* probs, i32 n, float topp, ProbIndex* probindex, ProbIndex* scratch, float coin)
{
    // Tokens below the cutoff cannot be in the nucleus (if all but one were, the
    // remaining mass would exceed topp), so they are dropped before sorting.
    const float cutoff = (1.0f - topp) / static_cast<float>(n - 1);
    i32 kept = 0;
    for (i32 i = 0; i < n; ++i) {
        if (probs[i] >= cutoff)
            probindex[kept++] = { probs[i], i };
    }
    if (kept == 0)
        return sample_mult(probs, n, coin);  // only when probs are not a distribution
    stable_sort(probindex, scratch, static_cast<usize>(kept), [](const ProbIndex& a, const ProbIndex& b) { return a.prob > b.prob; });

    // The shortest prefix whose mass exceeds topp (all kept tokens if none does).
    float cumulative = 0.0f;
    i32 last = kept - 1;
    for (i32 i = 0; i < kept; ++i) {
        cumulative += probindex[i].prob;
        if (cumulative > topp) {
            last = i;
            break;
        }
    }
    const float r = coin * cumulative;
    float cdf = 0.0f;
    for (i32 i = 0; i <= last; ++i) {
        cdf += probindex[i].prob;
        if (r < cdf)
            return probindex[i].index;
    }
    return probindex[last].index;
}

i32 sample(Sampler& s, float* logits)
{
    if (s.temperature == 0.0f)
        return sample_argmax(logits, s.vocab_size);
    for (i32 i = 0; i < s.vocab_size; ++i)
        logits[i] /= s.temperature;
    softmax(logits, s.vocab_size);
    const float coin = random_f32(&s.rng_state);
    if (s.topp <= 0.0f || s.topp >= 1.0f)
        return sample_mult(logits, s.vocab_size, coin);
    return sample_topp(logits, s.vocab_size, s.topp, s.probindex, s.scratch, coin);
}

}
