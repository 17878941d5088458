// Tier switching for a whole dispatcher (see tier_control.h).
#include "microjit/tier_control.h"

#include <stdio.h>

#include "microjit/tiering.h"

namespace mjit {

u32 tiers_install_defaults(Dispatcher& dispatcher, Tiering& tiering)
{
    u32 installed = 0;
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        KernelSlot& slot = dispatcher.slot_at(i);
        if (slot.tier != Tier::Reference)
            continue;
        // Prefill products serve only prompts long enough for a block: theirs come at their
        // first call, still before it runs.
        if (slot.op.kind == OpKind::Matmul && tiering.options().enabled) {
            slot.default_pending = true;
            continue;
        }
        auto result = tiering.install_default(slot);
        if (result.is_error())
            snprintf(slot.reason, sizeof(slot.reason), "no default kernel: %s", result.error().message());
        else
            installed += slot.tier == Tier::Default ? 1 : 0;
    }
    return installed;
}

void tiers_to_reference(Dispatcher& dispatcher, const char* why)
{
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        KernelSlot& slot = dispatcher.slot_at(i);
        if (slot.tuning && slot.tiering)
            slot.tiering->abandon(slot);
        slot.default_pending = false;
        Dispatcher::publish(slot, slot.reference);
        slot.tier = Tier::Reference;
        slot.settled = true;
        slot.skip = 0;
        snprintf(slot.reason, sizeof(slot.reason), "%s", why);
    }
    // With every slot on tier 0, detaching leaves them all without a policy.
    dispatcher.attach(nullptr);
}

void tiers_resume(Dispatcher& dispatcher, Tiering& tiering)
{
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        KernelSlot& slot = dispatcher.slot_at(i);
        if (slot.tier != Tier::Reference)
            continue;  // still serving a generated kernel: nothing to resume
        slot.reason[0] = 0;
        slot.skip = 0;
    }
    // attach() marks every slot not on a tuned kernel unsettled (when tuning is enabled).
    dispatcher.attach(&tiering);
    if (tiering.options().enabled)
        tiers_install_defaults(dispatcher, tiering);
}

}
