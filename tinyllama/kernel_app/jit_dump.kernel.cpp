// Deferred dumps of the micro-JIT's kernels (see jit_dump.h).
#include "tinyllama/kernel_app/jit_dump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "microjit/jit.h"

namespace tllama {

namespace {

// One captured kernel: its name, where it was installed, and a copy of its bytes (the
// original may be freed before the flush, e.g. a tuning candidate that lost).
struct Captured {
    Captured* next;
    const u8* origin;
    usize size;
    char name[80];
    u8 bytes[];
};

Captured* g_first = nullptr;
Captured* g_last = nullptr;
bool g_started = false;
bool g_flushed_once = false;
u32 g_lost = 0;  // kernels that could not be copied (no memory)

void capture(void*, const char* name, const u8* code, usize size)
{
    auto* c = static_cast<Captured*>(malloc(sizeof(Captured) + size));
    if (!c) {
        ++g_lost;
        return;
    }
    c->next = nullptr;
    c->origin = code;
    c->size = size;
    snprintf(c->name, sizeof(c->name), "%s", name);
    memcpy(c->bytes, code, size);
    (g_last ? g_last->next : g_first) = c;
    g_last = c;
}

bool was_captured(const u8* code)
{
    for (const Captured* c = g_first; c; c = c->next) {
        if (c->origin == code)
            return true;
    }
    return false;
}

}

void start_jit_dump()
{
    if (g_started)
        return;
    g_started = true;
    mjit::set_dump_hook(capture, nullptr);
}

void flush_jit_dump(Engine& engine)
{
    if (!g_started)
        return;
    u32 count = 0;
    if (!g_flushed_once) {
        g_flushed_once = true;
        mjit::CodeCache& cache = engine.jit().cache();
        for (u32 i = 0; i < cache.count(); ++i) {
            const mjit::GeneratedKernel& k = cache.at(i);
            if (k.code_size == 0 || was_captured(k.code()))
                continue;
            mjit::dump_hex(k.name, k.code(), k.code_size);
            ++count;
        }
    }
    while (g_first) {
        Captured* c = g_first;
        g_first = c->next;
        mjit::dump_hex(c->name, c->bytes, c->size);
        free(c);
        ++count;
    }
    g_last = nullptr;
    kl::print("jit dump: %u kernels printed%s\n", count, g_lost ? " (some could not be copied: out of memory)" : "");
    g_lost = 0;
}

}
