// StreamHandler: what an application serving TCP connections implements, and what the
// transport under it (kernel_lib/net/tcp_listener: lwIP's raw API; a fake in the host tests)
// calls. Connections are small integer ids chosen by the handler.
//
// The transport pulls output instead of having it pushed, so the handler never blocks on a
// slow peer: it keeps what it wants to send in its own bounded buffer, and the transport
// takes from it as the TCP send window allows.
#pragma once

#include "kernel_lib/text/string_view.h"

namespace kl::net {

class StreamHandler {
public:
    // A peer connected ("10.0.2.2:41234"). Returns the connection's id, or -1 to refuse it
    // (the transport then resets the connection).
    virtual int opened(const char* peer) = 0;
    // Bytes arrived. False: the handler cannot take them now; the transport keeps them and
    // offers them again later (TCP flow control does the rest).
    virtual bool received(int id, const u8* data, usize length) = 0;
    // The peer sent FIN: it will send nothing more.
    virtual void peer_closed(int id) = 0;
    // The connection is gone (reset, or the transport gave up on it). The id is not used by
    // the transport again.
    virtual void aborted(int id) = 0;
    // Bytes waiting to be sent, and how many of them the transport has taken.
    virtual StringView output(int id) = 0;
    virtual void sent(int id, usize length) = 0;
    // The handler wants the connection closed once its output is sent (the transport then
    // closes it and calls closed()), or reset at once (abort: a peer too slow to read).
    virtual bool wants_close(int id) = 0;
    virtual bool wants_abort(int id) = 0;
    virtual void closed(int id) = 0;

protected:
    ~StreamHandler() = default;
};

}
