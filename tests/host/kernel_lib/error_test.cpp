// ErrorOr / TRY behaviour.
#include <catch2/catch.hpp>
#include <string.h>

#include "kernel_lib/base/error.h"

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

ErrorOr<int> parse_positive(int value)
{
    if (value <= 0)
        return Error::make(ErrorCode::InvalidArgument, "value %d is not positive", value);
    return value;
}

ErrorOr<int> doubled(int value)
{
    int v = TRY(parse_positive(value));
    return v * 2;
}

}

TEST_CASE("ErrorOr carries a value or an error with its message", "[base]")
{
    auto ok = doubled(21);
    REQUIRE_FALSE(ok.is_error());
    CHECK(ok.value() == 42);

    auto bad = doubled(-3);
    REQUIRE(bad.is_error());
    CHECK(bad.error().code() == ErrorCode::InvalidArgument);
    CHECK(strcmp(bad.error().message(), "value -3 is not positive") == 0);
    CHECK(strcmp(bad.error().code_name(), "invalid_argument") == 0);
    CHECK(bad.error().exit_status() == 92);
}

TEST_CASE("Error messages are truncated, never overflowed", "[base]")
{
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    auto e = Error::make(ErrorCode::InternalPanic, "%s", big);
    CHECK(strlen(e.message()) == Error::max_message - 1);
}

TEST_CASE("every error code fits a QEMU exit status and has a name", "[base]")
{
#define CHECK_CODE(name, number, text) \
    CHECK(number < 128);               \
    CHECK(strcmp(kl::error_code_name(ErrorCode::name), text) == 0);
    KL_ERROR_CODES(CHECK_CODE)
#undef CHECK_CODE
    CHECK(strcmp(kl::error_code_name(static_cast<ErrorCode>(4)), "unknown") == 0);
    CHECK(strcmp(kl::error_code_name(static_cast<ErrorCode>(127)), "unknown") == 0);
}
