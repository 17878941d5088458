// sys/types.h for the freestanding kernel build: the few POSIX types other headers use.
#pragma once

#include <stddef.h>

typedef long ssize_t;
typedef long off_t;
typedef int pid_t;
