// StringView comparisons (see string_view.h).
#include "kernel_lib/text/string_view.h"

#include <string.h>

namespace kl {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_blank(char c) { return c == ' ' || c == '\t'; }

}

StringView::StringView(const char* text) : data(text), length(text ? strlen(text) : 0) {}

bool StringView::equals(StringView other) const
{
    return length == other.length && (length == 0 || memcmp(data, other.data, length) == 0);
}

bool StringView::equals_ignoring_case(StringView other) const
{
    if (length != other.length)
        return false;
    for (usize i = 0; i < length; ++i) {
        if (lower(data[i]) != lower(other.data[i]))
            return false;
    }
    return true;
}

bool StringView::starts_with(StringView prefix) const
{
    return prefix.length <= length && (prefix.length == 0 || memcmp(data, prefix.data, prefix.length) == 0);
}

StringView StringView::substring(usize start, usize count) const
{
    if (start > length)
        start = length;
    if (count > length - start)
        count = length - start;
    return { data + start, count };
}

StringView StringView::trimmed() const
{
    usize begin = 0, end = length;
    while (begin < end && is_blank(data[begin]))
        ++begin;
    while (end > begin && is_blank(data[end - 1]))
        --end;
    return { data + begin, end - begin };
}

}
