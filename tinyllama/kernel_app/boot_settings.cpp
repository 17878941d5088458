// Boot settings parsing and validation (see boot_settings.h).
#include "tinyllama/kernel_app/boot_settings.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_lib/text/keyvalue.h"

namespace tllama {

namespace {

constexpr int max_pairs = 64;

Error bad_value(const kl::KeyValuePair& pair, const char* expected)
{
    return Error::make(ErrorCode::SettingsBadValue, "settings line %u: %s=%.40s is invalid; expected %s", pair.line,
        pair.key, pair.value, expected);
}

ErrorOr<u64> parse_unsigned(const kl::KeyValuePair& pair, u64 max, const char* expected)
{
    const char* v = pair.value;
    if (*v < '0' || *v > '9')
        return bad_value(pair, expected);
    char* end = nullptr;
    unsigned long long value = strtoull(v, &end, 10);
    if (*end != 0 || value > max || (value == ~0ull))
        return bad_value(pair, expected);
    return static_cast<u64>(value);
}

// A comma-separated list of 1..capacity whole numbers, each at most `max` ("1,2").
ErrorOr<u32> parse_list(const kl::KeyValuePair& pair, u64 max, u32* out, u32 capacity, const char* expected)
{
    u32 count = 0;
    const char* v = pair.value;
    while (true) {
        if (*v < '0' || *v > '9' || count == capacity)
            return bad_value(pair, expected);
        char* end = nullptr;
        unsigned long long value = strtoull(v, &end, 10);
        if (value > max || (*end != ',' && *end != 0))
            return bad_value(pair, expected);
        out[count++] = static_cast<u32>(value);
        if (*end == 0)
            return count;
        v = end + 1;
    }
}

// Plain decimal syntax: [+-] digits [. digits] [(e|E) [+-] digits], at least one mantissa
// digit. mkimage validates the settings with the host libc's strtof, the kernel reads them
// with kernel_lib's, which has no hexadecimal floats ("0x1p-1"), and both skip leading
// blanks and take "inf"/"nan"; only the syntax both read alike gets to strtof (found by
// the settings fuzzer: "topp= 0X1.0" passed mkimage and read as 0 in the kernel).
bool is_decimal_number(const char* v)
{
    if (*v == '+' || *v == '-')
        ++v;
    int digits = 0;
    while (*v >= '0' && *v <= '9')
        ++v, ++digits;
    if (*v == '.') {
        ++v;
        while (*v >= '0' && *v <= '9')
            ++v, ++digits;
    }
    if (digits == 0)
        return false;
    if (*v == 'e' || *v == 'E') {
        ++v;
        if (*v == '+' || *v == '-')
            ++v;
        if (*v < '0' || *v > '9')
            return false;
        while (*v >= '0' && *v <= '9')
            ++v;
    }
    return *v == 0;
}

ErrorOr<float> parse_float(const kl::KeyValuePair& pair, float min, float max, const char* expected)
{
    const char* v = pair.value;
    if (!is_decimal_number(v))
        return bad_value(pair, expected);
    char* end = nullptr;
    float value = strtof(v, &end);
    // NaN fails both comparisons, so it is refused as well.
    if (*end != 0 || !(value >= min && value <= max))
        return bad_value(pair, expected);
    return value;
}

bool is(const char* a, const char* b) { return strcmp(a, b) == 0; }

// "A.B.C.D": four decimal numbers 0..255 without leading zeros (no octal ambiguity);
// returns where it stopped, or nullptr.
const char* parse_ipv4(const char* v, u8 out[4])
{
    for (int part = 0; part < 4; ++part) {
        if (part > 0 && *v++ != '.')
            return nullptr;
        if (*v < '0' || *v > '9' || (v[0] == '0' && v[1] >= '0' && v[1] <= '9'))
            return nullptr;
        u32 value = 0;
        for (int digits = 0; *v >= '0' && *v <= '9'; ++v, ++digits) {
            value = value * 10 + static_cast<u32>(*v - '0');
            if (digits == 3 || value > 255)
                return nullptr;
        }
        out[part] = static_cast<u8>(value);
    }
    return v;
}

// Which network keys were given: they decide NetMode together, whatever their order.
struct NetworkKeys {
    bool dhcp = false;
    bool off = false;
    bool ip = false;
    bool gateway = false;
};

// The network keys of MODE=serve; false when `p` is not one of them.
ErrorOr<bool> parse_network_setting(const kl::KeyValuePair& p, BootSettings& s, NetworkKeys& keys)
{
    if (is(p.key, "net")) {
        if (is(p.value, "dhcp"))
            keys.dhcp = true;
        else if (is(p.value, "off"))
            keys.off = true;
        else
            return bad_value(p, "dhcp or off (static: ip=)");
    } else if (is(p.key, "ip")) {
        const char* end = parse_ipv4(p.value, s.ip);
        u64 prefix = 24;
        if (end && *end == '/') {
            char* after = nullptr;
            prefix = end[1] >= '0' && end[1] <= '9' ? strtoull(end + 1, &after, 10) : 0;
            end = after;
        }
        if (!end || *end != 0 || prefix < 1 || prefix > 32)
            return bad_value(p, "A.B.C.D or A.B.C.D/prefix");
        s.ip_prefix = static_cast<u8>(prefix);
        keys.ip = true;
    } else if (is(p.key, "gateway")) {
        const char* end = parse_ipv4(p.value, s.gateway);
        if (!end || *end != 0)
            return bad_value(p, "A.B.C.D");
        keys.gateway = true;
    } else if (is(p.key, "port")) {
        const u64 port = TRY(parse_unsigned(p, 65535, "a port 1-65535"));
        if (port == 0)
            return bad_value(p, "a port 1-65535");
        s.port = static_cast<u16>(port);
    } else if (is(p.key, "api_key")) {
        const usize length = strlen(p.value);
        bool printable = length >= 1 && length <= 128;
        for (usize i = 0; i < length; ++i)
            printable = printable && p.value[i] > ' ' && p.value[i] < 0x7F;
        if (!printable)
            return bad_value(p, "1-128 printable ASCII, no spaces");
        s.api_key = p.value;
    } else {
        return false;
    }
    return true;
}

// ip= is a static address: next to net=off or net=dhcp one of them would be ignored, so
// the combination is refused rather than guessed.
// Indexed by RunMode.
constexpr const char* mode_names[] = { "generate", "interactive", "bench", "selftest", "serve", "chat" };

// on / off (or 1 / 0).
ErrorOr<bool> parse_switch(const kl::KeyValuePair& p)
{
    if (is(p.value, "1") || is(p.value, "on"))
        return true;
    if (is(p.value, "0") || is(p.value, "off"))
        return false;
    return bad_value(p, "on or off");
}

// What to tell and how to sample; false when `p` is none of those keys.
ErrorOr<bool> parse_story_setting(const kl::KeyValuePair& p, BootSettings& s, bool& seen_prompt)
{
    const char* k = p.key;
    if (is(k, "mode")) {
        u32 m = 0;
        while (m < sizeof(mode_names) / sizeof(mode_names[0]) && !is(p.value, mode_names[m]))
            ++m;
        if (m == sizeof(mode_names) / sizeof(mode_names[0]))
            return bad_value(p, "generate, interactive, bench, selftest, serve or chat");
        s.mode = static_cast<RunMode>(m);
    } else if (is(k, "prompt")) {
        if (seen_prompt)
            return Error::make(ErrorCode::SettingsSyntax, "settings line %u: prompt given twice", p.line);
        seen_prompt = true;
        s.prompt = p.value;
    } else if (is(k, "steps")) {
        s.steps = static_cast<u32>(TRY(parse_unsigned(p, 1u << 20, "a whole number from 0 to 1048576")));
    } else if (is(k, "temp")) {
        s.temperature = TRY(parse_float(p, 0.0f, 100.0f, "a number from 0 to 100"));
    } else if (is(k, "topp")) {
        s.topp = TRY(parse_float(p, 0.0f, 1.0f, "a number from 0 to 1"));
    } else if (is(k, "seed")) {
        s.seed = TRY(parse_unsigned(p, ~0ull - 1, "a whole number (0 = derived from the TSC)"));
        s.seed_given = s.seed != 0;
    } else if (is(k, "model_name")) {
        s.model_name = p.value;
    } else {
        return false;
    }
    return true;
}

// The micro-JIT's keys; false when `p` is none of them.
ErrorOr<bool> parse_jit_setting(const kl::KeyValuePair& p, BootSettings& s)
{
    const char* k = p.key;
    if (is(k, "jit")) {
        s.jit = TRY(parse_switch(p));
    } else if (is(k, "jit_isa")) {
        if (is(p.value, "sse2"))
            s.jit_isa_cap = kl::cpu::Isa::Sse2;
        else if (is(p.value, "avx2"))
            s.jit_isa_cap = kl::cpu::Isa::Avx2;
        else if (is(p.value, "avx512"))
            s.jit_isa_cap = kl::cpu::Isa::Avx512;
        else
            return bad_value(p, "sse2, avx2 or avx512");
    } else if (is(k, "jit_hot_calls")) {
        s.jit_hot_calls = static_cast<u32>(TRY(parse_unsigned(p, 1000000, "a whole number from 0 to 1000000")));
    } else if (is(k, "jit_hot_cycles")) {
        s.jit_hot_cycles = TRY(parse_unsigned(p, 1ull << 40, "a whole number of cycles"));
    } else if (is(k, "jit_dump")) {
        s.jit_dump = TRY(parse_switch(p));
    } else if (is(k, "prefill")) {
        s.prefill = static_cast<u32>(TRY(parse_unsigned(p, 1024, "a block size from 0 (off) to 1024 tokens")));
    } else {
        return false;
    }
    return true;
}

// MODE=bench's and the machine's keys; false when `p` is none of them.
ErrorOr<bool> parse_bench_setting(const kl::KeyValuePair& p, BootSettings& s)
{
    const char* k = p.key;
    if (is(k, "bench_runs")) {
        s.bench_runs = static_cast<u32>(TRY(parse_unsigned(p, 100, "a whole number from 1 to 100")));
        if (s.bench_runs == 0)
            return bad_value(p, "a whole number from 1 to 100");
    } else if (is(k, "bench_warmup")) {
        s.bench_warmup = static_cast<u32>(TRY(parse_unsigned(p, 1u << 20, "a whole number of tokens")));
    } else if (is(k, "bench_cores")) {
        s.bench_cores_count = TRY(parse_list(p, 256, s.bench_cores, BootSettings::max_bench_variants,
            "up to 4 core counts separated by commas, 0 = all (\"1,2\")"));
    } else if (is(k, "bench_prefill")) {
        s.bench_prefill_count = TRY(parse_list(p, 1024, s.bench_prefill, BootSettings::max_bench_variants,
            "up to 4 prefill block sizes separated by commas (\"0,16\")"));
    } else if (is(k, "cores")) {
        s.cores = static_cast<u32>(TRY(parse_unsigned(p, 256, "a whole number from 0 (all) to 256")));
    } else if (is(k, "selftest_fault")) {
        s.selftest_fault = TRY(parse_switch(p));
    } else {
        return false;
    }
    return true;
}

ErrorOr<NetMode> network_mode(const NetworkKeys& keys)
{
    if (keys.off && (keys.ip || keys.gateway || keys.dhcp))
        return Error::make(ErrorCode::SettingsBadValue, "settings: net=off with other net keys");
    if (keys.dhcp && keys.ip)
        return Error::make(ErrorCode::SettingsBadValue, "settings: ip= is static: no net=dhcp");
    if (keys.gateway && !keys.ip)
        return Error::make(ErrorCode::SettingsBadValue, "settings: gateway= needs ip=");
    return keys.off ? NetMode::Off : keys.ip ? NetMode::Static : NetMode::Dhcp;
}

}

const char* run_mode_name(RunMode mode) { return mode_names[static_cast<u32>(mode)]; }

ErrorOr<BootSettings> parse_boot_settings(const char* text, usize length, char* scratch)
{
    if (length > max_settings_bytes)
        return Error::make(ErrorCode::SettingsSyntax, "the settings payload is %zu bytes; at most %zu are accepted",
            length, max_settings_bytes);
    kl::KeyValuePair pairs[max_pairs];
    int count = TRY(kl::parse_key_values(text, length, scratch, pairs, max_pairs));

    BootSettings s;
    bool seen_prompt = false;
    NetworkKeys network;
    for (int i = 0; i < count; ++i) {
        const kl::KeyValuePair& p = pairs[i];
        if (TRY(parse_network_setting(p, s, network)) || TRY(parse_story_setting(p, s, seen_prompt))
            || TRY(parse_jit_setting(p, s)) || TRY(parse_bench_setting(p, s)))
            continue;
        return Error::make(ErrorCode::SettingsUnknownKey,
            "settings line %u: unknown key '%.40s' (known: mode prompt steps temp topp seed jit jit_isa "
            "jit_hot_calls jit_hot_cycles prefill bench_runs bench_warmup bench_cores bench_prefill cores model_name "
            "selftest_fault jit_dump net ip gateway port api_key)",
            p.line, p.key);
    }
    s.net = TRY(network_mode(network));
    // The transformer holds one block size (prefill): a bench variant can only turn it off.
    for (u32 i = 0; i < s.bench_prefill_count; ++i) {
        if (s.bench_prefill[i] != 0 && s.bench_prefill[i] != s.prefill)
            return Error::make(ErrorCode::SettingsBadValue,
                "settings: bench_prefill value %u is neither 0 (off) nor the prefill block size %u; set prefill=%u",
                s.bench_prefill[i], s.prefill, s.bench_prefill[i]);
    }
    return s;
}

}
