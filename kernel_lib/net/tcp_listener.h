// A TCP server on lwIP's raw API: accepts connections on one port and connects each to a
// StreamHandler (stream_handler.h), which owns all per-connection state and buffers.
//
// Received data goes to the handler as it arrives (a handler that cannot take it now
// leaves it with lwIP, which offers it again and keeps the window closed meanwhile); the
// handler's output is moved into lwIP's send buffer by service(), as fast as the peer's
// window allows, never blocking. Kernel only.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/net/stream_handler.h"

namespace kl::net {

// Starts listening on `port` (every address of the interface). NetSetup when lwIP cannot.
ErrorOr<void> listen(u16 port, StreamHandler& handler);

// Moves each connection's pending output into lwIP and closes or resets the connections
// the handler is done with. Called after poll() in the main loop and between tokens.
void service_connections();

}
