// ctype.h for the freestanding kernel build: ASCII, "C" locale (kernel_lib/libc/kctype.h).
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

int iscntrl(int c);
int isprint(int c);
int isgraph(int c);
int isspace(int c);
int isdigit(int c);
int isupper(int c);
int islower(int c);
int isalpha(int c);
int isalnum(int c);
int isxdigit(int c);
int ispunct(int c);
int tolower(int c);
int toupper(int c);

#ifdef __cplusplus
}
#endif
