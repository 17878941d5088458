// The kernel's C stdlib.h symbols that kernel_lib/libc implements (conversions, qsort,
// bsearch, abs): forwarders to kstdlib.h. malloc & co. and abort live with the heap and
// the panic code.
#include <stdlib.h>

#include "kernel_lib/libc/kstdlib.h"

extern "C" {

long strtol(const char* s, char** end, int base) { return kl::strtol(s, end, base); }
unsigned long strtoul(const char* s, char** end, int base) { return kl::strtoul(s, end, base); }
long long strtoll(const char* s, char** end, int base) { return kl::strtoll(s, end, base); }
unsigned long long strtoull(const char* s, char** end, int base) { return kl::strtoull(s, end, base); }
double strtod(const char* s, char** end) { return kl::strtod(s, end); }
float strtof(const char* s, char** end) { return kl::strtof(s, end); }
int atoi(const char* s) { return kl::atoi(s); }
long atol(const char* s) { return kl::atol(s); }
double atof(const char* s) { return kl::atof(s); }

int abs(int v) { return kl::abs(v); }
long labs(long v) { return kl::labs(v); }
long long llabs(long long v) { return kl::llabs(v); }

void qsort(void* base, size_t count, size_t size, int (*compare)(const void*, const void*))
{
    kl::qsort(base, count, size, compare);
}

void* bsearch(const void* key, const void* base, size_t count, size_t size, int (*compare)(const void*, const void*))
{
    return kl::bsearch(key, base, count, size, compare);
}

}
