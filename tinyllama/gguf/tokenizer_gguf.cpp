// A GGUF vocabulary as a tllama::Tokenizer (see tokenizer_gguf.h).
#include "tinyllama/gguf/tokenizer_gguf.h"

#include <string.h>

namespace tllama::gguf {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

constexpr u8 space_mark[3] = { 0xe2, 0x96, 0x81 };  // U+2581 LOWER ONE EIGHTH BLOCK
constexpr i64 token_type_control = 3;

bool is_finite(float f)
{
    u32 bits;
    memcpy(&bits, &f, sizeof(bits));
    return (bits & 0x7f800000u) != 0x7f800000u;
}

// Copies a piece with every U+2581 turned into ' '; returns the new length.
u32 convert_piece(const StringView& piece, u8* out)
{
    const u8* p = reinterpret_cast<const u8*>(piece.data);
    u32 n = 0;
    for (u64 i = 0; i < piece.length;) {
        if (piece.length - i >= 3 && memcmp(p + i, space_mark, 3) == 0) {
            out[n++] = ' ';
            i += 3;
        } else {
            out[n++] = p[i++];
        }
    }
    return n;
}

ErrorOr<i32> token_id(const File& f, const char* key, i32 fallback, i32 vocab_size)
{
    const i32 id = find_key(f, key) ? TRY(get_i32(f, key)) : fallback;
    if (id < 0 || id >= vocab_size)
        return Error::make(ErrorCode::TokenizerInvalid, "tokenizer: %s is %d, expected a token id 0..%d", key, id, vocab_size - 1);
    return id;
}

ErrorOr<void> check_model(const File& f)
{
    const StringView model = TRY(get_string(f, "tokenizer.ggml.model"));
    if (!model.equals("llama"))
        return Error::make(ErrorCode::TokenizerUnsupported,
            "tokenizer: tokenizer.ggml.model '%.*s' is not supported; BareFlow reads SentencePiece ('llama') vocabularies",
            static_cast<int>(kl::min<u64>(model.length, 40)), model.data);
    return {};
}

// Pieces (converted), lengths and scores, and the ids text may produce.
ErrorOr<void> read_vocabulary(Tokenizer& t, const Value& tokens, const Value& scores, const Value* types, u8* pieces)
{
    const u8* cursor = tokens.data;
    u32 lookups = 0;
    t.max_token_length = 1;
    for (i32 id = 0; id < t.vocab_size; ++id) {
        const StringView piece = next_string(cursor);
        if (piece.length > static_cast<u64>(max_token_length_limit))
            return Error::make(ErrorCode::TokenizerInvalid, "tokenizer: token %d is %llu bytes long, expected at most %d", id,
                static_cast<unsigned long long>(piece.length), max_token_length_limit);
        const u32 length = convert_piece(piece, pieces);
        t.vocab[id] = pieces;
        u32 visible = 0;  // pieces behave as C strings (as in tokenizer.bin): a NUL ends them
        while (visible < length && pieces[visible] != 0)
            ++visible;
        t.vocab_length[id] = visible;
        t.max_token_length = kl::max(t.max_token_length, length);
        pieces += length;
        t.vocab_scores[id] = array_f32(scores, id);
        if (!is_finite(t.vocab_scores[id]))
            return Error::make(ErrorCode::TokenizerInvalid, "tokenizer: token %d has a non-finite score", id);
        if (!types || array_int(*types, id) != token_type_control)
            t.sorted_vocab[lookups++] = static_cast<u32>(id);
    }
    t.lookup_count = lookups;
    return {};
}

}

ErrorOr<void> build_tokenizer_gguf(Tokenizer& t, const File& f, i32 vocab_size)
{
    t = {};
    TRY(check_model(f));
    const KeyValue* tokens_kv = find_key(f, "tokenizer.ggml.tokens");
    if (tokens_kv && tokens_kv->value.type == ValueType::Array && tokens_kv->value.count != static_cast<u64>(vocab_size))
        return Error::make(ErrorCode::TokenizerMismatch, "tokenizer: the file has %llu tokens but the model's embedding has %d rows",
            static_cast<unsigned long long>(tokens_kv->value.count), vocab_size);
    const Value tokens = TRY(get_array(f, "tokenizer.ggml.tokens", ValueType::String, static_cast<u64>(vocab_size)));
    const Value scores = TRY(get_array(f, "tokenizer.ggml.scores", ValueType::F32, static_cast<u64>(vocab_size)));
    Value types {};
    const bool has_types = find_key(f, "tokenizer.ggml.token_type") != nullptr;
    if (has_types)
        types = TRY(get_array(f, "tokenizer.ggml.token_type", ValueType::I32, static_cast<u64>(vocab_size)));
    const i32 bos = TRY(token_id(f, "tokenizer.ggml.bos_token_id", token_bos, vocab_size));
    const i32 eos = TRY(token_id(f, "tokenizer.ggml.eos_token_id", token_eos, vocab_size));
    TRY(token_id(f, "tokenizer.ggml.unknown_token_id", token_unk, vocab_size));
    const bool add_bos = TRY(get_bool_or(f, "tokenizer.ggml.add_bos_token", true));

    // The converted pieces are never longer than the originals: the array's size bounds them.
    u8* pieces = TRY(allocate_tokenizer(t, vocab_size, tokens.bytes));
    t.bos_id = bos;
    t.eos_id = eos;
    t.add_bos = add_bos;
    if (auto r = read_vocabulary(t, tokens, scores, has_types ? &types : nullptr, pieces); r.is_error()) {
        free_tokenizer(t);
        return r.release_error();
    }
    return finish_tokenizer(t);
}

ErrorOr<StringView> chat_template(const File& f)
{
    if (!find_key(f, "tokenizer.chat_template"))
        return StringView { "", 0 };
    return get_string(f, "tokenizer.chat_template");
}

}
