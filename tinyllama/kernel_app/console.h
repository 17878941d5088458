// The interactive console (MODE=interactive, the default of `make run`).
//
// Works on the VGA screen with a PS/2 keyboard and on the serial port at once: keys come
// from both (kl::input), output goes to both (kl::print). A prompt with line editing and
// history; a line is a story prompt or a command (console_commands.h: /help, /temp, /topp,
// /seed, /steps, /stats, /profile, /jit, /clear, /reboot, /quit). Ctrl-C or Esc stops the
// story being told; Ctrl-D on an empty line or /quit leaves through machine::exit(0).
// A prompt given at build time (PROMPT=...) is told first.
#pragma once

#include "tinyllama/kernel_app/boot_settings.h"
#include "tinyllama/kernel_app/story.h"

namespace tllama {

[[noreturn]] void run_console(Engine& engine, const BootSettings& settings);

}
