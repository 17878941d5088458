// The network as the rest of the kernel sees it: one card (nic.h) under lwIP (IPv4, ARP,
// ICMP echo, DHCP, TCP; raw API, NO_SYS=1), brought up once and then moved along by poll().
//
// There are no interrupts and no threads: poll() takes the frames the card received into
// lwIP, runs lwIP's timers and lets the TCP listener (tcp_listener.h) move its output. The
// serve loop calls it when idle and, through the HTTP server's pump, between tokens.
#pragma once

#include "kernel_lib/base/error.h"

namespace kl::net {

struct Config {
    bool dhcp = true;            // else the static address below
    u8 address[4] = {};
    u8 prefix_length = 24;
    u8 gateway[4] = {};          // 0.0.0.0: none
    const char* hostname = "bareflow";
};

// Finds and starts the card, starts lwIP on it, asks DHCP or sets the static address.
// NetDevice when there is no usable card.
ErrorOr<void> init(const Config& config);

// Receive, timers, transmit. Cheap when nothing happens.
void poll();

// Whether the interface has an address (DHCP bound, or static), and that address as text
// ("10.0.2.15"); also the netmask's prefix length and the gateway.
bool has_address();
void address_text(char* out, usize size);
void describe_address(char* out, usize size);  // "10.0.2.15/24 gateway 10.0.2.2 (DHCP)"
const char* card_name();

}
