#pragma once
// Shared by the fuzz targets: an invariant that must hold for every input. A violation prints
// what differed and traps, so libFuzzer saves the input as a crash artifact.
#include <cstdio>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond, ...)                                                               \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            std::fprintf(stderr, "  " __VA_ARGS__);                                         \
            std::fprintf(stderr, "\n");                                                     \
            __builtin_trap();                                                               \
        }                                                                                   \
    } while (0)

namespace iopslimit::fuzz {

// Printable form of a fuzzed string for the failure message (C escapes, cut to 200 bytes).
inline std::string escaped(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < 200; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\\' || c == '"') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (s.size() > 200) out += "...";
    return out;
}

// Splits on '\n' (the separator of the line-oriented input formats below).
template <typename F>
void forEachLine(std::string_view text, F&& f) {
    size_t i = 0;
    while (i <= text.size()) {
        size_t j = text.find('\n', i);
        if (j == std::string_view::npos) j = text.size();
        f(text.substr(i, j - i));
        i = j + 1;
    }
}

}  // namespace iopslimit::fuzz
