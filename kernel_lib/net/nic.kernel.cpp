// Finding and starting a network card (see nic.h), and what the drivers share.
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/libc/format.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/net/drivers.h"
#include "kernel_lib/time/tsc.h"

namespace kl::net {

namespace {

struct Driver {
    u16 vendor;
    u16 device;
    const char* model;
    ErrorOr<Nic*> (*start)(pci::ConfigSpace&, const pci::Device&, const char*);
};

// The cards the drivers know. The Intel ones share the 8254x programming model (legacy
// descriptors, the same registers); QEMU offers the 82540EM as "e1000" and the 82574L as
// "e1000e". virtio-net is the transitional device (legacy I/O interface).
constexpr Driver drivers[] = {
    { 0x1AF4, 0x1000, "virtio-net", start_virtio_net },
    { 0x8086, 0x100E, "e1000 (82540EM)", start_e1000 },
    { 0x8086, 0x100F, "e1000 (82545EM)", start_e1000 },
    { 0x8086, 0x1011, "e1000 (82545EM fiber)", start_e1000 },
    { 0x8086, 0x1026, "e1000 (82545GM)", start_e1000 },
    { 0x8086, 0x1076, "e1000 (82541GI)", start_e1000 },
    { 0x8086, 0x107C, "e1000 (82541PI)", start_e1000 },
    { 0x8086, 0x10D3, "e1000e (82574L)", start_e1000 },
    { 0x8086, 0x10F6, "e1000e (82574L)", start_e1000 },
    { 0x8086, 0x150C, "e1000e (82583V)", start_e1000 },
};

struct Search {
    pci::Device found[32];
    u32 count = 0;
};

void collect(void* context, const pci::Device& d)
{
    auto* search = static_cast<Search*>(context);
    if (d.class_code == 0x02 && search->count < 32)  // network controllers only
        search->found[search->count++] = d;
}

}

bool wait_until(bool (*done)(void* context), void* context, u32 timeout_ms)
{
    const u64 deadline = time::rdtsc() + time::tsc_hz() / 1000 * timeout_ms;
    while (!done(context)) {
        if (time::rdtsc() > deadline)
            return false;
        x86::pause();
    }
    return true;
}

ErrorOr<u8*> dma_allocate(usize bytes, usize alignment, const char* what)
{
    void* memory = TRY(mem::allocate(bytes, alignment, what));
    memset(memory, 0, bytes);
    return static_cast<u8*>(memory);
}

ErrorOr<Nic*> find_nic()
{
    pci::ConfigSpace& config = pci::config_space();
    Search search;
    const u32 functions = pci::enumerate(config, collect, &search);
    print("pci: %u functions through %s, %u network controller%s\n", functions, config.name(), search.count,
        search.count == 1 ? "" : "s");
    char seen[160] = "none";
    usize used = 0;
    for (u32 i = 0; i < search.count; ++i) {
        const pci::Device& d = search.found[i];
        if (used < sizeof(seen))
            used += static_cast<usize>(
                snprintf(seen + used, sizeof(seen) - used, "%s%04x:%04x", i ? ", " : "", d.vendor, d.device_id));
        for (const Driver& driver : drivers) {
            if (driver.vendor != d.vendor || driver.device != d.device_id)
                continue;
            print("net: %s at %02x:%02x.%u\n", driver.model, d.address.bus, d.address.device, d.address.function);
            return driver.start(config, d, driver.model);
        }
    }
    return Error::make(ErrorCode::NetDevice,
        "no supported network card (network controllers seen: %s; supported: virtio-net, Intel e1000/e1000e)", seen);
}

}
