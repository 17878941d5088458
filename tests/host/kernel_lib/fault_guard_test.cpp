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
