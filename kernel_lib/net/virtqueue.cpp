// The legacy split virtqueue, driver side (see virtqueue.h).
#include "kernel_lib/net/virtqueue.h"

namespace kl::net {

VirtqueueLayout legacy_virtqueue_layout(u16 size)
{
    VirtqueueLayout layout;
    layout.avail_offset = sizeof(VirtqDescriptor) * size;
    const usize avail_end = layout.avail_offset + 2 * (3 + static_cast<usize>(size));
    layout.used_offset = align_up(avail_end, virtq_legacy_align);
    layout.bytes = layout.used_offset + 2 * 3 + sizeof(VirtqUsedElement) * size;
    return layout;
}

void Virtqueue::init(void* memory, u16 size)
{
    const VirtqueueLayout layout = legacy_virtqueue_layout(size);
    u8* base = static_cast<u8*>(memory);
    m_descriptors = reinterpret_cast<VirtqDescriptor*>(base);
    m_avail = reinterpret_cast<volatile u16*>(base + layout.avail_offset);
    m_used_head = reinterpret_cast<volatile u16*>(base + layout.used_offset);
    m_used_ring = reinterpret_cast<volatile VirtqUsedElement*>(base + layout.used_offset + 4);
    m_size = size;
    m_avail_index = m_last_used = 0;
    m_avail[0] = virtq_avail_no_interrupt;
}

void Virtqueue::offer(u16 slot, u64 address, u32 length, bool device_writes)
{
    m_descriptors[slot] = { address, length, static_cast<u16>(device_writes ? virtq_descriptor_write : 0), 0 };
    m_avail[2 + m_avail_index % m_size] = slot;
    ++m_avail_index;
    // The descriptor and the ring entry must be visible before the index that publishes them.
    __atomic_store_n(&m_avail[1], m_avail_index, __ATOMIC_RELEASE);
}

bool Virtqueue::take_used(u16& slot, u32& length)
{
    const u16 used_index = __atomic_load_n(&m_used_head[1], __ATOMIC_ACQUIRE);
    if (used_index == m_last_used)
        return false;
    const volatile VirtqUsedElement& e = m_used_ring[m_last_used % m_size];
    slot = static_cast<u16>(e.id);
    length = e.length;
    ++m_last_used;
    return slot < m_size;
}

}
