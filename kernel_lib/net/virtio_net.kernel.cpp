// virtio-net, the legacy (transitional) interface: I/O port registers in BAR 0, two
// virtqueues (0 receive, 1 transmit), a 10-byte virtio_net_hdr before every frame (virtio
// 1.0 §5.1 and §4.1.4.8 "Legacy Interfaces: A Note on PCI Device Layout"). Only the MAC
// feature is negotiated: no offloads, no merged buffers, no control queue. Polled: the
// rings ask the device for no interrupts.
#include <string.h>

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/net/drivers.h"
#include "kernel_lib/net/virtqueue.h"

namespace kl::net {

namespace {

// Legacy register offsets in the I/O BAR.
constexpr u16 reg_device_features = 0x00;
constexpr u16 reg_driver_features = 0x04;
constexpr u16 reg_queue_pfn = 0x08;
constexpr u16 reg_queue_size = 0x0C;
constexpr u16 reg_queue_select = 0x0E;
constexpr u16 reg_queue_notify = 0x10;
constexpr u16 reg_status = 0x12;
constexpr u16 reg_mac = 0x14;  // device config without MSI-X

constexpr u8 status_acknowledge = 1;
constexpr u8 status_driver = 2;
constexpr u8 status_driver_ok = 4;
constexpr u8 status_failed = 0x80;
constexpr u32 feature_mac = 1u << 5;

constexpr u16 receive_queue = 0;
constexpr u16 transmit_queue = 1;
constexpr usize header_bytes = 10;
constexpr usize buffer_bytes = 2048;
constexpr u16 buffers_per_queue = 64;

class VirtioNet final : public Nic {
public:
    const char* name() const override { return "virtio-net"; }
    const u8* mac() const override { return m_mac; }
    bool link_up() override { return true; }
    bool transmit(const u8* frame, usize length) override;
    u32 receive(Deliver deliver, void* context, u32 budget) override;

    ErrorOr<void> start(u16 io_base);

private:
    struct Queue {
        Virtqueue ring;
        u8* buffers = nullptr;
        u16 count = 0;
    };
    ErrorOr<void> setup_queue(u16 index, Queue& q);
    void notify(u16 queue) { x86::outw(static_cast<u16>(m_io + reg_queue_notify), queue); }
    u64 buffer_address(const Queue& q, u16 slot) const { return reinterpret_cast<u64>(q.buffers + slot * buffer_bytes); }

    u16 m_io = 0;
    u8 m_mac[6] = {};
    Queue m_rx;
    Queue m_tx;
    bool m_tx_busy[buffers_per_queue] = {};
    u16 m_tx_next = 0;
};

ErrorOr<void> VirtioNet::setup_queue(u16 index, Queue& q)
{
    x86::outw(static_cast<u16>(m_io + reg_queue_select), index);
    const u16 size = x86::inw(static_cast<u16>(m_io + reg_queue_size));
    if (size == 0 || (size & (size - 1)) != 0)
        return Error::make(ErrorCode::NetDevice, "virtio-net: queue %u has size %u (absent or not a power of two)",
            index, size);
    const VirtqueueLayout layout = legacy_virtqueue_layout(size);
    u8* memory = TRY(dma_allocate(align_up<usize>(layout.bytes, virtq_legacy_align), virtq_legacy_align,
        "the virtio-net rings"));
    q.ring.init(memory, size);
    q.count = size < buffers_per_queue ? size : buffers_per_queue;
    q.buffers = TRY(dma_allocate(q.count * buffer_bytes, 64, "the virtio-net buffers"));
    x86::outl(static_cast<u16>(m_io + reg_queue_pfn), static_cast<u32>(reinterpret_cast<u64>(memory) >> 12));
    return {};
}

ErrorOr<void> VirtioNet::start(u16 io_base)
{
    m_io = io_base;
    x86::outb(static_cast<u16>(m_io + reg_status), 0);  // reset
    x86::outb(static_cast<u16>(m_io + reg_status), status_acknowledge);
    x86::outb(static_cast<u16>(m_io + reg_status), status_acknowledge | status_driver);
    const u32 features = x86::inl(static_cast<u16>(m_io + reg_device_features));
    if (!(features & feature_mac)) {
        x86::outb(static_cast<u16>(m_io + reg_status), status_failed);
        return Error::make(ErrorCode::NetDevice, "virtio-net: the device offers no MAC address (features %#x)", features);
    }
    x86::outl(static_cast<u16>(m_io + reg_driver_features), feature_mac);
    auto queues = setup_queue(receive_queue, m_rx);
    if (!queues.is_error())
        queues = setup_queue(transmit_queue, m_tx);
    if (queues.is_error()) {
        x86::outb(static_cast<u16>(m_io + reg_status), status_failed);
        return queues.release_error();
    }
    for (u16 i = 0; i < 6; ++i)
        m_mac[i] = x86::inb(static_cast<u16>(m_io + reg_mac + i));
    x86::outb(static_cast<u16>(m_io + reg_status), status_acknowledge | status_driver | status_driver_ok);
    for (u16 slot = 0; slot < m_rx.count; ++slot)
        m_rx.ring.offer(slot, buffer_address(m_rx, slot), buffer_bytes, true);
    notify(receive_queue);
    return {};
}

bool VirtioNet::transmit(const u8* frame, usize length)
{
    u16 slot;
    u32 written;
    while (m_tx.ring.take_used(slot, written)) {
        if (slot < m_tx.count)
            m_tx_busy[slot] = false;
    }
    slot = m_tx_next;
    if (m_tx_busy[slot] || length > max_frame_bytes)
        return false;
    u8* buffer = m_tx.buffers + slot * buffer_bytes;
    memset(buffer, 0, header_bytes);  // no checksum offload, no segmentation
    memcpy(buffer + header_bytes, frame, length);
    m_tx_busy[slot] = true;
    m_tx_next = static_cast<u16>((slot + 1) % m_tx.count);
    m_tx.ring.offer(slot, buffer_address(m_tx, slot), static_cast<u32>(header_bytes + length), false);
    notify(transmit_queue);
    return true;
}

u32 VirtioNet::receive(Deliver deliver, void* context, u32 budget)
{
    u32 count = 0;
    u16 slot;
    u32 length;
    while (count < budget && m_rx.ring.take_used(slot, length)) {
        if (slot >= m_rx.count)
            continue;
        if (length > header_bytes && length <= buffer_bytes)
            deliver(context, m_rx.buffers + slot * buffer_bytes + header_bytes, length - header_bytes);
        m_rx.ring.offer(slot, buffer_address(m_rx, slot), buffer_bytes, true);
        ++count;
    }
    if (count)
        notify(receive_queue);
    return count;
}

}

ErrorOr<Nic*> start_virtio_net(pci::ConfigSpace& config, const pci::Device& device, const char*)
{
    const pci::Bar bar = pci::read_bar(config, device.address, 0);
    if (bar.kind != pci::Bar::Kind::Io)
        return Error::make(ErrorCode::NetDevice,
            "virtio-net: BAR 0 is not an I/O port range (a modern-only device; use a transitional one, "
            "QEMU's virtio-net-pci on the pc machine)");
    pci::enable(config, device.address, true, false);
    auto* nic = new VirtioNet();
    auto started = nic->start(static_cast<u16>(bar.address));
    if (started.is_error()) {
        delete nic;
        return started.release_error();
    }
    return static_cast<Nic*>(nic);
}

}
