// Reading the reference encodings (see reference_encodings.h).
#include "tests/host/tinyllama/reference_encodings.h"

#include <catch2/catch.hpp>

#include "tests/host/test_support.h"

namespace tllama::test {

using test_support::read_text;

namespace {

// Minimal JSON for lines of the form {"text": "...", "ids": [1, 2, 3]}.
struct JsonCursor {
    const std::string& s;
    size_t i = 0;

    void skip_space()
    {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
            ++i;
    }
    void expect(char c)
    {
        skip_space();
        REQUIRE(i < s.size());
        REQUIRE(s[i] == c);
        ++i;
    }
    static void put_utf8(std::string& out, unsigned cp)
    {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    unsigned hex4()
    {
        REQUIRE(i + 4 <= s.size());
        unsigned v = std::stoul(s.substr(i, 4), nullptr, 16);
        i += 4;
        return v;
    }
    std::string string()
    {
        expect('"');
        std::string out;
        while (true) {
            REQUIRE(i < s.size());
            char c = s[i++];
            if (c == '"')
                return out;
            if (c != '\\') {
                out += c;
                continue;
            }
            char e = s[i++];
            switch (e) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u': {
                unsigned cp = hex4();
                if (cp >= 0xD800 && cp < 0xDC00) {
                    REQUIRE(s.compare(i, 2, "\\u") == 0);
                    i += 2;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4() - 0xDC00);
                }
                put_utf8(out, cp);
                break;
            }
            default: out += e; break;  // \" \\ \/
            }
        }
    }
    std::vector<i32> int_array()
    {
        expect('[');
        std::vector<i32> out;
        skip_space();
        if (s[i] == ']') {
            ++i;
            return out;
        }
        while (true) {
            skip_space();
            size_t used = 0;
            out.push_back(std::stoi(s.substr(i), &used));
            i += used;
            skip_space();
            if (s[i] == ']') {
                ++i;
                return out;
            }
            expect(',');
        }
    }
};



}

std::vector<Encoding> read_encodings(const std::string& path)
{
    std::vector<Encoding> out;
    std::string all = read_text(path);
    size_t start = 0;
    while (start < all.size()) {
        size_t end = all.find('\n', start);
        if (end == std::string::npos)
            end = all.size();
        std::string line = all.substr(start, end - start);
        start = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        JsonCursor c { line };
        Encoding e;
        c.expect('{');
        for (int field = 0; field < 2; ++field) {
            const std::string key = c.string();
            c.expect(':');
            if (key == "text")
                e.text = c.string();
            else if (key == "ids")
                e.ids = c.int_array();
            else
                FAIL("unexpected key " << key << " in " << path);
            c.skip_space();
            if (field == 0)
                c.expect(',');
        }
        c.expect('}');
        out.push_back(e);
    }
    return out;
}

}
