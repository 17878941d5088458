// COM1, polled: the machine-readable channel (serial `@` lines) and a console.
//
// Output is raw bytes by default, so the text between @text-begin and @text-end is byte for
// byte what the host tool prints; an interactive console turns on LF -> CRLF so terminals
// (QEMU's raw-mode stdio) render lines properly.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::serial {

void init();  // 115200 baud, 8N1, FIFOs on
bool present();
void write(const char* bytes, usize length);
void set_crlf(bool enabled);
// Non-blocking receive: true and the byte when one is waiting.
bool try_read(u8& byte);

}
