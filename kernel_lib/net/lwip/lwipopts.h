/* lwIP's configuration for BareFlow: NO_SYS=1 and the raw API only, polled from one core.
 *
 * lwIP itself comes from Debian's `lwip` source package, fetched into build/ by
 * scripts/fetch-lwip and compiled with the kernel's flags (Makefile, "lwIP"); this file and
 * arch/cc.h are the only parts of the port that live in the repository. What is on: IPv4,
 * ARP, ICMP echo, the DHCP client (UDP for it) and TCP. What is off: IPv6, DNS, IGMP, raw
 * sockets, the sequential and socket APIs (they need threads), statistics.
 *
 * Memory: every pool and the heap come from the kernel's malloc (MEM_LIBC_MALLOC,
 * MEMP_MEM_MALLOC), so lwIP adds nothing to the image's .bss and a connection's memory goes
 * back to the kernel heap when it closes. The limits below bound what clients can make
 * the stack hold: connections, segments in flight, buffered pbufs.
 */
#ifndef BAREFLOW_LWIPOPTS_H
#define BAREFLOW_LWIPOPTS_H

#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_TIMERS                 1
#define LWIP_NETCONN                0
#define LWIP_SOCKET                 0

#define MEM_LIBC_MALLOC             1
#define MEMP_MEM_MALLOC             1
#define MEM_ALIGNMENT               8

#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define LWIP_ICMP                   1
#define LWIP_RAW                    0
#define LWIP_UDP                    1
#define LWIP_TCP                    1
#define LWIP_DHCP                   1
#define LWIP_DHCP_DOES_ACD_CHECK    0
#define DHCP_DOES_ARP_CHECK         0
#define LWIP_AUTOIP                 0
#define LWIP_IGMP                   0
#define LWIP_DNS                    0
#define IP_REASSEMBLY               0
#define IP_FRAG                     0
#define LWIP_NETIF_HOSTNAME         1
#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_LOOPBACK         0
#define LWIP_HAVE_LOOPIF            0
#define LWIP_STATS                  0
#define LWIP_SINGLE_NETIF           1

/* TCP: a full-size window and a send buffer big enough for a non-streamed completion in a
 * few round trips; the server's own per-connection buffers hold the rest. */
#define TCP_MSS                     1460
#define TCP_WND                     (16 * TCP_MSS)
#define TCP_SND_BUF                 (16 * TCP_MSS)
#define TCP_SND_QUEUELEN            (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_LISTEN_BACKLOG          1
#define TCP_DEFAULT_LISTEN_BACKLOG  8
#define LWIP_TCP_KEEPALIVE          1
#define MEMP_NUM_TCP_PCB            24
#define MEMP_NUM_TCP_PCB_LISTEN     2
#define MEMP_NUM_TCP_SEG            (TCP_SND_QUEUELEN * 4)
#define MEMP_NUM_UDP_PCB            2
#define PBUF_POOL_SIZE              64
#define MEMP_NUM_PBUF               64
#define MEMP_NUM_SYS_TIMEOUT        8
#define ARP_TABLE_SIZE              8

/* Receive pbufs are allocated by the drivers (pbuf_alloc from the heap), checksums are
 * computed in software in both directions. */
#define ETH_PAD_SIZE                0
#define LWIP_CHECKSUM_ON_COPY       1

#define LWIP_RAND()                 bareflow_lwip_random()

#endif
