// The kernel's C ctype.h symbols: forwarders to kernel_lib/libc/kctype.h.
#include <ctype.h>

#include "kernel_lib/libc/kctype.h"

extern "C" {

int iscntrl(int c) { return kl::iscntrl(c); }
int isprint(int c) { return kl::isprint(c); }
int isgraph(int c) { return kl::isgraph(c); }
int isspace(int c) { return kl::isspace(c); }
int isdigit(int c) { return kl::isdigit(c); }
int isupper(int c) { return kl::isupper(c); }
int islower(int c) { return kl::islower(c); }
int isalpha(int c) { return kl::isalpha(c); }
int isalnum(int c) { return kl::isalnum(c); }
int isxdigit(int c) { return kl::isxdigit(c); }
int ispunct(int c) { return kl::ispunct(c); }
int tolower(int c) { return kl::tolower(c); }
int toupper(int c) { return kl::toupper(c); }

}
