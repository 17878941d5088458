// BPE encoding (formats.md, "Encoding a prompt"), in O(n log n).
//
// The definition repeatedly scans all adjacent pairs for the best-scoring merge, leftmost
// on ties: quadratic, and slow for long prompts. Here the symbols form a linked list
// (node i starts at initial symbol i, and a merge folds the right node into the left one),
// and every mergeable adjacent pair sits in a binary heap ordered by (score descending,
// left node ascending). Since list order is node order, the heap's top valid entry is
// exactly the pair the scan would pick. A merge changes only its two nodes, so entries
// carry both nodes' versions and stale ones are dropped when they surface; each merge
// adds at most the two new pairs it creates.
#include <string.h>

#include "kernel_lib/mem/alloc.h"
#include "tinyllama/tokenizer.h"

namespace tllama {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

// run.c starts its best score at -1e10 and merges only strictly above it; kept so that
// a tokenizer with scores that low encodes the same here.
constexpr float min_merge_score = -1e10f;

struct MergeCandidate {
    float score;
    i32 left;
    i32 right;
    u32 left_version;
    u32 right_version;
    i32 merged;  // the id of left's piece followed by right's
};

bool goes_before(const MergeCandidate& a, const MergeCandidate& b)
{
    return a.score > b.score || (a.score == b.score && a.left < b.left);
}

class MergeHeap {
public:
    MergeHeap(MergeCandidate* storage) : m_items(storage) {}

    bool empty() const { return m_count == 0; }

    void push(const MergeCandidate& c)
    {
        u64 i = m_count++;
        while (i > 0) {
            const u64 parent = (i - 1) / 2;
            if (!goes_before(c, m_items[parent]))
                break;
            m_items[i] = m_items[parent];
            i = parent;
        }
        m_items[i] = c;
    }

    MergeCandidate pop()
    {
        const MergeCandidate top = m_items[0];
        const MergeCandidate last = m_items[--m_count];
        u64 i = 0;
        for (;;) {
            u64 child = 2 * i + 1;
            if (child >= m_count)
                break;
            if (child + 1 < m_count && goes_before(m_items[child + 1], m_items[child]))
                ++child;
            if (!goes_before(m_items[child], last))
                break;
            m_items[i] = m_items[child];
            i = child;
        }
        if (m_count > 0)
            m_items[i] = last;
        return top;
    }

private:
    MergeCandidate* m_items;
    u64 m_count = 0;
};

struct Symbols {
    i32* id;         // [n] the token of node i (the caller's token array)
    i32* next;       // [n] following node, -1 at the end
    i32* prev;       // [n] preceding node, -1 at the start
    u32* version;    // [n] bumped whenever node i changes or dies
    u8* concat;      // [2 * max_token_length] two pieces back to back
};

// Queues (left, right) if their concatenation is a token.
void consider_pair(const Tokenizer& t, Symbols& s, MergeHeap& heap, i32 left, i32 right)
{
    const i32 a = s.id[left], b = s.id[right];
    const u32 a_length = t.vocab_length[a], b_length = t.vocab_length[b];
    memcpy(s.concat, t.vocab[a], a_length);
    memcpy(s.concat + a_length, t.vocab[b], b_length);
    const i32 merged = lookup_piece(t, s.concat, a_length + b_length);
    if (merged < 0 || !(t.vocab_scores[merged] > min_merge_score))
        return;
    heap.push({ t.vocab_scores[merged], left, right, s.version[left], s.version[right], merged });
}

// Merges tokens[0..n) in place; returns the new count.
u32 merge_pairs(const Tokenizer& t, i32* tokens, u32 n, Symbols& s, MergeHeap& heap)
{
    s.id = tokens;
    for (u32 i = 0; i < n; ++i) {
        s.next[i] = i + 1 < n ? static_cast<i32>(i + 1) : -1;
        s.prev[i] = static_cast<i32>(i) - 1;
        s.version[i] = 0;
    }
    for (u32 i = 0; i + 1 < n; ++i)
        consider_pair(t, s, heap, static_cast<i32>(i), static_cast<i32>(i + 1));

    while (!heap.empty()) {
        const MergeCandidate c = heap.pop();
        if (s.version[c.left] != c.left_version || s.version[c.right] != c.right_version)
            continue;  // one of the two has merged since this entry was queued
        // Fold the right node into the left one.
        s.id[c.left] = c.merged;
        ++s.version[c.left];
        ++s.version[c.right];
        const i32 after = s.next[c.right];
        s.next[c.left] = after;
        if (after >= 0)
            s.prev[after] = c.left;
        if (s.prev[c.left] >= 0)
            consider_pair(t, s, heap, s.prev[c.left], c.left);
        if (after >= 0)
            consider_pair(t, s, heap, c.left, after);
    }

    // Node 0 never merges away (merges fold right into left), so the list starts there.
    u32 count = 0;
    for (i32 i = 0; i >= 0; i = s.next[i])
        tokens[count++] = s.id[i];
    return count;
}

}

ErrorOr<u32> encode(const Tokenizer& t, const char* text, u64 length, bool bos, bool eos, i32* tokens, u64 capacity)
{
    if (capacity < encode_capacity(length))
        return Error::make(ErrorCode::InvalidArgument, "encode: room for %llu tokens, a %llu-byte text may need %llu",
            static_cast<unsigned long long>(capacity), static_cast<unsigned long long>(length),
            static_cast<unsigned long long>(encode_capacity(length)));
    const u8* bytes = reinterpret_cast<const u8*>(text);
    u32 n = 0;
    if (bos)
        tokens[n++] = t.bos_id;
    if (length > 0)
        tokens[n++] = t.space_id;

    // Code points: a byte and up to three continuation bytes (10xxxxxx). A code point
    // without a token of its own falls back to one byte token per byte.
    for (u64 i = 0; i < length;) {
        const u64 start = i++;
        while (i < length && (bytes[i] & 0xC0) == 0x80 && i - start < 4)
            ++i;
        const i32 id = lookup_piece(t, bytes + start, static_cast<u32>(i - start));
        if (id >= 0) {
            tokens[n++] = id;
        } else {
            for (u64 j = start; j < i; ++j)
                tokens[n++] = first_byte_token + bytes[j];
        }
    }

    if (n > 1) {
        // Working memory: three i32/u32 arrays per symbol, a heap of at most
        // (n - 1) + 2 * (n - 1) candidates, and the concatenation buffer.
        const u64 heap_capacity = 3 * static_cast<u64>(n);
        const u64 bytes_needed = heap_capacity * sizeof(MergeCandidate) + 3 * static_cast<u64>(n) * sizeof(i32) + 2 * t.max_token_length;
        void* block = TRY(kl::mem::allocate(bytes_needed, 16, "the prompt encoder's working memory"));
        auto* candidates = static_cast<MergeCandidate*>(block);
        Symbols s;
        s.next = reinterpret_cast<i32*>(candidates + heap_capacity);
        s.prev = s.next + n;
        s.version = reinterpret_cast<u32*>(s.prev + n);
        s.concat = reinterpret_cast<u8*>(s.version + n);
        MergeHeap heap(candidates);
        n = merge_pairs(t, tokens, n, s, heap);
        kl::mem::release(block);
    }
    if (eos)
        tokens[n++] = t.eos_id;
    return n;
}

}
