// stdio.h for the freestanding kernel build: the formatter (kernel_lib/libc/format.h) and
// a few stream calls. There are no files: stdout and stderr both go to the console
// (kl::write: serial and VGA), and FILE is only a name for them.
#pragma once

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bareflow_file FILE;

extern FILE* stdout;
extern FILE* stderr;
#define stdout stdout
#define stderr stderr

#define EOF (-1)

int snprintf(char* buffer, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char* buffer, size_t size, const char* fmt, va_list args);

int printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char* fmt, va_list args);
int fprintf(FILE* stream, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
int vfprintf(FILE* stream, const char* fmt, va_list args);

int fputs(const char* s, FILE* stream);
int puts(const char* s);
int fputc(int c, FILE* stream);
int putc(int c, FILE* stream);
int putchar(int c);
size_t fwrite(const void* data, size_t size, size_t count, FILE* stream);
int fflush(FILE* stream);

#ifdef __cplusplus
}
#endif
