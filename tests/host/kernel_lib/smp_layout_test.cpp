// The AP start parameters as the trampoline (kernel_lib/arch/x86_64/ap_trampoline.asm)
// reads them agree with kl::smp::ApParams (kernel_lib/smp/percpu.h), which the boot core
// writes: every field's offset and size, the parameter page's place, the trampoline address.
#include <catch2/catch.hpp>
#include <stddef.h>

#include <map>
#include <sstream>
#include <string>

#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/smp/percpu.h"
#include "tests/host/test_support.h"

namespace {

struct Field {
    long offset;
    long size;
};

// The fields of `struc NAME` ... `endstruc` in NASM source: ".field: resX count".
std::map<std::string, Field> parse_struc(const std::string& text, const std::string& name)
{
    std::map<std::string, Field> fields;
    std::istringstream in(text);
    std::string line;
    bool inside = false;
    long offset = 0;
    while (std::getline(in, line)) {
        std::string code = line.substr(0, line.find(';'));
        std::istringstream words(code);
        std::string first, second, count;
        words >> first >> second >> count;
        if (first == "struc" && second == name) {
            inside = true;
            continue;
        }
        if (!inside || first.empty())
            continue;
        if (first == "endstruc")
            break;
        REQUIRE(first.front() == '.');
        REQUIRE(first.back() == ':');
        long unit = second == "resb" ? 1 : second == "resw" ? 2 : second == "resd" ? 4 : second == "resq" ? 8 : 0;
        REQUIRE(unit != 0);
        long size = unit * std::stol(count);
        fields[first.substr(1, first.size() - 2)] = { offset, size };
        offset += size;
    }
    REQUIRE(inside);
    fields["_size"] = { offset, 0 };
    return fields;
}

long equ_value(const std::string& text, const std::string& name)
{
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line.substr(0, line.find(';')));
        std::string first, second, value;
        words >> first >> second;
        std::getline(words, value);
        if (first == name && second == "equ")
            return std::stol(value, nullptr, 0);
    }
    FAIL("no '" << name << " equ' found");
    return -1;
}

}

TEST_CASE("AP trampoline parameters: NASM struc matches kl::smp::ApParams", "[smp]")
{
    std::string root = test_support::repo_root();
    std::string asm_text = test_support::read_text(root + "/kernel_lib/arch/x86_64/ap_trampoline.asm");
    auto f = parse_struc(asm_text, "ApParams");
    using kl::smp::ApParams;
#define CHECK_FIELD(name)                                          \
    do {                                                           \
        INFO("field " #name);                                      \
        REQUIRE(f.count(#name) == 1);                              \
        CHECK(f[#name].offset == long(offsetof(ApParams, name)));  \
        CHECK(f[#name].size == long(sizeof(ApParams::name)));      \
    } while (0)
    CHECK_FIELD(cr3);
    CHECK_FIELD(cr4);
    CHECK_FIELD(cr0);
    CHECK_FIELD(efer);
    CHECK_FIELD(apic_id);
    CHECK_FIELD(cpu_index);
    CHECK_FIELD(entry);
    CHECK_FIELD(stack_top);
    CHECK_FIELD(vif_page);
    CHECK_FIELD(xcr0);
    CHECK_FIELD(mxcsr);
    CHECK_FIELD(progress);
#undef CHECK_FIELD
    CHECK(f.size() == 13);  // the twelve fields and _size: none added on one side only
    CHECK(f["_size"].offset == long(sizeof(ApParams)));

    CHECK(equ_value(asm_text, "AP_PARAMS_OFFSET") == long(kl::smp::ap_params_offset));
    std::string memmap = test_support::read_text(root + "/boot/inc/memmap.inc");
    CHECK(equ_value(memmap, "AP_TRAMPOLINE_ADDR") == long(kl::boot::ap_trampoline_address));
}
