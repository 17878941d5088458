// The reference encodings (../shared/reference/encodings-*.jsonl): one JSON object per
// line, {"text": "...", "ids": [1, 2, 3]}, read with a minimal JSON cursor.
#pragma once

#include <string>
#include <vector>

#include "kernel_lib/base/types.h"

namespace tllama::test {

struct Encoding {
    std::string text;
    std::vector<i32> ids;
};

// Every encoding in the file (the test fails on a line it cannot read).
std::vector<Encoding> read_encodings(const std::string& path);

}
