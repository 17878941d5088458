// Setting the micro-JIT's tiers for a whole dispatcher: the defaults at load, and the
// console's `/jit off` and `/jit on` at run time, through the dispatcher's public slots.
//
// Defaults: every slot gets its default generated kernel (tier 1), verified on a sample;
// a slot whose default cannot be made stays on the reference with the reason recorded.
// Prefill (matmul) slots get theirs at their first call, before it runs: a short prompt
// never needs them, and the first token comes sooner.
//
// Off: every slot serves its reference kernel again (tier 0); tuning in progress is
// abandoned (its candidates go back to the code cache), and no slot tunes until the JIT is
// switched on. Kernels that were published stay in the code cache, unused (a call on
// another core may still be running one for an instant).
//
// On: the tiering policy is attached again, the defaults are installed again (their code
// is still in the cache) and every slot may tune anew.
#pragma once

#include "microjit/dispatch.h"

namespace mjit {

// Tier 1 for every slot on the reference (prefill slots: pending); returns how many slots
// got their default now.
u32 tiers_install_defaults(Dispatcher& dispatcher, Tiering& tiering);

// Tier 0 everywhere; `why` becomes every slot's reason in the report ("switched off").
void tiers_to_reference(Dispatcher& dispatcher, const char* why);

// Attaches `tiering`, installs the defaults and allows tuning again (when the tiering's
// options enable it).
void tiers_resume(Dispatcher& dispatcher, Tiering& tiering);

// True while a tiering policy is attached (the JIT may tune or serves published kernels).
inline bool tiers_active(const Dispatcher& dispatcher) { return dispatcher.tiering() != nullptr; }

}
