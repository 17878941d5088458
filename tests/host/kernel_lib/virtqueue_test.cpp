// The legacy virtqueue (kernel_lib/net/virtqueue.h): its layout for the queue sizes QEMU
// uses, and a round of buffers with the test playing the device on the same memory.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <string.h>

#include <vector>

#include "kernel_lib/net/virtqueue.h"

TEST_CASE("virtqueue: the legacy layout puts the used ring on a page boundary", "[virtio]")
{
    auto l = kl::net::legacy_virtqueue_layout(256);
    CHECK(l.avail_offset == 4096);
    CHECK(l.used_offset == 8192);
    CHECK(l.bytes == 8192 + 6 + 8 * 256);
    auto small = kl::net::legacy_virtqueue_layout(16);
    CHECK(small.avail_offset == 256);
    CHECK(small.used_offset == 4096);
}

TEST_CASE("virtqueue: buffers go out on the available ring and come back on the used ring", "[virtio]")
{
    const u16 size = 8;
    const auto layout = kl::net::legacy_virtqueue_layout(size);
    void* memory = aligned_alloc(4096, kl::align_up<usize>(layout.bytes, 4096));
    memset(memory, 0, layout.bytes);
    kl::net::Virtqueue q;
    q.init(memory, size);
    auto* base = static_cast<u8*>(memory);
    auto* descriptors = reinterpret_cast<kl::net::VirtqDescriptor*>(base);
    auto* avail = reinterpret_cast<u16*>(base + layout.avail_offset);
    auto* used = reinterpret_cast<u16*>(base + layout.used_offset);
    auto* used_ring = reinterpret_cast<kl::net::VirtqUsedElement*>(base + layout.used_offset + 4);
    CHECK(avail[0] == kl::net::virtq_avail_no_interrupt);

    u16 slot;
    u32 length;
    CHECK_FALSE(q.take_used(slot, length));
    // More rounds than the ring has entries, so the indices wrap.
    u16 device_seen = 0, device_used = 0;
    for (int round = 0; round < 3 * size; ++round) {
        const u16 s = static_cast<u16>(round % size);
        q.offer(s, 0x1000u * (s + 1), 1536, true);
        REQUIRE(avail[1] == static_cast<u16>(device_seen + 1));
        const u16 offered = avail[2 + device_seen % size];
        CHECK(offered == s);
        CHECK(descriptors[offered].address == 0x1000u * (s + 1));
        CHECK(descriptors[offered].flags == kl::net::virtq_descriptor_write);
        ++device_seen;
        used_ring[device_used % size] = { offered, 60u + round };
        used[1] = ++device_used;
        REQUIRE(q.take_used(slot, length));
        CHECK(slot == s);
        CHECK(length == 60u + round);
        CHECK_FALSE(q.take_used(slot, length));
    }
    // A device that names a descriptor that does not exist is not believed.
    used_ring[device_used % size] = { 99, 10 };
    used[1] = ++device_used;
    CHECK_FALSE(q.take_used(slot, length));
    free(memory);
}
