// The boot settings: what the image asks the kernel to do (mode, prompt, sampling, JIT).
//
// Stored as a key=value text payload named "settings" (kernel_lib/text/keyvalue.h).
// scripts/mkimage writes it and validates it with this same parser before building, so a
// bad value is refused on the host already; the kernel parses it again at boot and any
// unknown key or out-of-range value ends in a settings.* error naming the line.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/cpu/features.h"

namespace tllama {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

enum class RunMode : u8 { Generate, Interactive, Bench, Selftest, Serve, Chat };

// MODE=serve's network: DHCP (the default), the static address of ip=, or none.
enum class NetMode : u8 { Dhcp, Static, Off };

const char* run_mode_name(RunMode mode);

struct BootSettings {
    RunMode mode = RunMode::Interactive;
    const char* prompt = "";      // points into the caller's scratch buffer
    u32 steps = 256;              // 0 = the model's seq_len
    float temperature = 1.0f;
    float topp = 0.9f;
    u64 seed = 0;
    bool seed_given = false;      // otherwise the kernel derives one from the TSC
    bool jit = true;
    kl::cpu::Isa jit_isa_cap = kl::cpu::Isa::Avx512;  // no cap unless jit_isa= is given
    u32 jit_hot_calls = 4;        // calls on tier 0 before the JIT tunes a kernel shape
    u64 jit_hot_cycles = 100000;  // ... and cycles spent on them
    u32 cores = 0;                // 0 = every core found
    u32 prefill = 16;             // prompt tokens per prefill block (0 = one at a time)
    u32 bench_runs = 3;           // MODE=bench: timed generations (the median is reported)
    u32 bench_warmup = 48;        // MODE=bench: tokens generated first, so the JIT has settled
    // MODE=bench variants, each timed in turn in the same boot (lists like "1,2"; empty =
    // the single value of `cores` / `prefill`): core counts, and prefill blocks (0 or prefill).
    static constexpr u32 max_bench_variants = 4;
    u32 bench_cores[max_bench_variants] {};
    u32 bench_cores_count = 0;
    u32 bench_prefill[max_bench_variants] {};
    u32 bench_prefill_count = 0;
    bool selftest_fault = false;  // selftest: end with a deliberate unguarded fault
    bool jit_dump = false;        // print every installed JIT kernel as @jit-dump hex (make dump-jit)
    const char* model_name = "";  // the model's file name, for reports (mkimage sets it)
    // MODE=serve (the serve kernel, make serve): the OpenAI-compatible HTTP API.
    NetMode net = NetMode::Dhcp;
    u8 ip[4] = {};                // net=static (set by ip=A.B.C.D[/prefix])
    u8 ip_prefix = 24;
    u8 gateway[4] = {};           // 0.0.0.0: none
    u16 port = 8080;              // the TCP port the API listens on
    const char* api_key = "";     // when set, every request needs "Authorization: Bearer <key>"
};

// Largest settings payload accepted (a long prompt fits easily).
constexpr usize max_settings_bytes = 256 * 1024;

// Parses a settings payload. `scratch` must hold 2 * length + 2 bytes and outlive the
// result (the prompt points into it).
ErrorOr<BootSettings> parse_boot_settings(const char* text, usize length, char* scratch);

}
