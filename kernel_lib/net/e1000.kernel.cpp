// Intel 8254x / 82574 ("e1000", "e1000e"): memory-mapped registers in BAR 0, one receive
// and one transmit ring of legacy descriptors (Intel's 8254x Software Developer's Manual,
// §3.2, §3.3, §14 "General Initialization"; the 82574 datasheet keeps the legacy formats).
// Polled: every interrupt is masked. Checksums are computed by lwIP, so the descriptors
// ask for no offload.
#include <string.h>

#include "kernel_lib/mem/paging.h"
#include "kernel_lib/net/drivers.h"

namespace kl::net {

namespace {

// Registers (byte offsets).
constexpr u32 reg_ctrl = 0x0000;
constexpr u32 reg_status = 0x0008;
constexpr u32 reg_eerd = 0x0014;
constexpr u32 reg_icr = 0x00C0;
constexpr u32 reg_imc = 0x00D8;
constexpr u32 reg_rctl = 0x0100;
constexpr u32 reg_tctl = 0x0400;
constexpr u32 reg_tipg = 0x0410;
constexpr u32 reg_rdbal = 0x2800;
constexpr u32 reg_rdbah = 0x2804;
constexpr u32 reg_rdlen = 0x2808;
constexpr u32 reg_rdh = 0x2810;
constexpr u32 reg_rdt = 0x2818;
constexpr u32 reg_tdbal = 0x3800;
constexpr u32 reg_tdbah = 0x3804;
constexpr u32 reg_tdlen = 0x3808;
constexpr u32 reg_tdh = 0x3810;
constexpr u32 reg_tdt = 0x3818;
constexpr u32 reg_mta = 0x5200;  // 128 multicast table entries
constexpr u32 reg_ral0 = 0x5400;
constexpr u32 reg_rah0 = 0x5404;

constexpr u32 ctrl_asde = 1u << 5;
constexpr u32 ctrl_slu = 1u << 6;
constexpr u32 ctrl_reset = 1u << 26;
constexpr u32 ctrl_phy_reset = 1u << 31;
constexpr u32 status_link_up = 1u << 1;
constexpr u32 rctl_enable = 1u << 1;
constexpr u32 rctl_broadcast = 1u << 15;
constexpr u32 rctl_strip_crc = 1u << 26;  // buffer size 2048: BSIZE 00, BSEX 0
constexpr u32 tctl_enable = 1u << 1;
constexpr u32 tctl_pad_short = 1u << 3;
constexpr u32 tctl_collision_threshold = 0x0Fu << 4;
constexpr u32 tctl_collision_distance = 0x40u << 12;  // full duplex
constexpr u32 tipg_copper = 10 | (8 << 10) | (6 << 20);
constexpr u32 rah_valid = 1u << 31;

constexpr u8 descriptor_done = 1 << 0;
constexpr u8 rx_end_of_packet = 1 << 1;
constexpr u8 tx_end_of_packet = 1 << 0;
constexpr u8 tx_insert_fcs = 1 << 1;
constexpr u8 tx_report_status = 1 << 3;

constexpr u32 ring_entries = 64;  // a multiple of 8: ring lengths are multiples of 128 bytes
constexpr usize buffer_bytes = 2048;

struct RxDescriptor {
    u64 address;
    u16 length;
    u16 checksum;
    u8 status;
    u8 errors;
    u16 special;
};
static_assert(sizeof(RxDescriptor) == 16);

struct TxDescriptor {
    u64 address;
    u16 length;
    u8 checksum_offset;
    u8 command;
    u8 status;
    u8 checksum_start;
    u16 special;
};
static_assert(sizeof(TxDescriptor) == 16);

class E1000 final : public Nic {
public:
    explicit E1000(const char* model) : m_model(model) {}
    const char* name() const override { return m_model; }
    const u8* mac() const override { return m_mac; }
    bool link_up() override { return read(reg_status) & status_link_up; }
    bool transmit(const u8* frame, usize length) override;
    u32 receive(Deliver deliver, void* context, u32 budget) override;

    ErrorOr<void> start(u64 registers, bool e1000e);

private:
    u32 read(u32 reg) const { return *reinterpret_cast<volatile u32*>(m_regs + reg); }
    void write(u32 reg, u32 value) { *reinterpret_cast<volatile u32*>(m_regs + reg) = value; }
    ErrorOr<void> reset();
    bool read_mac(bool e1000e);
    u16 read_eeprom(u8 word, bool e1000e);
    ErrorOr<void> setup_rings();

    const char* m_model;
    u64 m_regs = 0;
    u8 m_mac[6] = {};
    volatile RxDescriptor* m_rx = nullptr;
    volatile TxDescriptor* m_tx = nullptr;
    u8* m_rx_buffers = nullptr;
    u8* m_tx_buffers = nullptr;
    u32 m_rx_next = 0;
    u32 m_tx_next = 0;
};

ErrorOr<void> E1000::reset()
{
    write(reg_imc, ~0u);
    write(reg_ctrl, read(reg_ctrl) | ctrl_reset);
    auto reset_done = [](void* self) { return !(static_cast<E1000*>(self)->read(reg_ctrl) & ctrl_reset); };
    if (!wait_until(reset_done, this, 100))
        return Error::make(ErrorCode::NetDevice, "%s: the reset bit (CTRL.RST) did not clear within 100 ms", m_model);
    write(reg_imc, ~0u);  // the reset unmasked nothing, but be sure
    (void)read(reg_icr);
    write(reg_ctrl, (read(reg_ctrl) | ctrl_slu | ctrl_asde) & ~ctrl_phy_reset);
    return {};
}

// The EEPROM read register: the 8254x takes the word address at bit 8 and sets "done" in
// bit 4; the 82574 takes it at bit 2 and sets bit 1.
u16 E1000::read_eeprom(u8 word, bool e1000e)
{
    const u32 shift = e1000e ? 2 : 8;
    const u32 done = e1000e ? 1u << 1 : 1u << 4;
    write(reg_eerd, 1u | static_cast<u32>(word) << shift);
    for (u32 i = 0; i < 100000; ++i) {
        const u32 value = read(reg_eerd);
        if (value & done)
            return static_cast<u16>(value >> 16);
    }
    return 0;
}

bool E1000::read_mac(bool e1000e)
{
    const u32 low = read(reg_ral0), high = read(reg_rah0);
    if ((high & rah_valid) && (low || (high & 0xFFFF))) {
        for (u32 i = 0; i < 4; ++i)
            m_mac[i] = static_cast<u8>(low >> (8 * i));
        m_mac[4] = static_cast<u8>(high);
        m_mac[5] = static_cast<u8>(high >> 8);
        return true;
    }
    for (u8 word = 0; word < 3; ++word) {
        const u16 value = read_eeprom(word, e1000e);
        m_mac[2 * word] = static_cast<u8>(value);
        m_mac[2 * word + 1] = static_cast<u8>(value >> 8);
    }
    // The receive filter needs the address in RAL0/RAH0 as well.
    write(reg_ral0, static_cast<u32>(m_mac[0]) | m_mac[1] << 8 | m_mac[2] << 16 | static_cast<u32>(m_mac[3]) << 24);
    write(reg_rah0, static_cast<u32>(m_mac[4]) | m_mac[5] << 8 | rah_valid);
    return m_mac[0] | m_mac[1] | m_mac[2] | m_mac[3] | m_mac[4] | m_mac[5];
}

ErrorOr<void> E1000::setup_rings()
{
    m_rx = reinterpret_cast<volatile RxDescriptor*>(
        TRY(dma_allocate(ring_entries * sizeof(RxDescriptor), 128, "the e1000 receive ring")));
    m_tx = reinterpret_cast<volatile TxDescriptor*>(
        TRY(dma_allocate(ring_entries * sizeof(TxDescriptor), 128, "the e1000 transmit ring")));
    m_rx_buffers = TRY(dma_allocate(ring_entries * buffer_bytes, 64, "the e1000 receive buffers"));
    m_tx_buffers = TRY(dma_allocate(ring_entries * buffer_bytes, 64, "the e1000 transmit buffers"));
    for (u32 i = 0; i < ring_entries; ++i) {
        m_rx[i].address = reinterpret_cast<u64>(m_rx_buffers + i * buffer_bytes);
        m_tx[i].address = reinterpret_cast<u64>(m_tx_buffers + i * buffer_bytes);
        m_tx[i].status = descriptor_done;  // free
    }
    const u64 rx = reinterpret_cast<u64>(m_rx), tx = reinterpret_cast<u64>(m_tx);
    write(reg_rdbal, static_cast<u32>(rx));
    write(reg_rdbah, static_cast<u32>(rx >> 32));
    write(reg_rdlen, ring_entries * sizeof(RxDescriptor));
    write(reg_rdh, 0);
    write(reg_rdt, ring_entries - 1);  // every descriptor but one belongs to the card
    write(reg_rctl, rctl_enable | rctl_broadcast | rctl_strip_crc);
    write(reg_tdbal, static_cast<u32>(tx));
    write(reg_tdbah, static_cast<u32>(tx >> 32));
    write(reg_tdlen, ring_entries * sizeof(TxDescriptor));
    write(reg_tdh, 0);
    write(reg_tdt, 0);
    write(reg_tipg, tipg_copper);
    write(reg_tctl, tctl_enable | tctl_pad_short | tctl_collision_threshold | tctl_collision_distance);
    return {};
}

ErrorOr<void> E1000::start(u64 registers, bool e1000e)
{
    m_regs = registers;
    TRY(reset());
    if (!read_mac(e1000e))
        return Error::make(ErrorCode::NetDevice, "%s: no MAC address in RAL0/RAH0 or the EEPROM", m_model);
    for (u32 i = 0; i < 128; ++i)
        write(reg_mta + 4 * i, 0);
    return setup_rings();
}

bool E1000::transmit(const u8* frame, usize length)
{
    volatile TxDescriptor& d = m_tx[m_tx_next];
    if (!(d.status & descriptor_done) || length > max_frame_bytes)
        return false;  // the card has not sent what this descriptor held yet
    memcpy(m_tx_buffers + m_tx_next * buffer_bytes, frame, length);
    d.length = static_cast<u16>(length);
    d.command = tx_end_of_packet | tx_insert_fcs | tx_report_status;
    d.status = 0;
    m_tx_next = (m_tx_next + 1) % ring_entries;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    write(reg_tdt, m_tx_next);
    return true;
}

u32 E1000::receive(Deliver deliver, void* context, u32 budget)
{
    u32 count = 0;
    while (count < budget) {
        volatile RxDescriptor& d = m_rx[m_rx_next];
        if (!(d.status & descriptor_done))
            break;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        // Frames that span descriptors cannot occur with 2 KiB buffers and no jumbo frames;
        // such a piece, or one with errors, is dropped.
        if ((d.status & rx_end_of_packet) && d.errors == 0 && d.length <= buffer_bytes)
            deliver(context, m_rx_buffers + m_rx_next * buffer_bytes, d.length);
        d.status = 0;
        write(reg_rdt, m_rx_next);  // the descriptor goes back to the card
        m_rx_next = (m_rx_next + 1) % ring_entries;
        ++count;
    }
    return count;
}

}

ErrorOr<Nic*> start_e1000(pci::ConfigSpace& config, const pci::Device& device, const char* model)
{
    const pci::Bar bar = pci::read_bar(config, device.address, 0);
    if (bar.kind != pci::Bar::Kind::Memory32 && bar.kind != pci::Bar::Kind::Memory64)
        return Error::make(ErrorCode::NetDevice, "%s: BAR 0 is not a memory range", model);
    if (bar.address + bar.size > mem::mapped_end() || bar.address == 0)
        return Error::make(ErrorCode::NetDevice, "%s: its registers at %#llx lie outside the identity map", model,
            static_cast<unsigned long long>(bar.address));
    pci::enable(config, device.address, false, true);
    auto* nic = new E1000(model);
    // The 82574 and later parts (IDs from 0x10D3 in the table) have its EEPROM register layout.
    auto started = nic->start(bar.address, device.device_id >= 0x10D3);
    if (started.is_error()) {
        delete nic;
        return started.release_error();
    }
    return static_cast<Nic*>(nic);
}

}
