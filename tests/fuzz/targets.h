// BareFlow's fuzz targets: one entry function per parser that reads untrusted bytes.
//
// Each fuzz_<target>() takes arbitrary bytes, feeds them to the code under test and checks
// what it returned against properties written here (views inside the buffer, round trips,
// a naive reference encoder), so a wrong answer fails as loudly as a crash. The bodies live
// in tests/fuzz/targets/*.cpp: they are compiled into build/host/bareflow-tests, whose
// [fuzz] test replays every input kept in tests/fuzz/regressions/<target>/, and into the
// libFuzzer binaries of `make fuzz` (tests/fuzz/entry/<target>.cpp holds only the libFuzzer hook).
// tests/fuzz/README.md describes the layout of each target's input.
#pragma once

#include <stddef.h>

#include "kernel_lib/base/types.h"

int fuzz_model(const u8* data, size_t size);       // tllama::parse_checkpoint, any bytes
int fuzz_q8_header(const u8* data, size_t size);   // a 256-byte Q8 header + a generated body
int fuzz_tokenizer(const u8* data, size_t size);   // tllama::build_tokenizer, vocab_size from 2 bytes
int fuzz_encode(const u8* data, size_t size);      // tllama::encode with the real tokenizers
int fuzz_settings(const u8* data, size_t size);    // tllama::parse_boot_settings
int fuzz_keyvalue(const u8* data, size_t size);    // kl::parse_key_values + kl::escape_value
int fuzz_directory(const u8* data, size_t size);   // kl::boot::validate_directory
int fuzz_cm(const u8* data, size_t size);          // kl::cm_decode + kl::x86_filter_decode
int fuzz_lz(const u8* data, size_t size);          // kl::lz_decode (the unpacker's body) + kl::lz_encode
int fuzz_json(const u8* data, size_t size);        // kl::parse_json + JsonWriter (round trip)
int fuzz_http(const u8* data, size_t size);        // kl::http::parse_request + ChunkedDecoder
int fuzz_serve(const u8* data, size_t size);       // tllama::serve::Server with fake clients and backend
int fuzz_uefi_memory_map(const u8* data, size_t size);  // boot/uefi: UEFI memory map -> E820 regions
int fuzz_uefi_disk(const u8* data, size_t size);        // boot/uefi: MBR and device paths
int fuzz_gguf(const u8* data, size_t size);        // tllama::gguf::parse, map_llama, build_tokenizer_gguf
int fuzz_chat(const u8* data, size_t size);        // tllama::chat: template recognition, rendering, tokens

struct FuzzTarget {
    const char* name;  // tests/fuzz/entry/<name>.cpp, build/fuzz/<name>, regressions/<name>/
    int (*entry)(const u8* data, size_t size);
};
extern const FuzzTarget fuzz_targets[];
extern const size_t fuzz_target_count;

// What a failed property check does. The default prints the message and aborts (libFuzzer
// then saves the input as a crash); the regression test installs one that throws.
using FuzzFailureHandler = void (*)(const char* message);
void set_fuzz_failure_handler(FuzzFailureHandler handler);
void fuzz_fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#define FUZZ_CHECK(condition, ...)  \
    do {                            \
        if (!(condition))           \
            fuzz_fail(__VA_ARGS__); \
    } while (0)

// fuzz_encode needs tok512.bin and tokenizer.bin (./models, $BAREFLOW_MODEL_PATH, then
// ../shared/models). nullptr once both are loaded, else why they could not be.
const char* fuzz_encode_setup_error();
