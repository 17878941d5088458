// lwIP on one network card (see net.h), and the platform functions lwIP's port needs
// (kernel_lib/net/lwip/arch/cc.h): time, randomness, diagnostics, assertions.
#include "kernel_lib/net/net.h"

#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/libc/format.h"
#include "kernel_lib/net/nic.h"
#include "kernel_lib/time/tsc.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

namespace kl::net {

namespace {

constexpr u32 receive_budget = 64;  // frames taken per poll, so transmitting gets its turn

Nic* g_nic = nullptr;
struct netif g_netif;
bool g_dhcp = false;

// lwIP -> card: one frame, gathered from its pbuf chain.
err_t link_output(struct netif*, struct pbuf* p)
{
    u8 frame[max_frame_bytes];
    if (p->tot_len > sizeof(frame))
        return ERR_BUF;
    const u16 length = pbuf_copy_partial(p, frame, p->tot_len, 0);
    return g_nic->transmit(frame, length) ? ERR_OK : ERR_MEM;
}

err_t netif_setup(struct netif* n)
{
    n->name[0] = 'e';
    n->name[1] = 'n';
    n->mtu = 1500;
    n->hwaddr_len = 6;
    memcpy(n->hwaddr, g_nic->mac(), 6);
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    n->output = etharp_output;
    n->linkoutput = link_output;
    return ERR_OK;
}

// card -> lwIP: the frame is copied into a pbuf lwIP owns from here on.
void deliver(void*, const u8* frame, usize length)
{
    struct pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16>(length), PBUF_POOL);
    if (!p)
        return;  // out of memory: dropped, as a busy card would
    pbuf_take(p, frame, static_cast<u16>(length));
    if (g_netif.input(p, &g_netif) != ERR_OK)
        pbuf_free(p);
}

void format_ip(char* out, usize size, const ip4_addr_t* a)
{
    const u32 v = lwip_ntohl(ip4_addr_get_u32(a));
    snprintf(out, size, "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF);
}

u32 prefix_of(const ip4_addr_t* mask)
{
    return static_cast<u32>(__builtin_popcount(ip4_addr_get_u32(mask)));
}

}

ErrorOr<void> init(const Config& config)
{
    g_nic = TRY(find_nic());
    const u8* mac = g_nic->mac();
    print("net: %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, link %s\n", g_nic->name(), mac[0], mac[1], mac[2], mac[3],
        mac[4], mac[5], g_nic->link_up() ? "up" : "down (yet)");
    lwip_init();
    ip4_addr_t address, netmask, gateway;
    IP4_ADDR(&address, config.address[0], config.address[1], config.address[2], config.address[3]);
    const u32 mask = config.prefix_length ? ~0u << (32 - config.prefix_length) : 0;
    ip4_addr_set_u32(&netmask, lwip_htonl(mask));
    IP4_ADDR(&gateway, config.gateway[0], config.gateway[1], config.gateway[2], config.gateway[3]);
    g_dhcp = config.dhcp;
    if (g_dhcp) {
        ip4_addr_set_zero(&address);
        ip4_addr_set_zero(&netmask);
        ip4_addr_set_zero(&gateway);
    }
    if (!netif_add(&g_netif, &address, &netmask, &gateway, nullptr, netif_setup, ethernet_input))
        return Error::make(ErrorCode::NetSetup, "lwIP refused the network interface");
    netif_set_hostname(&g_netif, config.hostname);
    netif_set_default(&g_netif);
    netif_set_up(&g_netif);
    netif_set_link_up(&g_netif);
    if (g_dhcp && dhcp_start(&g_netif) != ERR_OK)
        return Error::make(ErrorCode::NetSetup, "lwIP could not start its DHCP client (out of memory?)");
    return {};
}

void poll()
{
    if (!g_nic)
        return;
    g_nic->receive(deliver, nullptr, receive_budget);
    sys_check_timeouts();
}

bool has_address()
{
    if (!g_nic)
        return false;
    return g_dhcp ? dhcp_supplied_address(&g_netif) : !ip4_addr_isany_val(*netif_ip4_addr(&g_netif));
}

void address_text(char* out, usize size) { format_ip(out, size, netif_ip4_addr(&g_netif)); }

void describe_address(char* out, usize size)
{
    char address[16], gateway[16];
    format_ip(address, sizeof(address), netif_ip4_addr(&g_netif));
    format_ip(gateway, sizeof(gateway), netif_ip4_gw(&g_netif));
    snprintf(out, size, "%s/%u gateway %s (%s)", address, prefix_of(netif_ip4_netmask(&g_netif)), gateway,
        g_dhcp ? "DHCP" : "static");
}

const char* card_name() { return g_nic ? g_nic->name() : "none"; }

}

// ---- lwIP's port (arch/cc.h, NO_SYS) -----------------------------------------------------

extern "C" {

u32_t sys_now(void)
{
    return static_cast<u32_t>(kl::time::rdtsc() / (kl::time::tsc_hz() / 1000));
}

uint32_t bareflow_lwip_random(void)
{
    // xorshift64 seeded from the TSC: TCP initial sequence numbers, ports, DHCP's xid.
    static u64 state = 0;
    if (state == 0)
        state = kl::time::rdtsc() | 1;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<uint32_t>(state >> 32);
}

void bareflow_lwip_diag(const char* format, ...)
{
    va_list args;
    va_start(args, format);
    kl::vprint(format, args);
    va_end(args);
}

void bareflow_lwip_assert(const char* message, const char* file, int line)
{
    kl::panic_with(kl::ErrorCode::InternalVerify, "lwIP assertion failed: %s (%s:%d)", message, file, line);
}

}
