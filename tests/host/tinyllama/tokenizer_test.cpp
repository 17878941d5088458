// The tokenizer: encode() against a naive quadratic BPE written here from formats.md
// (over a vocabulary parsed independently from the file), edge cases, long prompts,
// decoding rules and the validation of tokenizer files.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>

#include "tests/host/tinyllama/model_fixtures.h"

using namespace tllama;
using namespace tllama::test;

namespace {

struct NaiveVocab {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::map<std::string, int> ids;  // first id of each piece
};

NaiveVocab parse_vocab(const std::vector<u8>& file, int vocab_size)
{
    NaiveVocab v;
    size_t offset = 4;
    for (int id = 0; id < vocab_size; ++id) {
        float score;
        int length;
        memcpy(&score, &file[offset], 4);
        memcpy(&length, &file[offset + 4], 4);
        offset += 8;
        v.pieces.emplace_back(reinterpret_cast<const char*>(&file[offset]), length);
        v.scores.push_back(score);
        v.ids.emplace(v.pieces.back(), id);
        offset += length;
    }
    return v;
}

// formats.md, "Encoding a prompt", step by step and quadratic.
std::vector<i32> naive_encode(const NaiveVocab& v, const std::string& text)
{
    std::vector<i32> tokens { 1 };
    if (!text.empty())
        tokens.push_back(v.ids.at(" "));
    for (size_t i = 0; i < text.size();) {
        size_t start = i++;
        while (i < text.size() && (u8(text[i]) & 0xC0) == 0x80 && i - start < 4)
            ++i;
        auto it = v.ids.find(text.substr(start, i - start));
        if (it != v.ids.end()) {
            tokens.push_back(it->second);
        } else {
            for (size_t j = start; j < i; ++j)
                tokens.push_back(u8(text[j]) + 3);
        }
    }
    while (true) {
        float best = -1e10f;
        int best_id = -1, best_at = -1;
        for (size_t i = 0; i + 1 < tokens.size(); ++i) {
            auto it = v.ids.find(v.pieces[tokens[i]] + v.pieces[tokens[i + 1]]);
            if (it != v.ids.end() && v.scores[it->second] > best) {
                best = v.scores[it->second];
                best_id = it->second;
                best_at = int(i);
            }
        }
        if (best_at < 0)
            return tokens;
        tokens[best_at] = best_id;
        tokens.erase(tokens.begin() + best_at + 1);
    }
}

struct TokenizerFixture {
    std::vector<u8> file;
    Tokenizer t {};
    NaiveVocab naive;

    TokenizerFixture(const char* name, int vocab_size)
    {
        file = read_file(model_path(name));
        auto built = build_tokenizer(t, file.data(), file.size(), vocab_size);
        INFO(error_text(built));
        REQUIRE_FALSE(built.is_error());
        naive = parse_vocab(file, vocab_size);
    }
    ~TokenizerFixture() { free_tokenizer(t); }
};

std::string decode_all(const Tokenizer& t, const std::vector<i32>& tokens)
{
    std::string out;
    for (size_t i = 1; i < tokens.size(); ++i) {
        TokenPiece p = decode(t, tokens[i - 1], tokens[i]);
        out.append(reinterpret_cast<const char*>(p.bytes), p.length);
    }
    return out;
}

// Runs of one letter make several pairs with the same score: the leftmost must merge first.
std::string tie_text(std::mt19937& rng, size_t fragments)
{
    static const char* alphabet[] = { "a", "a", "e", " ", "ee", "l", "ll", "s", "ss", "<0x41>", "<", "0x", ">" };
    std::uniform_int_distribution<size_t> pick(0, sizeof(alphabet) / sizeof(alphabet[0]) - 1);
    std::string s;
    for (size_t i = 0; i < fragments; ++i)
        s += alphabet[pick(rng)];
    return s;
}

std::string random_text(std::mt19937& rng, size_t fragments)
{
    static const char* alphabet[] = { "a", "e", "t", "o", "n", "s", "h", " ", " ", "th", "he ", "in", "Once", " upon", "\n", "\t",
        ".", ",", "!", "'", "\"", "A", "Z", "0", "9", "é", "ï", "—", "日", "本", "🦙", "\x80", "\xff", "\xe6", "  ", "\x01" };
    std::uniform_int_distribution<size_t> pick(0, sizeof(alphabet) / sizeof(alphabet[0]) - 1);
    std::string s;
    for (size_t i = 0; i < fragments; ++i)
        s += alphabet[pick(rng)];
    return s;
}

}

TEST_CASE("encode agrees with the naive quadratic BPE on random texts", "[tinyllama][tokenizer]")
{
    for (auto [name, vocab] : { std::pair { "tokenizer.bin", 32000 }, std::pair { "tok512.bin", 512 } }) {
        TokenizerFixture f(name, vocab);
        std::mt19937 rng(11);
        for (int i = 0; i < 60; ++i) {
            for (const std::string& text : { random_text(rng, 1 + i), tie_text(rng, 1 + i) }) {
                INFO(name << " text #" << i << ": \"" << text << "\"");
                CHECK(encode_text(f.t, text) == naive_encode(f.naive, text));
            }
        }
    }
}

TEST_CASE("encode edge cases: empty, spaces, tabs, UTF-8 widths, bytes without a token", "[tinyllama][tokenizer]")
{
    TokenizerFixture f("tokenizer.bin", 32000);
    const i32 space = f.naive.ids.at(" ");
    CHECK(encode_text(f.t, "") == std::vector<i32> { 1 });  // no dummy prefix for empty text

    const char* texts[] = { " ", "   x", "\t", "a\tb", "\n\n", "é", "ï€", "日本", "🦙🦙", "\x80", "\xff\xfe", "a\x01z", "\xf0\x9f\xa6",
        "\xe6\x97\xa5\x80\x80", "<0x41>", "<s>" };
    for (const char* text : texts) {
        INFO("text \"" << text << "\"");
        const auto ids = encode_text(f.t, text);
        CHECK(ids == naive_encode(f.naive, text));
        CHECK(decode_all(f.t, ids) == std::string(text));  // round trip, dummy space dropped after BOS
    }
    // A character without a token of its own becomes its bytes (id = byte + 3).
    CHECK(encode_text(f.t, "\x01") == std::vector<i32> { 1, space, 3 + 0x01 });
    CHECK(encode_text(f.t, "\xff\xfe") == std::vector<i32> { 1, space, 3 + 0xff, 3 + 0xfe });

    // Without BOS the dummy space is kept by decode; with EOS a 2 ends the list.
    std::vector<i32> tokens(encode_capacity(2));
    auto n = encode(f.t, "hi", 2, false, true, tokens.data(), tokens.size());
    REQUIRE_FALSE(n.is_error());
    tokens.resize(n.value());
    CHECK(tokens.front() != token_bos);
    CHECK(tokens.back() == token_eos);

    // Too small an output buffer is refused, not overflowed.
    auto small = encode(f.t, "hello", 5, true, false, tokens.data(), 3);
    CHECK(small.is_error());
}

TEST_CASE("a 20k-character prompt encodes fast and round-trips", "[tinyllama][tokenizer]")
{
    TokenizerFixture f("tokenizer.bin", 32000);
    std::mt19937 rng(12);
    std::string text;
    while (text.size() < 20000)
        text += random_text(rng, 50) + " Once upon a time, there was a little girl named Lily. ";
    const auto start = std::chrono::steady_clock::now();
    const auto ids = encode_text(f.t, text);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(decode_all(f.t, ids) == text);
    CHECK(ids.size() < text.size() / 2);  // merged, not left as characters
    // The naive scan takes tens of seconds here; O(n log n) takes milliseconds. The bound
    // is loose enough for a sanitizer build on a busy machine.
    CHECK(seconds < 3.0);
}

TEST_CASE("decode drops the space after BOS, maps <0xHH> to bytes; unprintable bytes are not printed", "[tinyllama][tokenizer]")
{
    TokenizerFixture f("tokenizer.bin", 32000);
    const i32 once = f.naive.ids.at(" Once");
    TokenPiece after_bos = decode(f.t, token_bos, once);
    CHECK(std::string(reinterpret_cast<const char*>(after_bos.bytes), after_bos.length) == "Once");
    TokenPiece later = decode(f.t, 400, once);
    CHECK(std::string(reinterpret_cast<const char*>(later.bytes), later.length) == " Once");

    TokenPiece newline = decode(f.t, 400, 3 + '\n');
    REQUIRE(newline.length == 1);
    CHECK(newline.bytes[0] == '\n');
    CHECK(is_printable_piece(newline));
    CHECK(is_printable_piece(decode(f.t, 400, 3 + 'A')));
    CHECK_FALSE(is_printable_piece(decode(f.t, 400, 3 + 0x01)));
    CHECK_FALSE(is_printable_piece(decode(f.t, 400, 3 + 0x00)));
    CHECK_FALSE(is_printable_piece(decode(f.t, 400, 3 + 0xe6)));  // a lone UTF-8 lead byte
    CHECK(is_printable_piece(decode(f.t, 400, f.naive.ids.at("日"))));
}

TEST_CASE("tokenizer files that do not fit are refused with the right code", "[tinyllama][tokenizer]")
{
    const std::vector<u8> good = read_file(model_path("tok512.bin"));
    auto code_of = [](std::vector<u8> bytes, i32 vocab) {
        Tokenizer t {};
        auto r = build_tokenizer(t, bytes.data(), bytes.size(), vocab);
        INFO(error_text(r));
        free_tokenizer(t);
        return r.is_error() ? r.error().code() : kl::ErrorCode::Ok;
    };
    CHECK(code_of(good, 512) == kl::ErrorCode::Ok);
    CHECK(code_of({ 1, 0 }, 512) == kl::ErrorCode::TokenizerTruncated);
    CHECK(code_of(std::vector<u8>(good.begin(), good.end() - 3), 512) == kl::ErrorCode::TokenizerTruncated);
    CHECK(code_of(std::vector<u8>(good.begin(), good.begin() + 4 + 8 + 5 + 2), 512) == kl::ErrorCode::TokenizerTruncated);

    // Another model's tokenizer: too few entries, or more than the model's vocabulary.
    CHECK(code_of(good, 32000) == kl::ErrorCode::TokenizerMismatch);
    CHECK(code_of(good, 300) == kl::ErrorCode::TokenizerMismatch);
    {
        Tokenizer t {};
        auto r = build_tokenizer(t, good.data(), good.size(), 32000);
        REQUIRE(r.is_error());
        CHECK(std::string(r.error().message()).find("512 tokens") != std::string::npos);
        CHECK(std::string(r.error().message()).find("32000") != std::string::npos);
    }

    auto patched = [&](size_t offset, const void* value, size_t size) {
        std::vector<u8> copy = good;
        memcpy(&copy[offset], value, size);
        return copy;
    };
    const i32 zero = 0, huge = 1 << 30, negative = -5;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK(code_of(patched(0, &zero, 4), 512) == kl::ErrorCode::TokenizerInvalid);      // max_token_length
    CHECK(code_of(patched(0, &huge, 4), 512) == kl::ErrorCode::TokenizerInvalid);
    CHECK(code_of(patched(8, &negative, 4), 512) == kl::ErrorCode::TokenizerInvalid);  // token 0's length
    CHECK(code_of(patched(4, &nan, 4), 512) == kl::ErrorCode::TokenizerInvalid);       // token 0's score
    // Token 3 must be the byte token <0x00>; make it "<0x07>". Entry 3 follows "<unk>",
    // "\n<s>\n" and "\n</s>\n" (8-byte header + 5, 5 and 6 bytes).
    const size_t entry3 = 4 + (8 + 5) + (8 + 5) + (8 + 6);
    CHECK(code_of(patched(entry3 + 8 + 4, "7", 1), 512) == kl::ErrorCode::TokenizerInvalid);
}
