// pthread.h for the freestanding kernel build: just enough for asmjit's headers.
//
// asmjit's api-config.h includes this on every non-Windows target and its Lock class holds
// a pthread_mutex_t, but only the JIT allocator locks one, and the kernel builds asmjit
// with ASMJIT_NO_JIT. The functions are declared and deliberately not defined: any use
// fails at link time instead of silently not locking.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int unused;
} pthread_mutex_t;

typedef struct {
    int unused;
} pthread_mutexattr_t;

int pthread_mutex_init(pthread_mutex_t* mutex, const pthread_mutexattr_t* attributes);
int pthread_mutex_destroy(pthread_mutex_t* mutex);
int pthread_mutex_lock(pthread_mutex_t* mutex);
int pthread_mutex_unlock(pthread_mutex_t* mutex);

#ifdef __cplusplus
}
#endif
