// ISA selection for the micro-JIT (see isa.h).
#include "microjit/isa.h"

#include <string.h>

namespace mjit {

namespace {

Isa g_cap = Isa::Avx512;
CpuCaps g_host_caps;
bool g_host_caps_ready = false;

}

CpuCaps caps_from(const kl::cpu::Features& f)
{
    CpuCaps caps;
    caps.best = f.best_isa();
    caps.ssse3 = f.ssse3;
    caps.avx512bw = f.avx512_usable && f.avx512bw;
    caps.avx512vl = f.avx512_usable && f.avx512vl;
    caps.avx512vnni = f.avx512_usable && f.avx512vnni;
    caps.gfni = f.avx512_usable && f.gfni && f.avx512vbmi;
    caps.f16c = f.avx_usable && f.f16c;
    caps.erms = f.erms;
    caps.fsrm = f.fsrm;
    // The zmm reductions and Q8 kernels use EVEX ymm/xmm forms and byte ops; a part with
    // only AVX-512F (Knights Landing) is served by the AVX2 kernels instead.
    if (caps.best == Isa::Avx512 && !(caps.avx512bw && caps.avx512vl))
        caps.best = Isa::Avx2;
    return caps;
}

const CpuCaps& host_caps()
{
    if (!g_host_caps_ready) {
        g_host_caps = caps_from(kl::cpu::features());
        g_host_caps_ready = true;
    }
    return g_host_caps;
}

kl::ErrorOr<Isa> parse_isa(const char* text)
{
    if (!text)
        return kl::Error::make(kl::ErrorCode::SettingsBadValue, "JIT ISA: no value given (use sse2, avx2, avx512 or native)");
    if (strcmp(text, "scalar") == 0)
        return Isa::Scalar;
    if (strcmp(text, "sse2") == 0)
        return Isa::Sse2;
    if (strcmp(text, "avx2") == 0)
        return Isa::Avx2;
    if (strcmp(text, "avx512") == 0 || strcmp(text, "native") == 0)
        return Isa::Avx512;
    return kl::Error::make(kl::ErrorCode::SettingsBadValue, "JIT ISA '%s' is unknown: use sse2, avx2, avx512 or native", text);
}

void set_isa_cap(Isa cap)
{
    g_cap = cap;
}

Isa isa_cap()
{
    return g_cap;
}

Isa target_isa()
{
    const Isa best = host_caps().best;
    return static_cast<u8>(best) < static_cast<u8>(g_cap) ? best : g_cap;
}

}
