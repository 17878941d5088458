// A virtio split virtqueue in the legacy layout (virtio 1.0, §2.6 and §2.6.2 "Legacy
// Interfaces"), driver side: the descriptor table, the available ring the driver fills and
// the used ring the device returns buffers on, in one block whose used ring starts on a
// 4096-byte boundary.
//
// Buffers are identified by their descriptor's index (a "slot", one descriptor per buffer,
// never chained): the driver offers a slot, the device hands it back with the length it
// wrote. Shared code: the host test plays the device on the same memory.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::net {

struct VirtqDescriptor {
    u64 address;
    u32 length;
    u16 flags;
    u16 next;
};
static_assert(sizeof(VirtqDescriptor) == 16);

struct VirtqUsedElement {
    u32 id;
    u32 length;
};
static_assert(sizeof(VirtqUsedElement) == 8);

constexpr u16 virtq_descriptor_write = 2;      // the device writes the buffer
constexpr u16 virtq_avail_no_interrupt = 1;    // the driver polls: no interrupts, please
constexpr usize virtq_legacy_align = 4096;

struct VirtqueueLayout {
    usize avail_offset;  // flags u16, idx u16, ring[size] u16, used_event u16
    usize used_offset;   // flags u16, idx u16, ring[size] VirtqUsedElement, avail_event u16
    usize bytes;
};

VirtqueueLayout legacy_virtqueue_layout(u16 size);

class Virtqueue {
public:
    // `memory` holds layout.bytes, zeroed, aligned to 4096; the device is told its address.
    void init(void* memory, u16 size);
    u16 size() const { return m_size; }

    // Offers slot's buffer to the device.
    void offer(u16 slot, u64 address, u32 length, bool device_writes);
    // The next buffer the device is done with: its slot and the bytes it wrote.
    bool take_used(u16& slot, u32& length);

private:
    VirtqDescriptor* m_descriptors = nullptr;
    volatile u16* m_avail = nullptr;   // [0] flags, [1] idx, [2..] ring
    volatile u16* m_used_head = nullptr;  // [0] flags, [1] idx
    volatile VirtqUsedElement* m_used_ring = nullptr;
    u16 m_size = 0;
    u16 m_avail_index = 0;
    u16 m_last_used = 0;
};

}
