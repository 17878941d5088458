// The Tokenizer: llama2.c's tokenizer.bin (formats.md) or a GGUF file's SentencePiece
// vocabulary, BPE encoding and decoding.
//
// tokenizer.bin's vocabulary is a view into the file, which the caller keeps alive; only
// the per-token tables (piece pointers and lengths, scores, the sorted order used for
// lookups) are allocated. A GGUF vocabulary writes its pieces with U+2581 for spaces, so
// build_tokenizer_gguf (tinyllama/gguf/tokenizer_gguf.cpp) keeps converted copies of them
// in the same allocation; encode and decode are shared. encode() is the exact "merge the best-scoring adjacent pair,
// leftmost on ties, until none merges" of formats.md, run with a heap of merge
// candidates over a linked list of symbols, O(n log n) in the prompt length.
#pragma once

#include "kernel_lib/base/error.h"

namespace tllama {

constexpr i32 token_unk = 0;
constexpr i32 token_bos = 1;
constexpr i32 token_eos = 2;
constexpr i32 first_byte_token = 3;  // ids 3..258 are the byte tokens "<0x00>".."<0xFF>"
constexpr i32 max_token_length_limit = 65536;

struct TokenPiece {
    const u8* bytes;  // not NUL-terminated
    u32 length;
};

struct Tokenizer {
    i32 vocab_size;
    u32 max_token_length;
    const u8** vocab;       // [vocab_size] each piece's bytes, inside the file (GGUF: converted copies)
    u32* vocab_length;      // [vocab_size] bytes up to the first NUL (C-string semantics)
    float* vocab_scores;    // [vocab_size] merge priority (higher merges first)
    u32* sorted_vocab;      // [lookup_count] ids in byte order of their pieces, for lookup
    u32 lookup_count;       // ids text can produce: all of them, less GGUF's control tokens
    i32 space_id;           // the " " piece, the dummy prefix of a non-empty text
    i32 bos_id;             // begin of text: 1 in tokenizer.bin; a GGUF's tokenizer.ggml.bos_token_id
    i32 eos_id;             // end of text: 2; tokenizer.ggml.eos_token_id
    bool add_bos;           // prompts start with BOS (tokenizer.ggml.add_bos_token; always for .bin)
    u8 byte_pieces[256];    // decode target of "<0xHH>": the byte HH
    void* block;            // the allocation behind the tables
};

// Reads tokenizer.bin (`size` bytes at `data`) for a model with vocab_size tokens.
// Errors: TokenizerTruncated (ends inside an entry), TokenizerMismatch (ends cleanly
// before vocab_size entries, or continues after them: another model's tokenizer),
// TokenizerInvalid (bad max_token_length, length, score, byte tokens or no " " token),
// OutOfMemory.
kl::ErrorOr<void> build_tokenizer(Tokenizer& t, const void* data, u64 size, i32 vocab_size);
void free_tokenizer(Tokenizer& t);

// For the builders: allocates the tables of vocab_size tokens (vocab_size >= 259) plus
// `extra` bytes (returned) in one block; then, once every piece, length and score is in
// place and sorted_vocab holds the lookup_count ids text may produce, finish_tokenizer()
// checks ids 3..258 are the byte tokens, sorts the lookup order and finds the " " token
// (TokenizerInvalid otherwise; it frees the tables on failure).
kl::ErrorOr<u8*> allocate_tokenizer(Tokenizer& t, i32 vocab_size, u64 extra);
kl::ErrorOr<void> finish_tokenizer(Tokenizer& t);

// The id whose piece is exactly bytes[0..length), or -1 (lowest id if several); ids text
// may not produce (GGUF control tokens) are never returned.
i32 lookup_piece(const Tokenizer& t, const u8* bytes, u32 length);

// Tokens needed at most for a text of `length` bytes (BOS, dummy prefix, one per byte, EOS).
inline u64 encode_capacity(u64 length) { return length + 3; }

// Encodes text[0..length) into tokens (capacity >= encode_capacity(length)) and returns
// the count; `bos` / `eos` add t.bos_id / t.eos_id. Working memory is allocated per call
// (OutOfMemory on failure).
kl::ErrorOr<u32> encode(const Tokenizer& t, const char* text, u64 length, bool bos, bool eos, i32* tokens, u64 capacity);

// The text of `token` when it follows `prev_token`: the leading space of a piece right
// after BOS (t.bos_id) is dropped, and "<0xHH>" becomes the byte HH.
TokenPiece decode(const Tokenizer& t, i32 prev_token, i32 token);

// The safe-print rule: a one-byte piece that is neither printable nor whitespace (and an
// empty piece) is not printed.
bool is_printable_piece(TokenPiece piece);

}
