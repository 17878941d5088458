// Keys from the PS/2 keyboard and the serial port at once (polled).
#pragma once

#include "kernel_lib/io/keys.h"

namespace kl::input {

// The next key, if one is waiting (never blocks).
bool poll_key(KeyEvent& out);

// Waits for a key, pausing the CPU between polls.
KeyEvent wait_key();

}
