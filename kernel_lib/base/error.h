// Errors as values: `kl::Error`, `kl::ErrorOr<T>`, `TRY()` and `VERIFY()`.
//
// A recoverable failure (bad input, no memory, a JIT kernel that disagrees with the
// reference) travels up as an ErrorOr until someone can act on it; the message names what
// was wrong and what to do. Broken invariants are bugs: VERIFY() stops the program with the
// file, line and expression (an `@error` line and a non-zero exit in the kernel).
// Error carries its message inline (no heap), so it works before the heap exists.
#pragma once

#include <new>

#include "kernel_lib/base/error_codes.h"
#include "kernel_lib/base/types.h"

namespace kl {

class Error {
public:
    static constexpr usize max_message = 240;

    static Error make(ErrorCode code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

    ErrorCode code() const { return m_code; }
    const char* code_name() const { return error_code_name(m_code); }
    const char* message() const { return m_message; }
    // The process / QEMU exit status that reports this error.
    int exit_status() const { return static_cast<int>(m_code); }

private:
    Error() = default;
    ErrorCode m_code { ErrorCode::Ok };
    char m_message[max_message] {};
};

// Errors go in and out by reference: an Error is 241 bytes, and TRY then copies it once,
// straight into the caller's result (a by-value hand-over copied it twice).
template<typename T>
class [[nodiscard]] ErrorOr {
public:
    ErrorOr(T value) : m_has_value(true) { new (&m_value) T(static_cast<T&&>(value)); }
    ErrorOr(const Error& error) : m_has_value(false) { new (&m_error) Error(error); }
    ErrorOr(ErrorOr&& other) : m_has_value(other.m_has_value)
    {
        if (m_has_value)
            new (&m_value) T(static_cast<T&&>(other.m_value));
        else
            new (&m_error) Error(other.m_error);
    }
    ErrorOr(const ErrorOr&) = delete;
    ErrorOr& operator=(const ErrorOr&) = delete;
    ~ErrorOr()
    {
        if (m_has_value)
            m_value.~T();
    }

    bool is_error() const { return !m_has_value; }
    const Error& error() const { return m_error; }
    T& value() { return m_value; }
    const T& value() const { return m_value; }
    T release_value() { return static_cast<T&&>(m_value); }
    const Error& release_error() { return m_error; }

private:
    bool m_has_value;
    union {
        T m_value;
        Error m_error;
    };
};

template<>
class [[nodiscard]] ErrorOr<void> {
public:
    ErrorOr() : m_has_value(true) {}
    ErrorOr(const Error& error) : m_has_value(false) { new (&m_error) Error(error); }

    bool is_error() const { return !m_has_value; }
    const Error& error() const { return m_error; }
    void release_value() {}
    const Error& release_error() { return m_error; }

private:
    bool m_has_value;
    union {
        char m_nothing;
        Error m_error;
    };
};

// Stops the program: prints the message (and an `@error` line in the kernel) and exits
// with `code`'s status. Defined once for the kernel and once for the host (kernel_lib/debug/panic.{kernel,host}.cpp).
[[noreturn]] void panic_with(ErrorCode code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
[[noreturn]] void verify_failed(const char* expr, const char* file, int line);

}

#define TRY(expr)                                 \
    ({                                            \
        auto _kl_try_result = (expr);             \
        if (_kl_try_result.is_error())            \
            return _kl_try_result.release_error(); \
        _kl_try_result.release_value();           \
    })

#define VERIFY(expr)                                             \
    do {                                                         \
        if (!(expr)) [[unlikely]]                                \
            ::kl::verify_failed(#expr, __FILE__, __LINE__);      \
    } while (0)

#define VERIFY_NOT_REACHED() ::kl::verify_failed("not reached", __FILE__, __LINE__)

#define PANIC(...) ::kl::panic_with(::kl::ErrorCode::InternalPanic, __VA_ARGS__)
