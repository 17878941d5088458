// Switching the micro-JIT's tiers at run time (the console's `/jit off` and `/jit on`),
// through the dispatcher's public slots only.
//
// Off: every slot serves its reference kernel again (tier 0), and the Q8 quantizer too;
// tuning in progress is
// abandoned (its candidates go back to the code cache), and no slot tunes until the JIT is
// switched on. Kernels that were published stay in the code cache, unused (a call on
// another core may still be running one for an instant).
//
// On: the tiering policy is attached again and every slot may tune anew (those that had
// settled on tier 0 included); a kernel published before finds its code in the cache, so
// re-tuning costs verification and timing, not generation.
#pragma once

#include "microjit/dispatch.h"

namespace mjit {

// Tier 0 everywhere; `why` becomes every slot's reason in the report ("switched off").
void tiers_to_reference(Dispatcher& dispatcher, const char* why);

// Tuning allowed again through `tiering` (whose options decide whether it really tunes).
void tiers_resume(Dispatcher& dispatcher, Tiering& tiering);

// True while a tiering policy is attached (the JIT may tune or serves published kernels).
inline bool tiers_active(const Dispatcher& dispatcher) { return dispatcher.tiering() != nullptr; }

}
