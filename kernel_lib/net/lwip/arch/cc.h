/* lwIP's compiler and platform glue for BareFlow's freestanding kernel (see lwipopts.h).
 *
 * Types come from clang's stdint.h/stddef.h, strings from kernel_lib/libc; diagnostics go to
 * the kernel console and a failed lwIP assertion stops the kernel with an @error line, as any
 * other broken invariant does. The functions named here are defined in
 * kernel_lib/net/lwip_port.kernel.cpp.
 */
#ifndef BAREFLOW_LWIP_ARCH_CC_H
#define BAREFLOW_LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

#define BYTE_ORDER LITTLE_ENDIAN

/* kernel_lib/libc has no inttypes.h, ctype.h for lwIP or unistd.h: lwIP defines its own. */
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1
#define LWIP_NO_UNISTD_H 1
#define SSIZE_MAX INT64_MAX
typedef long ssize_t;
#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#ifdef __cplusplus
extern "C" {
#endif
void bareflow_lwip_diag(const char* format, ...) __attribute__((format(printf, 1, 2)));
void bareflow_lwip_assert(const char* message, const char* file, int line) __attribute__((noreturn));
uint32_t bareflow_lwip_random(void);
#ifdef __cplusplus
}
#endif

#define LWIP_PLATFORM_DIAG(x) do { bareflow_lwip_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) bareflow_lwip_assert((x), __FILE__, __LINE__)

#endif
