// Run-time tier switching (see tier_control.h).
#include "microjit/tier_control.h"

#include <stdio.h>

#include "microjit/tiering.h"

namespace mjit {

void tiers_to_reference(Dispatcher& dispatcher, const char* why)
{
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        KernelSlot& slot = dispatcher.slot_at(i);
        if (slot.tuning && slot.tiering)
            slot.tiering->abandon(slot);
        Dispatcher::publish(slot, slot.reference);
        slot.tier = Tier::Reference;
        slot.settled = true;
        slot.skip = 0;
        snprintf(slot.reason, sizeof(slot.reason), "%s", why);
    }
    dispatcher.use_jit_quantizer(false);
    // With every slot on tier 0, detaching leaves them all without a policy.
    dispatcher.attach(nullptr);
}

void tiers_resume(Dispatcher& dispatcher, Tiering& tiering)
{
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        KernelSlot& slot = dispatcher.slot_at(i);
        if (slot.tier == Tier::Jit)
            continue;  // still serving a published kernel: nothing to resume
        slot.reason[0] = 0;
        slot.skip = 0;
    }
    // attach() marks every slot not on a published kernel unsettled (when tuning is enabled).
    dispatcher.attach(&tiering);
    dispatcher.use_jit_quantizer(tiering.options().enabled);
}

}
