// The fault guard turns CPU exceptions inside a call into errors (host implementation).
#include <catch2/catch.hpp>
#include <sys/mman.h>

#include "kernel_lib/debug/fault_guard.h"

namespace {

void trap(void*) { __builtin_trap(); }
void read_at(void* p) { (void)*static_cast<volatile int*>(p); }
void add_one(void* p) { ++*static_cast<int*>(p); }

}

TEST_CASE("a guarded call that does not fault returns normally", "[guard]")
{
    int value = 41;
    auto result = kl::run_guarded(add_one, &value);
    CHECK_FALSE(result.is_error());
    CHECK(value == 42);
}

TEST_CASE("an invalid opcode in a guarded call becomes a #UD error", "[guard]")
{
    kl::Fault fault {};
    auto result = kl::run_guarded(trap, nullptr, &fault);
    REQUIRE(result.is_error());
    CHECK(result.error().code() == kl::ErrorCode::CpuException);
    CHECK(fault.vector == 6);
    CHECK(std::string(result.error().message()).find("#UD") != std::string::npos);
    // The guard is reusable after a fault.
    int value = 1;
    CHECK_FALSE(kl::run_guarded(add_one, &value).is_error());
    CHECK(value == 2);
}

TEST_CASE("a page fault in a guarded call reports the faulting address", "[guard]")
{
    void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(page != MAP_FAILED);
    kl::Fault fault {};
    auto result = kl::run_guarded(read_at, page, &fault);
    munmap(page, 4096);
    REQUIRE(result.is_error());
    CHECK(fault.vector == 14);
    CHECK(fault.address == reinterpret_cast<u64>(page));
}

TEST_CASE("every exception vector has its mnemonic and name", "[guard]")
{
    CHECK(std::string(kl::exception_mnemonic(0)) == "#DE");
    CHECK(std::string(kl::exception_name(0)) == "divide error");
    CHECK(std::string(kl::exception_mnemonic(9)) == "#CSO");
    CHECK(std::string(kl::exception_name(14)) == "page fault");
    CHECK(std::string(kl::exception_mnemonic(15)) == "#15");
    CHECK(std::string(kl::exception_name(19)) == "SIMD floating-point exception");
    CHECK(std::string(kl::exception_mnemonic(28)) == "#HV");
    CHECK(std::string(kl::exception_name(30)) == "security exception");
    CHECK(std::string(kl::exception_mnemonic(31)) == "#31");
    CHECK(std::string(kl::exception_name(31)) == "reserved");
    CHECK(std::string(kl::exception_mnemonic(32)) == "#??");
    CHECK(std::string(kl::exception_name(32)) == "interrupt");
}
