// Time from the TSC: fenced reads (kernel_lib/arch/x86_64/cpu.h) and cycle conversions.
//
// The frequency is calibrated once per platform: in the kernel from CPUID 15h/16h when
// they state it, else against the ACPI PM timer, the HPET or the PIT
// (kernel_lib/time/calibrate.kernel.cpp); on the host against clock_gettime (tsc.host.cpp).
#pragma once

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/base/types.h"

namespace kl::time {

using x86::rdtsc;
using x86::rdtsc_begin;
using x86::rdtsc_end;

// Calibrated TSC frequency in Hz (calibrates on first use).
u64 tsc_hz();
// How it was found: "cpuid-15h", "acpi-pm-timer", "hpet", "pit", ... (calibrate.kernel.cpp),
// "clock_gettime" on the host.
const char* tsc_source();

// A fresh measurement of the TSC frequency in Hz against one of the machine's clocks (the
// ACPI PM timer and the HPET through the ACPI tables, the PIT directly); 0 when the machine
// lacks that clock or it does not count. Calibration uses the first that answers.
enum class TscReference : u8 { AcpiPmTimer, Hpet, Pit };
u64 measure_tsc_hz(TscReference reference);

inline double cycles_to_ns(u64 cycles) { return static_cast<double>(cycles) * 1e9 / static_cast<double>(tsc_hz()); }
inline double cycles_to_ms(u64 cycles) { return static_cast<double>(cycles) * 1e3 / static_cast<double>(tsc_hz()); }
inline double cycles_to_s(u64 cycles) { return static_cast<double>(cycles) / static_cast<double>(tsc_hz()); }

}
