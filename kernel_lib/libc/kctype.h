// ctype.h classification for the "C" locale (ASCII), as inline functions in namespace kl.
//
// Arguments are ints holding an unsigned char value or EOF, as in C; anything outside
// 0..127 (EOF, bytes of UTF-8 sequences) belongs to no class and maps to itself.
// The kernel's C names (isdigit, ...) forward to these (ctype.kernel.cpp).
#pragma once

namespace kl {

constexpr bool is_in(int c, int lo, int hi) { return c >= lo && c <= hi; }

constexpr int iscntrl(int c) { return is_in(c, 0, 31) || c == 127; }
constexpr int isprint(int c) { return is_in(c, 32, 126); }
constexpr int isgraph(int c) { return is_in(c, 33, 126); }
constexpr int isspace(int c) { return c == ' ' || is_in(c, '\t', '\r'); }
constexpr int isdigit(int c) { return is_in(c, '0', '9'); }
constexpr int isupper(int c) { return is_in(c, 'A', 'Z'); }
constexpr int islower(int c) { return is_in(c, 'a', 'z'); }
constexpr int isalpha(int c) { return isupper(c) || islower(c); }
constexpr int isalnum(int c) { return isalpha(c) || isdigit(c); }
constexpr int isxdigit(int c) { return isdigit(c) || is_in(c | 0x20, 'a', 'f'); }
constexpr int ispunct(int c) { return isgraph(c) && !isalnum(c); }
constexpr int tolower(int c) { return isupper(c) ? c + 32 : c; }
constexpr int toupper(int c) { return islower(c) ? c - 32 : c; }

// c's value as a digit of a base up to 36 ('0'..'9', then 'a'..'z' in either case), or 99
// when it is no digit (strtol.cpp).
int digit_value(int c);
// c's value as a hexadecimal digit, or -1.
int hex_digit_value(int c);

}
