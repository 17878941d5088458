// The raw-API TCP listener (see tcp_listener.h).
#include "kernel_lib/net/tcp_listener.h"

#include "kernel_lib/libc/format.h"
#include "lwip/tcp.h"

namespace kl::net {

namespace {

constexpr int max_connections = 32;  // above any handler's limit: it refuses first

StreamHandler* g_handler = nullptr;
struct tcp_pcb* g_pcbs[max_connections] = {};
// A whole pbuf chain is handed over in one piece (at most the receive window).
u8 g_receive_copy[TCP_WND];

int id_of(void* arg) { return static_cast<int>(reinterpret_cast<uptr>(arg)) - 1; }
void* arg_of(int id) { return reinterpret_cast<void*>(static_cast<uptr>(id + 1)); }

// Detaches lwIP's callbacks from a pcb the handler no longer knows.
void forget(int id)
{
    if (struct tcp_pcb* pcb = g_pcbs[id]) {
        tcp_arg(pcb, nullptr);
        tcp_recv(pcb, nullptr);
        tcp_err(pcb, nullptr);
        g_pcbs[id] = nullptr;
    }
}

err_t on_receive(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t err)
{
    const int id = id_of(arg);
    if (!p) {
        g_handler->peer_closed(id);
        return ERR_OK;
    }
    if (err != ERR_OK) {
        pbuf_free(p);
        return err;
    }
    if (p->tot_len > sizeof(g_receive_copy)) {
        // Cannot happen while the window is TCP_WND; if it does, the connection goes.
        pbuf_free(p);
        forget(id);
        tcp_abort(pcb);
        g_handler->aborted(id);
        return ERR_ABRT;
    }
    const u16 length = pbuf_copy_partial(p, g_receive_copy, p->tot_len, 0);
    if (!g_handler->received(id, g_receive_copy, length))
        return ERR_MEM;  // lwIP keeps the pbuf and offers it again
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

// lwIP has already freed the pcb (a reset, or it gave up retransmitting).
void on_error(void* arg, err_t)
{
    const int id = id_of(arg);
    if (id < 0 || id >= max_connections)
        return;
    g_pcbs[id] = nullptr;
    g_handler->aborted(id);
}

err_t on_accept(void*, struct tcp_pcb* pcb, err_t err)
{
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    char peer[48];
    const u32 ip = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
    snprintf(peer, sizeof(peer), "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 0xFF, (ip >> 8) & 0xFF, ip & 0xFF,
        pcb->remote_port);
    const int id = g_handler->opened(peer);
    if (id < 0 || id >= max_connections || g_pcbs[id]) {
        if (id >= 0)
            g_handler->closed(id);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    g_pcbs[id] = pcb;
    tcp_arg(pcb, arg_of(id));
    tcp_recv(pcb, on_receive);
    tcp_err(pcb, on_error);
    tcp_nagle_disable(pcb);  // a streamed token should leave at once
    return ERR_OK;
}

// Output into lwIP's send buffer, as much as it takes now.
void drain(int id, struct tcp_pcb* pcb)
{
    const StringView out = g_handler->output(id);
    usize room = tcp_sndbuf(pcb);
    const usize length = out.length < room ? out.length : room;
    if (length == 0)
        return;
    if (tcp_write(pcb, out.data, static_cast<u16>(length), TCP_WRITE_FLAG_COPY) == ERR_OK) {
        g_handler->sent(id, length);
        tcp_output(pcb);
    }
}

}

ErrorOr<void> listen(u16 port, StreamHandler& handler)
{
    g_handler = &handler;
    struct tcp_pcb* pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (!pcb)
        return Error::make(ErrorCode::NetSetup, "lwIP has no memory for a listening socket");
    if (tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
        tcp_close(pcb);
        return Error::make(ErrorCode::NetSetup, "cannot listen on TCP port %u (in use?)", port);
    }
    struct tcp_pcb* listener = tcp_listen(pcb);
    if (!listener)
        return Error::make(ErrorCode::NetSetup, "lwIP could not listen on TCP port %u", port);
    tcp_accept(listener, on_accept);
    return {};
}

void service_connections()
{
    for (int id = 0; id < max_connections; ++id) {
        struct tcp_pcb* pcb = g_pcbs[id];
        if (!pcb)
            continue;
        if (g_handler->wants_abort(id)) {
            forget(id);
            tcp_abort(pcb);
            g_handler->closed(id);
            continue;
        }
        drain(id, pcb);
        if (g_handler->wants_close(id)) {
            forget(id);
            if (tcp_close(pcb) != ERR_OK)
                tcp_abort(pcb);  // no memory for the FIN: reset instead of leaking the pcb
            g_handler->closed(id);
        }
    }
}

}
