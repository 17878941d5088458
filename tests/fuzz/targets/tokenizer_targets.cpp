// Fuzz targets for the tokenizer: loading (tllama::build_tokenizer) and BPE encoding
// (tllama::encode).
//
// fuzz_tokenizer: bytes [0, 2) pick vocab_size = 250 + (u16 % 1024), the rest is the
// tokenizer file. An accepted file must give tables that point inside it, a sorted index
// that finds every piece (at its lowest id), the " " token and the 256 byte tokens, and
// encode its own first bytes and a fixed sentence exactly as a naive BPE does.
// fuzz_encode: byte 0 picks the tokenizer (bit 0: tokenizer.bin, else tok512.bin) and the
// BOS/EOS flags (bits 1, 2); the rest is the text. The tokens must decode back to the text
// and, for texts up to 64 bytes, equal the naive quadratic BPE of formats.md.
#include <string.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"
#include "tinyllama/tokenizer.h"

using fuzz_support::inside;
using tllama::Tokenizer;

namespace {

// formats.md's tokenizer.bin read naively: pieces as C strings (up to a NUL), first id of
// each piece for lookups.
struct NaiveVocab {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::unordered_map<std::string, i32> first_id;
};

NaiveVocab parse_naive(const u8* file, size_t size, i32 vocab_size)
{
    NaiveVocab v;
    size_t offset = 4;
    for (i32 id = 0; id < vocab_size; ++id) {
        FUZZ_CHECK(offset + 8 <= size, "naive parse: the accepted file ends at token %d", id);
        float score;
        i32 length;
        memcpy(&score, file + offset, 4);
        memcpy(&length, file + offset + 4, 4);
        offset += 8;
        FUZZ_CHECK(length >= 0 && offset + static_cast<size_t>(length) <= size, "naive parse: token %d overruns", id);
        std::string piece(reinterpret_cast<const char*>(file + offset), static_cast<size_t>(length));
        piece.resize(strnlen(piece.c_str(), piece.size()));
        v.pieces.push_back(piece);
        v.scores.push_back(score);
        v.first_id.emplace(piece, id);
        offset += static_cast<size_t>(length);
    }
    return v;
}

// formats.md, "Encoding a prompt", literally: rescan every pair after every merge.
std::vector<i32> naive_encode(const NaiveVocab& v, const u8* text, size_t length, bool bos, bool eos)
{
    std::vector<i32> tokens;
    if (bos)
        tokens.push_back(tllama::token_bos);
    if (length > 0)
        tokens.push_back(v.first_id.at(" "));
    for (size_t i = 0; i < length;) {
        const size_t start = i++;
        while (i < length && (text[i] & 0xC0) == 0x80 && i - start < 4)
            ++i;
        auto it = v.first_id.find(std::string(reinterpret_cast<const char*>(text + start), i - start));
        if (it != v.first_id.end()) {
            tokens.push_back(it->second);
        } else {
            for (size_t j = start; j < i; ++j)
                tokens.push_back(tllama::first_byte_token + text[j]);
        }
    }
    for (;;) {
        float best_score = -1e10f;
        i32 best_id = -1;
        size_t best_at = 0;
        for (size_t i = 0; i + 1 < tokens.size(); ++i) {
            auto it = v.first_id.find(v.pieces[tokens[i]] + v.pieces[tokens[i + 1]]);
            if (it != v.first_id.end() && v.scores[it->second] > best_score) {
                best_score = v.scores[it->second];
                best_id = it->second;
                best_at = i;
            }
        }
        if (best_id < 0)
            break;
        tokens[best_at] = best_id;
        tokens.erase(tokens.begin() + static_cast<long>(best_at) + 1);
    }
    if (eos)
        tokens.push_back(tllama::token_eos);
    return tokens;
}

std::string describe(const std::vector<i32>& tokens)
{
    std::string s;
    for (size_t i = 0; i < tokens.size() && i < 24; ++i)
        s += (i ? " " : "") + std::to_string(tokens[i]);
    return tokens.size() > 24 ? s + " ..." : s;
}

// Encodes `text` and checks that, for short texts, the tokens are the naive encoder's.
// With `decodes_back` (the real tokenizers) they must also start with BOS and decode back
// to the text. Neither holds for every vocabulary formats.md admits: BOS takes part in the
// merges (an empty BOS piece merges with the dummy " "), and a merge whose result spells
// "<0xHH>" yields the byte token, which decodes to the byte.
void check_encode(const Tokenizer& t, const NaiveVocab& naive, const u8* text, size_t length, bool bos, bool eos,
    bool decodes_back)
{
    const u64 capacity = tllama::encode_capacity(length);
    std::vector<i32> tokens(capacity + 1, -7);  // one guard slot past the capacity
    auto result = tllama::encode(t, reinterpret_cast<const char*>(text), length, bos, eos, tokens.data(), capacity);
    FUZZ_CHECK(!result.is_error(), "encode failed: %s", result.error().message());
    const u32 n = result.value();
    FUZZ_CHECK(n <= capacity && tokens[capacity] == -7, "encode wrote %u tokens, capacity %llu", n,
        static_cast<unsigned long long>(capacity));
    tokens.resize(n);
    if (length <= 64) {
        const std::vector<i32> reference = naive_encode(naive, text, length, bos, eos);
        FUZZ_CHECK(reference == tokens, "encode gave [%s], the naive BPE [%s]", describe(tokens).c_str(),
            describe(reference).c_str());
    }
    for (i32 id : tokens)
        FUZZ_CHECK(id >= 0 && id < t.vocab_size, "token %d out of range", id);
    if (!decodes_back)
        return;
    size_t first = 0, last = n;
    if (bos) {
        FUZZ_CHECK(n > 0 && tokens[0] == tllama::token_bos, "no BOS first");
        first = 1;
    }
    if (eos) {
        FUZZ_CHECK(last > first && tokens[last - 1] == tllama::token_eos, "no EOS last");
        --last;
    }
    // Byte tokens stand for their byte, every other token for its piece.
    std::string decoded;
    for (size_t i = first; i < last; ++i) {
        const i32 id = tokens[i];
        if (id >= tllama::first_byte_token && id < tllama::first_byte_token + 256)
            decoded += static_cast<char>(id - tllama::first_byte_token);
        else
            decoded.append(reinterpret_cast<const char*>(t.vocab[id]), t.vocab_length[id]);
    }
    const std::string expected = length ? " " + std::string(reinterpret_cast<const char*>(text), length) : "";
    FUZZ_CHECK(decoded == expected, "tokens [%s] decode to %zu bytes, not the %zu-byte text", describe(tokens).c_str(),
        decoded.size(), expected.size());
}

int compare_pieces(const Tokenizer& t, u32 a, u32 b)
{
    const int c = memcmp(t.vocab[a], t.vocab[b], kl::min(t.vocab_length[a], t.vocab_length[b]));
    return c ? c : (t.vocab_length[a] < t.vocab_length[b] ? -1 : t.vocab_length[a] > t.vocab_length[b]);
}

void check_tables(const Tokenizer& t, const u8* file, size_t size, i32 vocab_size)
{
    FUZZ_CHECK(t.vocab_size == vocab_size && t.block != nullptr, "vocab_size %d, expected %d", t.vocab_size, vocab_size);
    std::vector<bool> seen(static_cast<size_t>(vocab_size));
    std::unordered_map<std::string, i32> first_id;
    for (i32 id = 0; id < vocab_size; ++id) {
        FUZZ_CHECK(inside(t.vocab[id], t.vocab_length[id], file, size), "token %d's piece lies outside the file", id);
        FUZZ_CHECK(t.vocab_length[id] <= t.max_token_length, "token %d longer than max_token_length", id);
        FUZZ_CHECK(memchr(t.vocab[id], 0, t.vocab_length[id]) == nullptr, "token %d's piece holds a NUL", id);
        const u32 s = t.sorted_vocab[id];
        FUZZ_CHECK(s < static_cast<u32>(vocab_size) && !seen[s], "sorted_vocab is not a permutation (%u)", s);
        seen[s] = true;
        if (id > 0)
            FUZZ_CHECK(compare_pieces(t, t.sorted_vocab[id - 1], s) <= 0, "sorted_vocab out of order at %d", id);
        first_id.emplace(std::string(reinterpret_cast<const char*>(t.vocab[id]), t.vocab_length[id]), id);
    }
    for (i32 id = 0; id < vocab_size; ++id) {
        const i32 found = tllama::lookup_piece(t, t.vocab[id], t.vocab_length[id]);
        const i32 lowest = first_id.at(std::string(reinterpret_cast<const char*>(t.vocab[id]), t.vocab_length[id]));
        FUZZ_CHECK(found == lowest, "lookup of token %d's piece gave %d, expected %d", id, found, lowest);
    }
    FUZZ_CHECK(t.space_id >= 0 && t.vocab_length[t.space_id] == 1 && t.vocab[t.space_id][0] == ' ', "bad space_id %d",
        t.space_id);
    for (int b = 0; b < 256; ++b) {
        const tllama::TokenPiece piece = tllama::decode(t, tllama::token_eos, tllama::first_byte_token + b);
        FUZZ_CHECK(piece.length == 1 && piece.bytes[0] == b, "byte token %d does not decode to its byte", b);
    }
}

struct SharedTokenizer {
    std::vector<u8> file;
    Tokenizer tokenizer {};
    NaiveVocab naive;
};

SharedTokenizer real_tokenizers[2];  // tok512.bin, tokenizer.bin; loaded once, never freed
std::string setup_error = "not loaded yet";

bool load_real_tokenizers()
{
    static bool tried = false;
    if (tried)
        return setup_error.empty();
    tried = true;
    const struct {
        const char* name;
        i32 vocab_size;
    } files[] = { { "tok512.bin", 512 }, { "tokenizer.bin", 32000 } };
    for (int i = 0; i < 2; ++i) {
        const std::string path = fuzz_support::find_model_file(files[i].name);
        SharedTokenizer& s = real_tokenizers[i];
        if (path.empty() || !fuzz_support::read_whole_file(path, s.file)) {
            setup_error = std::string(files[i].name) +
                " not found or unreadable (looked in ./models, $BAREFLOW_MODEL_PATH, ../shared/models)";
            return false;
        }
        auto built = tllama::build_tokenizer(s.tokenizer, s.file.data(), s.file.size(), files[i].vocab_size);
        if (built.is_error()) {
            setup_error = path + ": " + built.error().message();
            return false;
        }
        s.naive = parse_naive(s.file.data(), s.file.size(), files[i].vocab_size);
    }
    setup_error.clear();
    return true;
}

}

const char* fuzz_encode_setup_error()
{
    return load_real_tokenizers() ? nullptr : setup_error.c_str();
}

int fuzz_tokenizer(const u8* data, size_t size)
{
    const i32 vocab_size = 250 + fuzz_support::read_or_zero<u16>(data, size, 0) % 1024;
    const u8* file = size >= 2 ? data + 2 : data + size;
    const size_t file_size = size >= 2 ? size - 2 : 0;
    Tokenizer t;
    auto built = tllama::build_tokenizer(t, file, file_size, vocab_size);
    if (built.is_error()) {
        using kl::ErrorCode;
        const ErrorCode code = built.error().code();
        FUZZ_CHECK(code == ErrorCode::TokenizerInvalid || code == ErrorCode::TokenizerTruncated ||
                code == ErrorCode::TokenizerMismatch || (code == ErrorCode::InvalidArgument && vocab_size < 259),
            "unexpected error %s: %s", built.error().code_name(), built.error().message());
        FUZZ_CHECK(t.block == nullptr, "a refused tokenizer kept its tables");
        return 0;
    }
    check_tables(t, file, file_size, vocab_size);
    const NaiveVocab naive = parse_naive(file, file_size, vocab_size);
    // Some text to encode with this vocabulary: the file's own first bytes (length word
    // and all), and a fixed sentence with multi-byte characters.
    check_encode(t, naive, file, kl::min<size_t>(file_size, 48), true, false, false);
    static const char sentence[] = "Once upon a time, \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x88\n";
    check_encode(t, naive, reinterpret_cast<const u8*>(sentence), sizeof(sentence) - 1, true, true, false);
    tllama::free_tokenizer(t);
    return 0;
}

int fuzz_encode(const u8* data, size_t size)
{
    if (!load_real_tokenizers())
        fuzz_fail("fuzz_encode: %s", setup_error.c_str());
    if (size == 0)
        return 0;
    const SharedTokenizer& s = real_tokenizers[data[0] & 1];
    check_encode(s.tokenizer, s.naive, data + 1, size - 1, data[0] & 2, data[0] & 4, true);
    return 0;
}
