// MODE=serve (see tinyllama/kernel_app/serve_mode.h): the network comes up, the HTTP API
// listens, and the boot core runs the server's main loop for good.
//
// The loop polls the card (no interrupts), moves TCP output, and runs one queued
// completion at a time; during a completion the server's pump keeps doing the first two
// between tokens. A machine without a supported card (or with net=off) says so and opens
// the console instead, as a normal boot would. `q` or Ctrl-C at the console (keyboard or
// serial) stops the server and leaves with status 0.
#include "tinyllama/kernel_app/serve_mode.h"

#include "kernel_lib/debug/report.h"
#include "kernel_lib/io/console_input.h"
#include "kernel_lib/io/machine.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/net/net.h"
#include "kernel_lib/net/tcp_listener.h"
#include "kernel_lib/text/json.h"
#include "kernel_lib/time/rtc.h"
#include "kernel_lib/time/tsc.h"
#include "tinyllama/kernel_app/console.h"
#include "tinyllama/serve/engine_backend.h"
#include "tinyllama/serve/server.h"

namespace tllama {

namespace {

constexpr u64 dhcp_patience_ms = 15000;

class KernelPlatform final : public serve::Platform {
public:
    KernelPlatform() : m_unix_at_start(kl::time::read_rtc_unix()), m_tsc_at_start(kl::time::rdtsc()) {}

    u64 now_ms() override { return kl::time::rdtsc() / (kl::time::tsc_hz() / 1000); }
    u64 unix_time() override
    {
        return m_unix_at_start ? m_unix_at_start + (kl::time::rdtsc() - m_tsc_at_start) / kl::time::tsc_hz() : 0;
    }
    void pump() override
    {
        kl::net::poll();
        kl::net::service_connections();
    }
    void log(const char* line) override { kl::print("%s\n", line); }

private:
    u64 m_unix_at_start;
    u64 m_tsc_at_start;
};

kl::net::Config network_config(const BootSettings& settings)
{
    kl::net::Config config;
    config.dhcp = settings.net == NetMode::Dhcp;
    for (int i = 0; i < 4; ++i) {
        config.address[i] = settings.ip[i];
        config.gateway[i] = settings.gateway[i];
    }
    config.prefix_length = settings.ip_prefix;
    return config;
}

// The `@serve {json}` line scripts wait for, and the same for people.
void announce(const Engine& engine, const BootSettings& settings)
{
    char address[16], described[96], model[96];
    kl::net::address_text(address, sizeof(address));
    kl::net::describe_address(described, sizeof(described));
    kl::json_escape(engine.model_name(), model, sizeof(model));
    kl::print("net: %s\n", described);
    kl::print("@serve {\"url\": \"http://%s:%u/v1\", \"address\": \"%s\", \"port\": %u, \"card\": \"%s\", "
              "\"model\": \"%s\", \"api_key\": %s}\n",
        address, settings.port, address, settings.port, kl::net::card_name(), model,
        settings.api_key[0] ? "true" : "false");
    kl::print("serve: the OpenAI-compatible API is at http://%s:%u/v1 (try GET /v1/models); q or Ctrl-C here stops it\n",
        address, settings.port);
}

bool stop_key()
{
    kl::input::KeyEvent key;
    if (!kl::input::poll_key(key))
        return false;
    return key.key == kl::input::Key::Interrupt || (key.key == kl::input::Key::Char && key.ch == 'q');
}

}

void run_server(Engine& engine, const BootSettings& settings)
{
    if (settings.net == NetMode::Off) {
        kl::print("serve: the network is off (net=off), so no HTTP API; the console instead\n");
        run_console(engine, settings);
    }
    auto up = kl::net::init(network_config(settings));
    if (up.is_error()) {
        kl::print("serve: %s\nserve: no network, so no HTTP API; the console instead\n", up.error().message());
        run_console(engine, settings);
    }
    auto* platform = new KernelPlatform();
    serve::ServerOptions options;
    options.api_key = settings.api_key[0] ? settings.api_key : nullptr;
    auto* server = new serve::Server(*serve::new_engine_backend(engine), *platform, options);
    auto listening = kl::net::listen(settings.port, *server);
    if (listening.is_error())
        kl::fail(listening.error());
    if (settings.net == NetMode::Dhcp)
        kl::print("net: asking for an address (DHCP)...\n");

    const u64 started = platform->now_ms();
    bool announced = false, warned = false;
    for (;;) {
        platform->pump();
        if (!announced && kl::net::has_address()) {
            announce(engine, settings);
            announced = true;
        } else if (!announced && !warned && platform->now_ms() - started > dhcp_patience_ms) {
            kl::print("net: no DHCP answer after %llu s; still asking (or set a static ip= with make serve)\n",
                static_cast<unsigned long long>(dhcp_patience_ms / 1000));
            warned = true;
        }
        if (server->step())
            continue;
        if (stop_key()) {
            kl::print("serve: stopped at the console\n");
            kl::machine::exit(0);
        }
        kl::x86::pause();
    }
}

}
