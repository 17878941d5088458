// The second tokenizer builder: a GGUF file's SentencePiece vocabulary (tokenizer.ggml.*)
// as a tllama::Tokenizer, with the same encode and decode as tokenizer.bin's.
//
// tokenizer.ggml.model must be "llama" (SentencePiece BPE with scores and byte fallback);
// anything else ("gpt2" BPE with merges, ...) is TokenizerUnsupported. Read: .tokens
// (pieces, U+2581 for a space, converted to ' ' as tokenizer.bin has them), .scores,
// .token_type (optional; control tokens, type 3, are left out of the lookup so that plain
// text never produces them), .bos_token_id (1 when absent), .eos_token_id (2),
// .unknown_token_id (0), .add_bos_token (true). The vocabulary must have the Llama layout
// tokenizer.bin has: ids 3..258 the byte tokens <0x00>..<0xFF>, and a " " token.
#pragma once

#include "kernel_lib/base/error.h"
#include "tinyllama/gguf/gguf.h"
#include "tinyllama/tokenizer.h"

namespace tllama::gguf {

// vocab_size: the model's (token_embd rows); the file's token count must equal it
// (TokenizerMismatch otherwise). Errors: TokenizerUnsupported, TokenizerMismatch,
// TokenizerInvalid (bad piece, score, type, id or layout), GgufMetadata, OutOfMemory.
kl::ErrorOr<void> build_tokenizer_gguf(Tokenizer& t, const File& file, i32 vocab_size);

// tokenizer.chat_template, or an empty view when the file has none.
kl::ErrorOr<StringView> chat_template(const File& file);

}
