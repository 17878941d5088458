// The boot settings parser: what mkimage validates on the host and the kernel reads at boot.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tinyllama/kernel_app/boot_settings.h"

using namespace tllama;

namespace {

// `scratch` receives the parser's copy of the text (the prompt points into it).
kl::ErrorOr<BootSettings> parse(const std::string& text, std::vector<char>& scratch)
{
    scratch.assign(text.size() * 2 + 2, 0);
    return parse_boot_settings(text.data(), text.size(), scratch.data());
}

// The error message of a refused payload ("" when it was accepted).
std::string refusal(const std::string& text)
{
    std::vector<char> scratch;
    auto result = parse(text, scratch);
    return result.is_error() ? std::string(result.error().message()) : std::string();
}

}

TEST_CASE("settings: defaults, and every kind of value", "[tinyllama][settings]")
{
    std::vector<char> scratch;
    auto empty = parse("", scratch);
    REQUIRE_FALSE(empty.is_error());
    CHECK(empty.value().mode == RunMode::Interactive);
    CHECK(empty.value().prefill == 16);
    CHECK(empty.value().bench_cores_count == 0);

    auto p = parse("mode=bench\nprompt=Once upon a time\nsteps=64\ntemp=0.8\ntopp=0.9\nseed=42\njit=off\n"
                     "jit_isa=avx2\ncores=2\nprefill=8\nbench_runs=5\n", scratch);
    REQUIRE_FALSE(p.is_error());
    const BootSettings& s = p.value();
    CHECK(s.mode == RunMode::Bench);
    CHECK(std::string(s.prompt) == "Once upon a time");
    CHECK(s.steps == 64);
    CHECK(s.temperature == 0.8f);
    CHECK(s.topp == 0.9f);
    CHECK(s.seed == 42);
    CHECK(s.seed_given);
    CHECK_FALSE(s.jit);
    CHECK(s.jit_isa_cap == kl::cpu::Isa::Avx2);
    CHECK(s.cores == 2);
    CHECK(s.prefill == 8);
    CHECK(s.bench_runs == 5);

    for (RunMode mode : { RunMode::Generate, RunMode::Interactive, RunMode::Bench, RunMode::Selftest, RunMode::Serve,
             RunMode::Chat }) {
        auto m = parse("mode=" + std::string(tllama::run_mode_name(mode)) + "\n", scratch);
        REQUIRE_FALSE(m.is_error());
        CHECK(m.value().mode == mode);
    }
    CHECK(std::string(tllama::run_mode_name(RunMode::Chat)) == "chat");
}

TEST_CASE("settings: bad values name the line, the key and what is expected", "[tinyllama][settings]")
{
    CHECK(refusal("mode=fast\n").find("settings line 1: mode=fast is invalid; expected generate, interactive") == 0);
    CHECK(refusal("steps=10\ntemp=hot\n").find("settings line 2: temp=hot") == 0);
    CHECK(refusal("temp=0x1p-1\n").find("temp=0x1p-1 is invalid") != std::string::npos);  // no hex floats
    CHECK(refusal("topp=1.5\n").find("a number from 0 to 1") != std::string::npos);
    CHECK(refusal("prefill=2000\n").find("from 0 (off) to 1024") != std::string::npos);
    CHECK(refusal("bench_runs=0\n").find("from 1 to 100") != std::string::npos);
    CHECK(refusal("color=red\n").find("unknown key 'color'") != std::string::npos);
    CHECK(refusal("prompt=a\nprompt=b\n").find("prompt given twice") != std::string::npos);
}

TEST_CASE("settings: bench variant lists", "[tinyllama][settings]")
{
    std::vector<char> scratch;
    auto p = parse("bench_cores=1,2,0\nbench_prefill=0,16\n", scratch);
    REQUIRE_FALSE(p.is_error());
    const BootSettings& s = p.value();
    REQUIRE(s.bench_cores_count == 3);
    CHECK(s.bench_cores[0] == 1);
    CHECK(s.bench_cores[1] == 2);
    CHECK(s.bench_cores[2] == 0);
    REQUIRE(s.bench_prefill_count == 2);
    CHECK(s.bench_prefill[0] == 0);
    CHECK(s.bench_prefill[1] == 16);

    // Malformed lists: empty items, trailing commas, too many items, out of range.
    for (const char* bad : { "bench_cores=\n", "bench_cores=1,\n", "bench_cores=,1\n", "bench_cores=1,,2\n",
             "bench_cores=1,2,3,4,5\n", "bench_cores=1;2\n", "bench_cores=300\n", "bench_cores=-1\n" }) {
        INFO(bad);
        CHECK(refusal(bad).find("expected up to 4 core counts") != std::string::npos);
    }
    // The transformer has one block size: a variant can only switch prefill off.
    CHECK(refusal("prefill=16\nbench_prefill=0,8\n")
              .find("bench_prefill value 8 is neither 0 (off) nor the prefill block size 16") != std::string::npos);
    CHECK(refusal("bench_prefill=0,8\nprefill=8\n").empty());  // order does not matter
}

TEST_CASE("settings: MODE=serve and its network keys", "[tinyllama][settings][serve]")
{
    std::vector<char> scratch;
    auto defaults = parse("mode=serve\n", scratch);
    REQUIRE_FALSE(defaults.is_error());
    CHECK(defaults.value().mode == RunMode::Serve);
    CHECK(defaults.value().net == NetMode::Dhcp);
    CHECK(defaults.value().port == 8080);
    CHECK(std::string(defaults.value().api_key).empty());

    auto fixed = parse("mode=serve\nip=192.168.1.50/16\ngateway=192.168.0.1\nport=9000\napi_key=sk-test_123\n", scratch);
    REQUIRE_FALSE(fixed.is_error());
    const BootSettings& s = fixed.value();
    CHECK(s.net == NetMode::Static);
    CHECK((s.ip[0] == 192 && s.ip[1] == 168 && s.ip[2] == 1 && s.ip[3] == 50));
    CHECK(s.ip_prefix == 16);
    CHECK((s.gateway[0] == 192 && s.gateway[3] == 1));
    CHECK(s.port == 9000);
    CHECK(std::string(s.api_key) == "sk-test_123");
    CHECK(parse("ip=10.0.2.15\n", scratch).value().ip_prefix == 24);
    CHECK(parse("net=off\n", scratch).value().net == NetMode::Off);
    CHECK(parse("net=dhcp\nport=1\n", scratch).value().net == NetMode::Dhcp);
}

TEST_CASE("settings: bad network values are refused", "[tinyllama][settings][serve]")
{
    for (const char* text : { "net=wifi\n", "ip=10.0.2\n", "ip=10.0.2.256\n", "ip=10.0.2.015\n", "ip=10.0.2.15/0\n",
             "ip=10.0.2.15/33\n", "ip=10.0.2.15/\n", "ip=10.0.2.15 \n", "ip=a.b.c.d\n", "gateway=10.0.2.2\n",
             "port=0\n", "port=65536\n", "port=80x\n", "api_key=has space\n", "api_key=caf\xc3\xa9\n",
             "net=off\nip=10.0.2.15\n", "ip=10.0.2.15\nnet=dhcp\n", "net=dhcp\nnet=off\n" }) {
        INFO(text);
        CHECK_FALSE(refusal(text).empty());
    }
    CHECK_FALSE(refusal("api_key=" + std::string(129, 'k') + "\n").empty());
    CHECK(refusal("ip=10.0.2.15\nnet=dhcp\n") == "settings: ip= is static: no net=dhcp");
    CHECK(refusal("mode=serving\n").find("generate, interactive, bench, selftest, serve or chat") != std::string::npos);
}
