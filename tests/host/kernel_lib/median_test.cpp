// kl::median_in_place: odd and even counts, any order, repeats, none.
#include <catch2/catch.hpp>

#include "kernel_lib/base/median.h"

TEST_CASE("median_in_place takes the middle value, or the mean of the two middle ones", "[base][median]")
{
    double odd[] = { 9.0, 1.0, 5.0, 7.0, 3.0 };
    CHECK(kl::median_in_place(odd, 5) == 5.0);
    CHECK(odd[0] == 1.0);  // sorted in place
    CHECK(odd[4] == 9.0);

    double even[] = { 4.0, 1.0, 3.0, 2.0 };
    CHECK(kl::median_in_place(even, 4) == 2.5);

    // Timings: one slow outlier does not move it; repeats are fine.
    u64 calls[] = { 1050000, 620000, 14000000, 1040000, 1040000 };
    CHECK(kl::median_in_place(calls, 5) == 1040000u);

    u64 single[] = { 7 };
    CHECK(kl::median_in_place(single, 1) == 7u);
    CHECK(kl::median_in_place(single, 0) == 0u);
}
