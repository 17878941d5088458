// The ACPI walk for SMP on hand-made tables in a fake physical memory: RSDP in the EBDA, in
// the BIOS area or handed over by the UEFI loader, RSDT and XSDT, the MADT's processor
// entries (xAPIC, x2APIC, disabled, duplicated, the address override), the PM timer (FADT)
// and the HPET for TSC calibration, and every kind of damage: bad checksums, truncated
// tables and entries, missing tables, garbage pointers.
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kernel_lib/smp/acpi.h"

using kl::acpi::MadtInfo;
using kl::acpi::PhysicalMemory;

namespace {

// Byte-addressed fake memory: disjoint regions, reads must lie wholly inside one.
struct FakeMemory {
    std::map<u64, std::vector<u8>> regions;

    std::vector<u8>& region(u64 base, u64 size)
    {
        auto& r = regions[base];
        r.assign(size, 0);
        return r;
    }
    void put(u64 address, const std::vector<u8>& bytes)
    {
        for (auto& [base, data] : regions) {
            if (address >= base && address + bytes.size() <= base + data.size()) {
                std::memcpy(data.data() + (address - base), bytes.data(), bytes.size());
                return;
            }
        }
        FAIL("put outside the fake memory");
    }
    u8& byte(u64 address)
    {
        for (auto& [base, data] : regions) {
            if (address >= base && address < base + data.size())
                return data[address - base];
        }
        throw std::runtime_error("byte outside the fake memory");
    }
    static const u8* view(void* ctx, u64 address, u64 length)
    {
        auto* self = static_cast<FakeMemory*>(ctx);
        for (auto& [base, data] : self->regions) {
            if (address >= base && address - base <= data.size() && length <= data.size() - (address - base))
                return data.data() + (address - base);
        }
        return nullptr;
    }
    PhysicalMemory access() { return { view, this }; }
};

void le(std::vector<u8>& v, u64 value, int bytes)
{
    for (int i = 0; i < bytes; ++i)
        v.push_back(static_cast<u8>(value >> (8 * i)));
}

void set_le(std::vector<u8>& v, size_t at, u64 value, int bytes)
{
    for (int i = 0; i < bytes; ++i)
        v[at + i] = static_cast<u8>(value >> (8 * i));
}

// Independent of the code under test: the byte that makes the sum zero.
void fix_checksum(std::vector<u8>& v, size_t checksum_at, size_t length)
{
    v[checksum_at] = 0;
    unsigned sum = 0;
    for (size_t i = 0; i < length; ++i)
        sum += v[i];
    v[checksum_at] = static_cast<u8>(0x100 - (sum & 0xFF));
}

std::vector<u8> rsdp(int revision, u32 rsdt, u64 xsdt)
{
    std::vector<u8> v = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ', 0, 'B', 'F', 'T', 'E', 'S', 'T' };
    v.push_back(static_cast<u8>(revision));
    le(v, rsdt, 4);
    if (revision >= 2) {
        le(v, 36, 4);
        le(v, xsdt, 8);
        v.push_back(0);  // extended checksum
        v.insert(v.end(), 3, 0);
        fix_checksum(v, 8, 20);
        fix_checksum(v, 32, 36);
    } else {
        fix_checksum(v, 8, 20);
    }
    return v;
}

// A table with the standard 36-byte header around `body`.
std::vector<u8> sdt(const char* signature, const std::vector<u8>& body)
{
    std::vector<u8> v(signature, signature + 4);
    le(v, 36 + body.size(), 4);
    v.push_back(1);   // revision
    v.push_back(0);   // checksum
    const char oem[] = "BFLOW BAREFLOWT";
    v.insert(v.end(), oem, oem + 14);
    le(v, 1, 4);
    le(v, 0x4C465442, 4);
    le(v, 1, 4);
    REQUIRE(v.size() == 36);
    v.insert(v.end(), body.begin(), body.end());
    fix_checksum(v, 9, v.size());
    return v;
}

std::vector<u8> lapic_entry(u8 uid, u8 apic_id, u32 flags)
{
    std::vector<u8> v = { 0, 8, uid, apic_id };
    le(v, flags, 4);
    return v;
}

std::vector<u8> x2apic_entry(u32 apic_id, u32 flags, u32 uid)
{
    std::vector<u8> v = { 9, 16, 0, 0 };
    le(v, apic_id, 4);
    le(v, flags, 4);
    le(v, uid, 4);
    return v;
}

std::vector<u8> ioapic_entry()
{
    std::vector<u8> v = { 1, 12, 0, 0 };
    le(v, 0xFEC00000, 4);
    le(v, 0, 4);
    return v;
}

std::vector<u8> madt_body(u32 lapic, const std::vector<std::vector<u8>>& entries)
{
    std::vector<u8> v;
    le(v, lapic, 4);
    le(v, 1, 4);  // PC-AT compatible
    for (auto& e : entries)
        v.insert(v.end(), e.begin(), e.end());
    return v;
}

std::vector<u8> root(const char* signature, const std::vector<u64>& tables, int entry_bytes)
{
    std::vector<u8> body;
    for (u64 t : tables)
        le(body, t, entry_bytes);
    return sdt(signature, body);
}

constexpr u64 ebda = 0x9FC00;
constexpr u64 tables_base = 0x7FE0000;
constexpr u64 madt_at = tables_base + 0x5000;
constexpr u64 facp_at = tables_base + 0x400;
constexpr u64 rsdt_at = tables_base + 0x800;
constexpr u64 xsdt_at = tables_base + 0x900;

// A machine like QEMU's: RSDP in the BIOS area, an RSDT with a FACP and the MADT.
struct Machine {
    FakeMemory mem;
    std::vector<u8> madt;

    explicit Machine(std::vector<std::vector<u8>> entries = { lapic_entry(0, 0, 1), lapic_entry(1, 1, 1), ioapic_entry() })
    {
        mem.region(0x80000, 0x20000);                       // conventional memory with the EBDA
        mem.region(kl::acpi::bios_area_begin, 0x20000);     // the BIOS ROM area
        mem.region(tables_base, 0x10000);                    // ACPI tables near the top of RAM
        madt = sdt("APIC", madt_body(0xFEE00000, entries));
        mem.put(madt_at, madt);
        mem.put(facp_at, sdt("FACP", std::vector<u8>(80, 0)));
        mem.put(rsdt_at, root("RSDT", { facp_at, madt_at }, 4));
        mem.put(0xF5A80, rsdp(0, static_cast<u32>(rsdt_at), 0));
    }
    kl::ErrorOr<MadtInfo> read(u64 ebda_address = ebda)
    {
        auto access = mem.access();
        u64 rsdp = TRY(kl::acpi::locate_rsdp(access, 0, ebda_address));
        return kl::acpi::read_madt(access, rsdp);
    }
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}

TEST_CASE("ACPI: RSDP in the BIOS area, RSDT, MADT with two processors", "[smp]")
{
    Machine m;
    auto access = m.mem.access();
    auto found = kl::acpi::find_rsdp(access, ebda);
    REQUIRE_FALSE(found.is_error());
    CHECK(found.value() == 0xF5A80);
    bool used_xsdt = true;
    auto madt = kl::acpi::find_table(access, found.value(), "APIC", &used_xsdt);
    REQUIRE_FALSE(madt.is_error());
    CHECK(madt.value().address == madt_at);
    CHECK_FALSE(used_xsdt);
    auto info = m.read();
    REQUIRE_FALSE(info.is_error());
    CHECK(info.value().lapic_address == 0xFEE00000);
    CHECK(info.value().flags == 1);
    REQUIRE(info.value().processor_count == 2);
    CHECK(info.value().apic_ids[0] == 0);
    CHECK(info.value().apic_ids[1] == 1);
}

TEST_CASE("ACPI: the EBDA's RSDP is found first; one with a bad checksum is skipped", "[smp]")
{
    Machine m;
    // A second RSDP in the EBDA whose RSDT lists only a MADT with four processors.
    std::vector<std::vector<u8>> four = { lapic_entry(0, 0, 1), lapic_entry(1, 2, 1), lapic_entry(2, 4, 1),
        lapic_entry(3, 6, 1) };
    m.mem.put(tables_base + 0x2000, sdt("APIC", madt_body(0xFEE00000, four)));
    m.mem.put(tables_base + 0x3000, root("RSDT", { tables_base + 0x2000 }, 4));
    m.mem.put(ebda + 0x40, rsdp(0, static_cast<u32>(tables_base + 0x3000), 0));
    auto info = m.read();
    REQUIRE_FALSE(info.is_error());
    CHECK(info.value().processor_count == 4);
    CHECK(info.value().apic_ids[3] == 6);

    // Break the EBDA copy's checksum: the BIOS-area RSDP (two processors) is used instead.
    m.mem.byte(ebda + 0x40 + 9) ^= 0x55;
    auto fallback = m.read();
    REQUIRE_FALSE(fallback.is_error());
    CHECK(fallback.value().processor_count == 2);

    // A garbage EBDA pointer is ignored, not followed.
    auto garbage = m.read(0xFFFFFFF0);
    REQUIRE_FALSE(garbage.is_error());
    CHECK(garbage.value().processor_count == 2);
}

TEST_CASE("ACPI: revision 2 RSDP uses the XSDT, and falls back to the RSDT when the XSDT is bad", "[smp]")
{
    Machine m;
    // The XSDT points at a MADT with three processors, the RSDT at the two-processor one.
    m.mem.put(tables_base + 0x2000, sdt("APIC", madt_body(0xFEE00000, { lapic_entry(0, 0, 1), lapic_entry(1, 1, 1),
                                                                         lapic_entry(2, 2, 1) })));
    m.mem.put(xsdt_at, root("XSDT", { facp_at, tables_base + 0x2000 }, 8));
    m.mem.put(0xF5A80, rsdp(2, static_cast<u32>(rsdt_at), xsdt_at));
    auto access = m.mem.access();
    bool used_xsdt = false;
    auto where = kl::acpi::find_table(access, 0xF5A80, "APIC", &used_xsdt);
    REQUIRE_FALSE(where.is_error());
    CHECK(used_xsdt);
    auto info = m.read();
    REQUIRE_FALSE(info.is_error());
    CHECK(info.value().processor_count == 3);

    m.mem.byte(xsdt_at + 40) ^= 1;  // XSDT checksum now wrong
    auto again = kl::acpi::find_table(access, 0xF5A80, "APIC", &used_xsdt);
    REQUIRE_FALSE(again.is_error());
    CHECK_FALSE(used_xsdt);
    auto via_rsdt = m.read();
    REQUIRE_FALSE(via_rsdt.is_error());
    CHECK(via_rsdt.value().processor_count == 2);

    // A revision-2 RSDP whose extended checksum is wrong is not an RSDP.
    m.mem.byte(0xF5A80 + 32) ^= 1;
    auto found = kl::acpi::find_rsdp(access, 0);
    CHECK(found.is_error());
}

TEST_CASE("ACPI: x2APIC entries, disabled processors, duplicates and the address override", "[smp]")
{
    std::vector<u8> override_entry = { 5, 12, 0, 0 };
    le(override_entry, 0xFEE10000ull, 8);
    Machine m({ lapic_entry(0, 0, 1), lapic_entry(1, 1, 0), lapic_entry(2, 2, 3), x2apic_entry(2, 1, 2),
        x2apic_entry(300, 1, 3), x2apic_entry(301, 2, 4), lapic_entry(5, 0xFF, 1), override_entry });
    auto info = m.read();
    REQUIRE_FALSE(info.is_error());
    const MadtInfo& i = info.value();
    CHECK(i.lapic_address == 0xFEE10000ull);
    REQUIRE(i.processor_count == 3);
    CHECK(i.apic_ids[0] == 0);
    CHECK(i.apic_ids[1] == 2);
    CHECK(i.apic_ids[2] == 300);
    CHECK(i.disabled_count == 2);   // APIC ID 1 and x2APIC 301 (online-capable only)
    CHECK(i.duplicate_count == 1);  // APIC ID 2 in a type 0 and a type 9 entry
    CHECK(i.x2apic_entries == 1);
}

TEST_CASE("ACPI: more processors than kl::acpi::max_processors are counted, not stored", "[smp]")
{
    std::vector<std::vector<u8>> entries;
    for (u32 id = 0; id < kl::acpi::max_processors + 6; ++id)
        entries.push_back(x2apic_entry(id, 1, id));
    Machine m(entries);
    auto info = m.read();
    REQUIRE_FALSE(info.is_error());
    CHECK(info.value().processor_count == kl::acpi::max_processors);
    CHECK(info.value().dropped_count == 6);
}

TEST_CASE("ACPI: a MADT with a bad checksum is refused", "[smp]")
{
    Machine m;
    m.mem.byte(madt_at + 50) ^= 0x10;
    auto info = m.read();
    REQUIRE(info.is_error());
    CHECK(has(info.error().message(), "APIC table"));
    CHECK(has(info.error().message(), "checksum"));
}

TEST_CASE("ACPI: truncated tables and entries are refused with the offset", "[smp]")
{
    SECTION("the MADT's length runs past readable memory")
    {
        Machine m;
        // Claim 0x20000 bytes: beyond the end of the fake table region.
        auto madt = m.madt;
        set_le(madt, 4, 0x20000, 4);
        m.mem.put(madt_at, madt);
        auto info = m.read();
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "truncated"));
    }
    SECTION("an entry runs past the table end")
    {
        std::vector<u8> cut = lapic_entry(1, 1, 1);
        cut.resize(6);  // the table ends inside the entry; its length byte still says 8
        Machine m({ lapic_entry(0, 0, 1), cut });
        auto info = m.read();
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "offset 52"));
        CHECK(has(info.error().message(), "runs past the table end"));
    }
    SECTION("an entry of length 0 would loop forever")
    {
        Machine m({ lapic_entry(0, 0, 1), std::vector<u8> { 0, 0, 0, 0, 0, 0, 0, 0 } });
        auto info = m.read();
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "has length 0"));
    }
    SECTION("a local APIC entry shorter than 8 bytes")
    {
        Machine m({ lapic_entry(0, 0, 1), std::vector<u8> { 0, 4, 1, 1 } });
        auto info = m.read();
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "not 8"));
    }
    SECTION("a MADT too short for its fixed fields")
    {
        Machine m;
        auto body = std::vector<u8>(4, 0);
        m.mem.put(madt_at, sdt("APIC", body));
        auto info = m.read();
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "too short"));
    }
}

TEST_CASE("ACPI: missing pieces are clear errors", "[smp]")
{
    SECTION("no RSDP anywhere")
    {
        FakeMemory mem;
        mem.region(0x80000, 0x20000);
        mem.region(kl::acpi::bios_area_begin, 0x20000);
        auto access = mem.access();
        auto info = kl::acpi::locate_rsdp(access, 0, ebda);
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "no valid RSDP"));
    }
    SECTION("no MADT in the RSDT")
    {
        Machine m;
        m.mem.put(rsdt_at, root("RSDT", { facp_at }, 4));
        auto info = m.read();
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "no 'APIC' table"));
    }
    SECTION("the RSDT points into unreadable memory")
    {
        Machine m;
        m.mem.put(0xF5A80, rsdp(0, 0x12345000, 0));
        auto info = m.read();
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "not in readable memory"));
    }
    SECTION("an RSDT with a bad checksum")
    {
        Machine m;
        m.mem.byte(rsdt_at + 36) ^= 0x01;
        auto info = m.read();
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "RSDT"));
        CHECK(has(info.error().message(), "checksum"));
    }
    SECTION("a MADT without enabled processors")
    {
        Machine m({ lapic_entry(0, 0, 0), ioapic_entry() });
        auto info = m.read();
        REQUIRE(info.is_error());
        CHECK(has(info.error().message(), "no enabled processor"));
    }
}

TEST_CASE("ACPI checksum is the 8-bit sum", "[smp]")
{
    const u8 bytes[] = { 0x10, 0xF0, 0x01, 0xFF };
    CHECK(kl::acpi::checksum(bytes, 4) == 0);
    CHECK(kl::acpi::checksum(bytes, 3) == 1);
}

TEST_CASE("ACPI: the RSDP the UEFI loader hands over is used when valid", "[smp]")
{
    Machine m;
    m.mem.region(0x3F000000, 0x1000);  // where UEFI firmware keeps its copy
    m.mem.put(0x3F000040, rsdp(2, static_cast<u32>(rsdt_at), 0));
    auto access = m.mem.access();
    auto found = kl::acpi::locate_rsdp(access, 0x3F000040, ebda);
    REQUIRE_FALSE(found.is_error());
    CHECK(found.value() == 0x3F000040);
    REQUIRE_FALSE(kl::acpi::read_madt(access, found.value()).is_error());

    SECTION("a damaged one falls back to the BIOS areas")
    {
        m.mem.byte(0x3F000040 + 3) ^= 0x20;
        auto fallback = kl::acpi::locate_rsdp(access, 0x3F000040, ebda);
        REQUIRE_FALSE(fallback.is_error());
        CHECK(fallback.value() == 0xF5A80);
    }
    SECTION("a damaged one with nothing in the BIOS areas is named")
    {
        m.mem.byte(0x3F000040 + 3) ^= 0x20;
        m.mem.byte(0xF5A80) = 0;
        auto none = kl::acpi::locate_rsdp(access, 0x3F000040, ebda);
        REQUIRE(none.is_error());
        CHECK(has(none.error().message(), "handed over (0x3f000040) is not valid"));
    }
}

namespace {

// A FADT of `length` bytes (>= 116) with PM_TMR_BLK, PM_TMR_LEN, the flags and, from 220
// bytes on, X_PM_TMR_BLK as an I/O address.
std::vector<u8> fadt(u32 length, u32 pm_port, u8 pm_length, u32 flags, u64 x_port)
{
    std::vector<u8> body(length - 36, 0);
    set_le(body, 76 - 36, pm_port, 4);
    body[91 - 36] = pm_length;
    set_le(body, 112 - 36, flags, 4);
    if (length >= 220 && x_port) {
        body[208 - 36] = 1;
        body[209 - 36] = 32;
        set_le(body, 212 - 36, x_port, 8);
    }
    return sdt("FACP", body);
}

std::vector<u8> hpet_table(u8 space, u64 address)
{
    std::vector<u8> body(20, 0);
    set_le(body, 0, 0x8086A201, 4);
    body[4] = space;
    body[5] = 64;
    set_le(body, 8, address, 8);
    return sdt("HPET", body);
}

}

TEST_CASE("ACPI: the PM timer port and width come from the FADT", "[smp][time]")
{
    Machine m;
    auto access = m.mem.access();
    SECTION("PM_TMR_BLK, 24 bits")
    {
        m.mem.put(facp_at, fadt(116, 0x608, 4, 0, 0));
        auto timer = kl::acpi::read_pm_timer(access, 0xF5A80);
        REQUIRE_FALSE(timer.is_error());
        CHECK(timer.value().port == 0x608);
        CHECK_FALSE(timer.value().wide);
    }
    SECTION("X_PM_TMR_BLK wins, TMR_VAL_EXT makes it 32 bits")
    {
        m.mem.put(facp_at, fadt(244, 0x608, 4, 1u << 8, 0xB008));
        auto timer = kl::acpi::read_pm_timer(access, 0xF5A80);
        REQUIRE_FALSE(timer.is_error());
        CHECK(timer.value().port == 0xB008);
        CHECK(timer.value().wide);
    }
    SECTION("hardware-reduced ACPI has none")
    {
        m.mem.put(facp_at, fadt(244, 0x608, 4, 1u << 20, 0));
        auto timer = kl::acpi::read_pm_timer(access, 0xF5A80);
        REQUIRE(timer.is_error());
        CHECK(has(timer.error().message(), "hardware-reduced"));
    }
    SECTION("no port, or a PM_TMR_LEN other than 4")
    {
        m.mem.put(facp_at, fadt(116, 0x608, 0, 0, 0));
        auto timer = kl::acpi::read_pm_timer(access, 0xF5A80);
        REQUIRE(timer.is_error());
        CHECK(has(timer.error().message(), "no PM timer port"));
    }
    SECTION("a FADT too short for its flags")
    {
        m.mem.put(facp_at, sdt("FACP", std::vector<u8>(40, 0)));
        auto timer = kl::acpi::read_pm_timer(access, 0xF5A80);
        REQUIRE(timer.is_error());
        CHECK(has(timer.error().message(), "too short"));
    }
}

TEST_CASE("ACPI: the HPET's registers come from its table", "[smp][time]")
{
    Machine m;
    constexpr u64 hpet_at = tables_base + 0x6000;
    auto access = m.mem.access();
    m.mem.put(rsdt_at, root("RSDT", { facp_at, madt_at, hpet_at }, 4));
    SECTION("memory-mapped at 0xfed00000")
    {
        m.mem.put(hpet_at, hpet_table(0, 0xFED00000));
        auto hpet = kl::acpi::read_hpet_address(access, 0xF5A80);
        REQUIRE_FALSE(hpet.is_error());
        CHECK(hpet.value() == 0xFED00000);
    }
    SECTION("an I/O space address is refused")
    {
        m.mem.put(hpet_at, hpet_table(1, 0xFED00000));
        auto hpet = kl::acpi::read_hpet_address(access, 0xF5A80);
        REQUIRE(hpet.is_error());
        CHECK(has(hpet.error().message(), "not a memory-mapped register block"));
    }
    SECTION("no HPET table")
    {
        m.mem.put(rsdt_at, root("RSDT", { facp_at, madt_at }, 4));
        auto hpet = kl::acpi::read_hpet_address(access, 0xF5A80);
        REQUIRE(hpet.is_error());
        CHECK(has(hpet.error().message(), "no 'HPET' table"));
    }
}

namespace {

std::vector<u8> mcfg_body(const std::vector<kl::acpi::EcamWindow>& windows)
{
    std::vector<u8> v(8, 0);  // reserved
    for (const auto& w : windows) {
        le(v, w.base, 8);
        le(v, w.segment, 2);
        v.push_back(w.start_bus);
        v.push_back(w.end_bus);
        le(v, 0, 4);
    }
    return v;
}

}

TEST_CASE("ACPI: the MCFG's ECAM windows, found through the RSDT", "[smp][pci]")
{
    Machine m;
    constexpr u64 mcfg_at = tables_base + 0x6000;
    m.mem.put(mcfg_at, sdt("MCFG", mcfg_body({ { 0xB0000000, 0, 0, 255 } })));
    m.mem.put(rsdt_at, root("RSDT", { facp_at, madt_at, mcfg_at }, 4));
    auto access = m.mem.access();
    auto mcfg = kl::acpi::read_mcfg(access, 0xF5A80);
    REQUIRE_FALSE(mcfg.is_error());
    REQUIRE(mcfg.value().count == 1);
    CHECK(mcfg.value().windows[0].base == 0xB0000000);
    CHECK(mcfg.value().windows[0].segment == 0);
    CHECK(mcfg.value().windows[0].end_bus == 255);

    Machine without;  // QEMU's "pc": no MCFG at all
    auto none_access = without.mem.access();
    CHECK(kl::acpi::read_mcfg(none_access, 0xF5A80).is_error());
}

TEST_CASE("ACPI: damaged MCFG tables are refused", "[smp][pci]")
{
    auto parse = [](std::vector<u8> table) {
        return kl::acpi::parse_mcfg(table.data(), static_cast<u32>(table.size()));
    };
    CHECK(parse(sdt("MCFG", mcfg_body({}))).value().count == 0);
    CHECK(parse(sdt("MCFG", mcfg_body({ { 0xE0000000, 0, 0, 63 }, { 0xF0000000, 1, 0, 15 } }))).value().count == 2);
    CHECK(parse(sdt("MCFG", mcfg_body({ { 0xE0000000, 0, 10, 9 } }))).is_error());
    CHECK(parse(sdt("MCFG", mcfg_body({ { 0xE0001000, 0, 0, 9 } }))).is_error());
    auto cut = sdt("MCFG", mcfg_body({ { 0xE0000000, 0, 0, 9 } }));
    cut.resize(cut.size() - 3);
    CHECK(parse(cut).is_error());
    CHECK(parse(std::vector<u8>(20, 0)).is_error());
}
