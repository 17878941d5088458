// Fuzz targets for what the boot path reads: the settings payload (key=value text and the
// boot settings on top of it) and the payload directory.
//
// fuzz_settings: the input is the settings payload. Accepted values must be in range, the
// prompt must point into the scratch buffer, and every number must read the same with the
// kernel's own strtof/strtoull (kernel_lib/libc) as with the host libc that mkimage uses
// when it validates the settings: what mkimage accepted, the kernel must read alike.
// fuzz_keyvalue: byte 0 picks max_pairs (1..64), the rest is the text. Every pair must be
// well formed, and writing the pairs back with escape_value() must parse to the same pairs.
// fuzz_directory: bytes [0, 512) are the directory sector, [512, 520) the image length in
// sectors, [520] flags, [521] the directory LBA - 1 (mod 64). Flags: bit 0 stores the right
// CRC first; bit 1 instead builds a valid directory the way mkimage lays one out (entry
// count and sizes from bytes [0, 49)), which must be accepted, and with bit 2 then writes
// byte [522] at sector offset u16 [523, 525) mod 512 (CRC restored) and validates again.
// An accepted directory must satisfy the rules re-checked here.
#include <string.h>

#include <string>
#include <vector>

#include "kernel_lib/boot/directory.h"
#include "kernel_lib/libc/kstdlib.h"
#include "kernel_lib/codec/crc32c.h"
#include "kernel_lib/text/keyvalue.h"
#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"
#include "tinyllama/kernel_app/boot_settings.h"

using fuzz_support::byte_or_zero;
using fuzz_support::inside;
using fuzz_support::read_or_zero;

namespace {

bool is_settings_error(kl::ErrorCode code)
{
    return code == kl::ErrorCode::SettingsSyntax || code == kl::ErrorCode::SettingsUnknownKey ||
        code == kl::ErrorCode::SettingsBadValue;
}

std::vector<kl::KeyValuePair> parse_pairs(const char* text, size_t length, std::vector<char>& scratch, int max_pairs,
    kl::Error* error)
{
    scratch.assign(2 * length + 2, '\x5a');
    std::vector<kl::KeyValuePair> pairs(static_cast<size_t>(max_pairs));
    auto result = kl::parse_key_values(text, length, scratch.data(), pairs.data(), max_pairs);
    if (result.is_error()) {
        *error = result.error();
        return {};
    }
    FUZZ_CHECK(result.value() >= 0 && result.value() <= max_pairs, "%d pairs, max %d", result.value(), max_pairs);
    pairs.resize(static_cast<size_t>(result.value()));
    return pairs;
}

void check_pair(const kl::KeyValuePair& p, const std::vector<char>& scratch)
{
    const size_t key_length = strlen(p.key);
    FUZZ_CHECK(inside(p.key, key_length + 1, scratch.data(), scratch.size()), "key outside scratch");
    FUZZ_CHECK(inside(p.value, p.value_length + 1, scratch.data(), scratch.size()), "value outside scratch");
    FUZZ_CHECK(strlen(p.value) == p.value_length, "value_length %zu but strlen %zu", p.value_length, strlen(p.value));
    FUZZ_CHECK(key_length > 0 && p.key[0] != '#', "empty or comment key on line %u", p.line);
    FUZZ_CHECK(!strchr(p.key, '=') && !strchr(p.key, '\n'), "key '%s' holds '=' or a newline", p.key);
    FUZZ_CHECK(p.key[0] != ' ' && p.key[0] != '\t' && p.key[key_length - 1] != ' ' && p.key[key_length - 1] != '\t',
        "key '%s' is not trimmed", p.key);
}

// The directory rules, restated from boot/README.md and bootinfo.h.
void check_accepted_directory(const u8* sector, u64 image_sectors, u64 directory_lba, const kl::boot::DirectorySummary& s)
{
    using namespace kl::boot;
    FUZZ_CHECK(memcmp(sector, "BFPAYDIR", 8) == 0 && read_or_zero<u32>(sector, 512, 8) == 1, "bad magic/version accepted");
    const u32 count = read_or_zero<u32>(sector, 512, 12);
    FUZZ_CHECK(count >= 1 && count <= 12 && s.entry_count == count, "entry count %u accepted", count);
    u8 copy[512];
    memcpy(copy, sector, 512);
    memset(copy + 16, 0, 4);
    FUZZ_CHECK(kl::crc32c(copy, 512) == read_or_zero<u32>(sector, 512, 16), "wrong CRC accepted");
    const u64 header_sectors = read_or_zero<u32>(sector, 512, 20);
    FUZZ_CHECK(header_sectors <= image_sectors && s.end_lba <= header_sectors, "payloads beyond the image accepted");
    std::vector<std::pair<u64, u64>> ranges;
    for (u32 i = 0; i < count; ++i) {
        const u8* e = sector + 32 + 40 * i;
        const std::string name(reinterpret_cast<const char*>(e), strnlen(reinterpret_cast<const char*>(e), 16));
        FUZZ_CHECK(!name.empty() && name.size() < 16, "entry %u: bad name accepted", i);
        FUZZ_CHECK(i > 0 || name == "kernel", "entry 0 is '%s'", name.c_str());
        const u64 lba = read_or_zero<u64>(e, 40, 16), size = read_or_zero<u64>(e, 40, 24);
        FUZZ_CHECK(size < (1ull << 32), "entry %u: %llu bytes accepted", i, static_cast<unsigned long long>(size));
        const u64 end = lba + (size + 511) / 512;  // size < 4 GiB and lba < end <= 2^32: no wrap
        FUZZ_CHECK(lba > directory_lba && end <= header_sectors, "entry %u outside the image", i);
        for (auto& [other_lba, other_end] : ranges)
            FUZZ_CHECK(!(lba < other_end && other_lba < end), "entry %u overlaps another", i);
        ranges.emplace_back(lba, end);
    }
    FUZZ_CHECK(s.load_end < (1ull << 32), "payloads placed beyond 4 GiB accepted");
}

// The kernel reads the settings with kernel_lib/libc's conversions: the last value of each
// numeric key must convert, completely, to what the host parse stored.
void check_kernel_reads_alike(const u8* data, size_t size, const tllama::BootSettings& s)
{
    kl::Error error = kl::Error::make(kl::ErrorCode::Ok, "none");
    std::vector<char> scratch;
    const auto pairs = parse_pairs(reinterpret_cast<const char*>(data), size, scratch, 64, &error);
    FUZZ_CHECK(error.code() == kl::ErrorCode::Ok, "accepted settings whose key=value text does not parse");
    const kl::KeyValuePair* last_temp = nullptr;
    const kl::KeyValuePair* last_topp = nullptr;
    const kl::KeyValuePair* last_steps = nullptr;
    const kl::KeyValuePair* last_seed = nullptr;
    for (const auto& p : pairs) {
        const std::string key = p.key;
        if (key == "temp")
            last_temp = &p;
        else if (key == "topp")
            last_topp = &p;
        else if (key == "steps")
            last_steps = &p;
        else if (key == "seed")
            last_seed = &p;
    }
    auto same_float = [](const kl::KeyValuePair* p, float stored) {
        if (!p)
            return;
        char* end = nullptr;
        const float kernel = kl::strtof(p->value, &end);
        FUZZ_CHECK(*end == 0 && memcmp(&kernel, &stored, sizeof(float)) == 0,
            "line %u: %s=%s reads as %a on the host but %a (stopping at offset %td) in the kernel", p->line, p->key,
            p->value, static_cast<double>(stored), static_cast<double>(kernel), end - p->value);
    };
    auto same_unsigned = [](const kl::KeyValuePair* p, u64 stored) {
        if (!p)
            return;
        char* end = nullptr;
        const unsigned long long kernel = kl::strtoull(p->value, &end, 10);
        FUZZ_CHECK(*end == 0 && kernel == stored, "line %u: %s=%s reads as %llu on the host but %llu in the kernel", p->line,
            p->key, p->value, static_cast<unsigned long long>(stored), kernel);
    };
    same_float(last_temp, s.temperature);
    same_float(last_topp, s.topp);
    same_unsigned(last_steps, s.steps);
    same_unsigned(last_seed, s.seed);
}

void store_crc(u8* sector)
{
    memset(sector + 16, 0, 4);
    const u32 crc = kl::crc32c(sector, 512);
    memcpy(sector + 16, &crc, 4);
}

// A directory as mkimage writes it: payloads back to back after the directory.
u64 build_mkimage_style(u8* sector, const u8* data, size_t size, u64 directory_lba)
{
    memset(sector, 0, 512);
    memcpy(sector, "BFPAYDIR", 8);
    const u32 version = 1, count = 1 + byte_or_zero(data, size, 0) % 12;
    memcpy(sector + 8, &version, 4);
    memcpy(sector + 12, &count, 4);
    u64 lba = directory_lba + 1;
    for (u32 i = 0; i < count; ++i) {
        u8* e = sector + 32 + 40 * i;
        // Up to 64 MiB each (the kernel up to its 3 MiB slot): twelve fit below 4 GiB.
        u64 bytes = read_or_zero<u32>(data, size, 1 + 4 * i) % (64ull << 20);
        if (i == 0)
            bytes %= kl::boot::kernel_max_bytes + 1;
        const std::string name = i == 0 ? "kernel" : "payload" + std::to_string(i);
        memcpy(e, name.data(), name.size());
        memcpy(e + 16, &lba, 8);
        memcpy(e + 24, &bytes, 8);
        lba += (bytes + 511) / 512;
    }
    const u32 image_sectors = static_cast<u32>(lba);
    memcpy(sector + 20, &image_sectors, 4);
    store_crc(sector);
    return lba;
}

}

int fuzz_settings(const u8* data, size_t size)
{
    std::vector<char> scratch(2 * size + 2, '\x5a');
    auto result = tllama::parse_boot_settings(reinterpret_cast<const char*>(data), size, scratch.data());
    if (result.is_error()) {
        FUZZ_CHECK(is_settings_error(result.error().code()), "unexpected error %s: %s", result.error().code_name(),
            result.error().message());
        return 0;
    }
    const tllama::BootSettings& s = result.value();
    FUZZ_CHECK(s.prompt[0] == 0 || inside(s.prompt, strlen(s.prompt) + 1, scratch.data(), scratch.size()),
        "the prompt points outside the scratch buffer");
    FUZZ_CHECK(s.model_name[0] == 0 || inside(s.model_name, strlen(s.model_name) + 1, scratch.data(), scratch.size()),
        "model_name points outside the scratch buffer");
    FUZZ_CHECK(s.steps <= (1u << 20) && s.cores <= 256 && s.jit_hot_calls <= 1000000 && s.jit_hot_cycles <= (1ull << 40),
        "an integer setting out of range was accepted");
    FUZZ_CHECK(s.temperature >= 0.0f && s.temperature <= 100.0f && s.topp >= 0.0f && s.topp <= 1.0f,
        "temp %g / topp %g out of range accepted", static_cast<double>(s.temperature), static_cast<double>(s.topp));
    FUZZ_CHECK(s.seed_given == (s.seed != 0), "seed_given disagrees with seed");
    FUZZ_CHECK(strcmp(tllama::run_mode_name(s.mode), "?") != 0, "unnamed run mode");
    check_kernel_reads_alike(data, size, s);
    return 0;
}

int fuzz_keyvalue(const u8* data, size_t size)
{
    if (size == 0)
        return 0;
    const int max_pairs = 1 + data[0] % 64;
    const char* text = reinterpret_cast<const char*>(data + 1);
    std::vector<char> scratch;
    kl::Error error = kl::Error::make(kl::ErrorCode::Ok, "none");
    const auto pairs = parse_pairs(text, size - 1, scratch, max_pairs, &error);
    if (error.code() != kl::ErrorCode::Ok) {
        FUZZ_CHECK(error.code() == kl::ErrorCode::SettingsSyntax, "unexpected error %s: %s", error.code_name(), error.message());
        return 0;
    }
    // Written back one pair per line with escape_value(), the text parses to the same pairs.
    std::string rewritten;
    for (const auto& p : pairs) {
        check_pair(p, scratch);
        std::vector<char> escaped(2 * p.value_length + 1);
        const usize needed = kl::escape_value(p.value, escaped.data(), escaped.size());
        FUZZ_CHECK(needed < escaped.size() && strlen(escaped.data()) == needed, "escape_value needed %zu bytes of %zu",
            needed, escaped.size());
        rewritten += std::string(p.key) + "=" + escaped.data() + "\n";
    }
    std::vector<char> scratch2;
    const auto again = parse_pairs(rewritten.data(), rewritten.size(), scratch2, max_pairs, &error);
    FUZZ_CHECK(error.code() == kl::ErrorCode::Ok, "the rewritten pairs do not parse: %s", error.message());
    FUZZ_CHECK(again.size() == pairs.size(), "%zu pairs became %zu", pairs.size(), again.size());
    for (size_t i = 0; i < pairs.size(); ++i) {
        FUZZ_CHECK(strcmp(again[i].key, pairs[i].key) == 0, "key '%s' became '%s'", pairs[i].key, again[i].key);
        FUZZ_CHECK(again[i].value_length == pairs[i].value_length &&
                memcmp(again[i].value, pairs[i].value, pairs[i].value_length) == 0,
            "the value of '%s' changed in the round trip", pairs[i].key);
        FUZZ_CHECK(again[i].line == i + 1, "line %u, expected %zu", again[i].line, i + 1);
    }
    return 0;
}

int fuzz_directory(const u8* data, size_t size)
{
    u8 sector[512] = {};
    if (size)  // data may be null when size is 0 (the replay of an empty input)
        memcpy(sector, data, size < 512 ? size : 512);
    u64 image_sectors = read_or_zero<u64>(data, size, 512);
    const u8 flags = byte_or_zero(data, size, 520);
    const u64 directory_lba = 1 + byte_or_zero(data, size, 521) % 64;
    const bool mkimage_style = flags & 2;
    if (mkimage_style) {
        image_sectors = build_mkimage_style(sector, data, size, directory_lba);
        auto result = kl::boot::validate_directory(sector, image_sectors, directory_lba);
        FUZZ_CHECK(!result.is_error(), "refused a directory laid out as mkimage does: %s", result.error().message());
        FUZZ_CHECK(result.value().end_lba == image_sectors, "end_lba %llu, expected %llu",
            static_cast<unsigned long long>(result.value().end_lba), static_cast<unsigned long long>(image_sectors));
        if (!(flags & 4))
            return 0;
        sector[read_or_zero<u16>(data, size, 523) % 512] = byte_or_zero(data, size, 522);
        store_crc(sector);
    } else if (flags & 1) {
        store_crc(sector);
    }
    auto result = kl::boot::validate_directory(sector, image_sectors, directory_lba);
    if (result.is_error()) {
        const kl::ErrorCode code = result.error().code();
        FUZZ_CHECK(code == kl::ErrorCode::BootDirectory || code == kl::ErrorCode::BootKernel ||
                code == kl::ErrorCode::BootMemory,
            "unexpected error %s: %s", result.error().code_name(), result.error().message());
        return 0;
    }
    check_accepted_directory(sector, image_sectors, directory_lba, result.value());
    return 0;
}
