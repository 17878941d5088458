// Tokenizer loading, lookup and decoding (see tokenizer.h; encode() is in encode.cpp).
#include "tinyllama/tokenizer.h"

#include <ctype.h>
#include <string.h>

#include "kernel_lib/base/unaligned.h"
#include "kernel_lib/libc/kctype.h"
#include "kernel_lib/mem/alloc.h"
#include "tinyllama/sort.h"

namespace tllama {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using kl::read_i32;

namespace {

bool is_finite(float f)
{
    u32 bits;
    memcpy(&bits, &f, sizeof(bits));
    return (bits & 0x7f800000u) != 0x7f800000u;
}

// Byte order, shorter first on a common prefix: the order strcmp gives C strings.
int compare_pieces(const u8* a, u32 a_length, const u8* b, u32 b_length)
{
    int c = memcmp(a, b, kl::min(a_length, b_length));
    if (c != 0)
        return c;
    return a_length < b_length ? -1 : (a_length > b_length ? 1 : 0);
}

// The byte HH of a "<0xHH>" piece, or -1.
int byte_piece_value(const u8* p, u32 length)
{
    if (length != 6 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || p[5] != '>')
        return -1;
    const int hi = kl::hex_digit_value(p[3]), lo = kl::hex_digit_value(p[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Reads the vocab_size entries into the tables; checks sizes and values.
ErrorOr<void> read_entries(Tokenizer& t, const u8* data, u64 size)
{
    u64 offset = 4;
    for (i32 id = 0; id < t.vocab_size; ++id) {
        if (offset == size)
            return Error::make(ErrorCode::TokenizerMismatch,
                "tokenizer holds %d tokens but the model's vocab_size is %d: it belongs to another model (use the model's own tokenizer: -z, TOKENIZER= or --tokenizer)",
                id, t.vocab_size);
        if (size - offset < 8)
            return Error::make(ErrorCode::TokenizerTruncated, "tokenizer file ends inside the header of token %d (file is %llu bytes)",
                id, static_cast<unsigned long long>(size));
        float score;
        memcpy(&score, data + offset, sizeof(score));
        const i32 length = read_i32(data + offset + 4);
        offset += 8;
        if (!is_finite(score))
            return Error::make(ErrorCode::TokenizerInvalid, "tokenizer: token %d has a non-finite score", id);
        if (length < 0 || static_cast<u32>(length) > t.max_token_length)
            return Error::make(ErrorCode::TokenizerInvalid, "tokenizer: token %d has length %d, expected 0..%u (max_token_length)",
                id, length, t.max_token_length);
        if (size - offset < static_cast<u64>(length))
            return Error::make(ErrorCode::TokenizerTruncated, "tokenizer file ends inside token %d (file is %llu bytes)", id,
                static_cast<unsigned long long>(size));
        t.vocab[id] = data + offset;
        // Pieces are C strings in the reference implementation: a NUL ends them.
        u32 visible = 0;
        while (visible < static_cast<u32>(length) && data[offset + visible] != 0)
            ++visible;
        t.vocab_length[id] = visible;
        t.vocab_scores[id] = score;
        offset += static_cast<u64>(length);
    }
    if (offset != size)
        return Error::make(ErrorCode::TokenizerMismatch,
            "tokenizer continues for %llu bytes after the model's %d tokens: it belongs to a model with a larger vocabulary "
            "(use the model's own tokenizer: -z, TOKENIZER= or --tokenizer)",
            static_cast<unsigned long long>(size - offset), t.vocab_size);
    return {};
}

// The encoder relies on the byte-token convention for characters with no token of their own.
ErrorOr<void> check_byte_tokens(const Tokenizer& t)
{
    for (i32 b = 0; b < 256; ++b) {
        const i32 id = first_byte_token + b;
        if (byte_piece_value(t.vocab[id], t.vocab_length[id]) != b)
            return Error::make(ErrorCode::TokenizerInvalid, "tokenizer: token %d is '%.*s', expected the byte token <0x%02X>", id,
                static_cast<int>(kl::min<u32>(t.vocab_length[id], 16)), reinterpret_cast<const char*>(t.vocab[id]), b);
    }
    return {};
}

}

ErrorOr<u8*> allocate_tokenizer(Tokenizer& t, i32 vocab_size, u64 extra)
{
    t = {};
    if (vocab_size < first_byte_token + 256)
        return Error::make(ErrorCode::InvalidArgument, "tokenizer: vocab_size %d is too small for the 259 special and byte tokens",
            vocab_size);
    // One block: piece pointers, lengths, scores, sorted ids, the sort's scratch, extra.
    const u64 n = static_cast<u64>(vocab_size);
    const u64 bytes = n * (sizeof(const u8*) + 4 * sizeof(u32)) + extra;
    void* block = TRY(kl::mem::allocate(bytes, 64, "the tokenizer tables"));
    t.block = block;
    t.vocab_size = vocab_size;
    t.vocab = static_cast<const u8**>(block);
    t.vocab_length = reinterpret_cast<u32*>(t.vocab + n);
    t.vocab_scores = reinterpret_cast<float*>(t.vocab_length + n);
    t.sorted_vocab = reinterpret_cast<u32*>(t.vocab_scores + n);
    t.lookup_count = static_cast<u32>(n);
    t.bos_id = token_bos;
    t.eos_id = token_eos;
    t.add_bos = true;
    for (u32 b = 0; b < 256; ++b)
        t.byte_pieces[b] = static_cast<u8>(b);
    return reinterpret_cast<u8*>(t.sorted_vocab + 2 * n);
}

ErrorOr<void> finish_tokenizer(Tokenizer& t)
{
    auto fail = [&](Error e) -> ErrorOr<void> {
        free_tokenizer(t);
        return e;
    };
    if (auto r = check_byte_tokens(t); r.is_error())
        return fail(r.release_error());
    u32* scratch = t.sorted_vocab + t.vocab_size;
    stable_sort(t.sorted_vocab, scratch, t.lookup_count, [&t](u32 a, u32 b) {
        return compare_pieces(t.vocab[a], t.vocab_length[a], t.vocab[b], t.vocab_length[b]) < 0;
    });
    t.space_id = lookup_piece(t, reinterpret_cast<const u8*>(" "), 1);
    if (t.space_id < 0)
        return fail(Error::make(ErrorCode::TokenizerInvalid, "tokenizer has no \" \" token (needed as the dummy prefix of a prompt)"));
    return {};
}

ErrorOr<void> build_tokenizer(Tokenizer& t, const void* file, u64 size, i32 vocab_size)
{
    const u8* data = static_cast<const u8*>(file);
    t = {};
    if (vocab_size < first_byte_token + 256)
        return Error::make(ErrorCode::InvalidArgument, "tokenizer: vocab_size %d is too small for the 259 special and byte tokens",
            vocab_size);
    if (size < 4)
        return Error::make(ErrorCode::TokenizerTruncated, "tokenizer file is %llu bytes, shorter than its 4-byte header",
            static_cast<unsigned long long>(size));
    const i32 max_length = read_i32(data);
    if (max_length <= 0 || max_length > max_token_length_limit)
        return Error::make(ErrorCode::TokenizerInvalid, "tokenizer: max_token_length is %d, expected 1..%d (is this a tokenizer.bin?)",
            max_length, max_token_length_limit);
    TRY(allocate_tokenizer(t, vocab_size, 0));
    t.max_token_length = static_cast<u32>(max_length);
    if (auto r = read_entries(t, data, size); r.is_error()) {
        free_tokenizer(t);
        return r.release_error();
    }
    for (u32 id = 0; id < t.lookup_count; ++id)
        t.sorted_vocab[id] = id;
    return finish_tokenizer(t);
}

void free_tokenizer(Tokenizer& t)
{
    if (t.block)
        kl::mem::release(t.block);
    t = {};
}

i32 lookup_piece(const Tokenizer& t, const u8* bytes, u32 length)
{
    // Lower bound: the first id whose piece is not below the key.
    u32 lo = 0, hi = t.lookup_count;
    while (lo < hi) {
        const u32 mid = lo + (hi - lo) / 2;
        const u32 id = t.sorted_vocab[mid];
        if (compare_pieces(t.vocab[id], t.vocab_length[id], bytes, length) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t.lookup_count)
        return -1;
    const u32 id = t.sorted_vocab[lo];
    return compare_pieces(t.vocab[id], t.vocab_length[id], bytes, length) == 0 ? static_cast<i32>(id) : -1;
}

TokenPiece decode(const Tokenizer& t, i32 prev_token, i32 token)
{
    TokenPiece piece { t.vocab[token], t.vocab_length[token] };
    if (prev_token == t.bos_id && piece.length > 0 && piece.bytes[0] == ' ') {
        ++piece.bytes;
        --piece.length;
    }
    const int byte = byte_piece_value(piece.bytes, piece.length);
    if (byte >= 0)
        piece = { &t.byte_pieces[byte], 1 };
    return piece;
}

bool is_printable_piece(TokenPiece piece)
{
    if (piece.length == 0)
        return false;
    if (piece.length == 1) {
        const int c = piece.bytes[0];
        return c != 0 && (isprint(c) || isspace(c));
    }
    return true;
}

}
