// The Catch2 host test binary's main (one translation unit defines it).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
