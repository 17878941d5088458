// Nic: an Ethernet card as the network stack uses it, polled (no interrupts): frames in,
// frames out, the MAC address and the link.
//
// find_nic() (kernel only, nic.kernel.cpp) walks the PCI functions and starts the first
// card one of the drivers knows: virtio-net (virtio_net.kernel.cpp, QEMU's fast path) and
// Intel's e1000 family (e1000.kernel.cpp: QEMU's default e1000, its e1000e, many real PCs).
#pragma once

#include "kernel_lib/base/error.h"

namespace kl::net {

constexpr usize max_frame_bytes = 1514;  // Ethernet header + 1500 bytes, without the FCS

class Nic {
public:
    virtual const char* name() const = 0;      // "virtio-net", "e1000 (82540EM)"
    virtual const u8* mac() const = 0;         // 6 bytes
    virtual bool link_up() = 0;
    // Queues one frame (copied; at most max_frame_bytes). False when the transmit ring is
    // full for now.
    virtual bool transmit(const u8* frame, usize length) = 0;
    // Hands every frame received since the last call (at most `budget`) to `deliver`, whose
    // bytes are valid only during the call; returns how many.
    using Deliver = void (*)(void* context, const u8* frame, usize length);
    virtual u32 receive(Deliver deliver, void* context, u32 budget) = 0;

protected:
    ~Nic() = default;
};

// Kernel only: the first supported card, started. NetDevice errors: no card a driver here
// knows (the network controllers seen are named), or one that did not come up.
ErrorOr<Nic*> find_nic();

}
