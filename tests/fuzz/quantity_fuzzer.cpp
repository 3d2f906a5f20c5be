// Annotation values: parseIops and parseByteQuantity on the input as text, and the
// formatBytes -> parseByteQuantity round trip on the value parsed and on the input's first
// 8 bytes taken as a number. Quantities short enough for 128-bit arithmetic are also read by an
// independent exact reading (below), which must reach the same value or the same kind of refusal.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/quantity.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

namespace {

void roundTrip(uint64_t v) {
    std::string text = formatBytes(v);
    Result<uint64_t> back = parseByteQuantity(text);
    if (v > kMaxLimitValue) {
        FUZZ_CHECK(!back, "formatBytes(%llu) = \"%s\" above the limit parsed", static_cast<unsigned long long>(v),
                   text.c_str());
        return;
    }
    FUZZ_CHECK(back && *back == v, "formatBytes(%llu) = \"%s\" parses to %s", static_cast<unsigned long long>(v),
               text.c_str(), back ? std::to_string(*back).c_str() : back.error().message.c_str());
    // What the limit tables print (limitValueString) must read back as an IOPS value too.
    Result<uint64_t> iops = parseIops(limitValueString(v));
    FUZZ_CHECK(iops && *iops == v, "parseIops(limitValueString(%llu))", static_cast<unsigned long long>(v));
}

__extension__ using u128 = unsigned __int128;

enum class Kind { Value, Negative, BelowOne, TooLarge, NotParsed };

// [+-] digits [. digits] suffix with at most 18 digits and an exponent of at most two digits:
// exact with 128 bits. NotParsed when the text is not of that form.
Kind independentReading(std::string_view t, uint64_t* out) {
    size_t i = 0;
    bool negative = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
    u128 m = 0;
    int digits = 0, frac = 0;
    bool dot = false;
    for (; i < t.size(); ++i) {
        if (t[i] >= '0' && t[i] <= '9') {
            if (++digits > 18) return Kind::NotParsed;
            m = m * 10 + static_cast<unsigned>(t[i] - '0');
            if (dot) ++frac;
        } else if (t[i] == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    if (digits == 0) return Kind::NotParsed;
    std::string_view suf = t.substr(i);
    int dec = 0, bin = 0;
    static const std::pair<std::string_view, int> decs[] = {{"", 0},  {"n", -9}, {"u", -6}, {"m", -3}, {"k", 3},
                                                             {"M", 6}, {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
    static const std::pair<std::string_view, int> bins[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
    bool known = false;
    for (const auto& [n, e] : decs) if (suf == n) dec = e, known = true;
    for (const auto& [n, e] : bins) if (suf == n) bin = e, known = true;
    if (!known) {
        if (suf.size() < 2 || (suf[0] != 'e' && suf[0] != 'E')) return Kind::NotParsed;
        std::string_view x = suf.substr(1);
        bool neg = false;
        if (x[0] == '+' || x[0] == '-') neg = x[0] == '-', x.remove_prefix(1);
        if (x.empty() || x.size() > 2) return Kind::NotParsed;
        for (char c : x) if (c < '0' || c > '9') return Kind::NotParsed;
        dec = (x[0] - '0') * (x.size() == 2 ? 10 : 1) + (x.size() == 2 ? x[1] - '0' : 0);
        if (neg) dec = -dec;
    }
    if (m == 0) { *out = 0; return Kind::Value; }
    if (negative) return Kind::Negative;
    int k = dec - frac;  // value = m * 2^bin * 10^k
    u128 num = m << bin;  // m < 10^18 < 2^60, bin <= 60
    const u128 cap = kMaxLimitValue;
    if (k >= 0) {
        if (k > 20 || num > cap) return Kind::TooLarge;
        for (int p = 0; p < k; ++p) num *= 10;
        if (num > cap) return Kind::TooLarge;
        *out = static_cast<uint64_t>(num);
        return Kind::Value;
    }
    if (-k > 38) return Kind::BelowOne;  // num < 2^120 < 10^38
    u128 den = 1;
    for (int p = 0; p < -k; ++p) den *= 10;
    if (num < den) return Kind::BelowOne;
    u128 q = (num + den - 1) / den;  // rounded up, as Quantity.Value()
    if (q > cap) return Kind::TooLarge;
    *out = static_cast<uint64_t>(q);
    return Kind::Value;
}

bool allDigits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    Result<uint64_t> iops = parseIops(text);
    if (iops) {
        FUZZ_CHECK(*iops <= kMaxLimitValue, "parseIops(\"%s\") = %llu", escaped(text).c_str(),
                   static_cast<unsigned long long>(*iops));
        FUZZ_CHECK(text == "max" || allDigits(text), "parseIops accepted \"%s\"", escaped(text).c_str());
    } else {
        FUZZ_CHECK(!iops.error().message.empty(), "parseIops error without a message");
    }

    Result<uint64_t> bytes = parseByteQuantity(text);
    if (bytes) {
        FUZZ_CHECK(*bytes <= kMaxLimitValue, "parseByteQuantity(\"%s\") = %llu", escaped(text).c_str(),
                   static_cast<unsigned long long>(*bytes));
        roundTrip(*bytes);
    } else {
        FUZZ_CHECK(!bytes.error().message.empty(), "parseByteQuantity error without a message");
    }

    // Only zero may carry a minus; nothing with a blank is a quantity.
    if (bytes && !text.empty() && text[0] == '-')
        FUZZ_CHECK(*bytes == 0, "\"%s\" accepted as %llu", escaped(text).c_str(), static_cast<unsigned long long>(*bytes));
    if (text.find_first_of(" \t\n\r\v\f") != std::string_view::npos) FUZZ_CHECK(!bytes, "accepted a blank");
    if (!bytes) FUZZ_CHECK(bytes.error().message.rfind("\"", 0) == 0, "message does not start with the quoted text");

    uint64_t want = 0;
    Kind kind = independentReading(text, &want);
    const char* faults[] = {"", " is negative", " is less than one byte per second", " is too large"};
    if (kind == Kind::Value)
        FUZZ_CHECK(bytes && *bytes == want, "\"%s\": exact reading %llu, parseByteQuantity %s", escaped(text).c_str(),
                   static_cast<unsigned long long>(want), bytes ? std::to_string(*bytes).c_str() : bytes.error().message.c_str());
    else if (kind != Kind::NotParsed)
        FUZZ_CHECK(!bytes && bytes.error().message.find(faults[static_cast<int>(kind)]) != std::string::npos,
                   "\"%s\": exact reading says%s, parseByteQuantity %s", escaped(text).c_str(), faults[static_cast<int>(kind)],
                   bytes ? std::to_string(*bytes).c_str() : bytes.error().message.c_str());

    // A plain integer means the same to both parsers.
    if (iops && bytes && allDigits(text))
        FUZZ_CHECK(*iops == *bytes, "\"%s\": parseIops %llu, parseByteQuantity %llu", escaped(text).c_str(),
                   static_cast<unsigned long long>(*iops), static_cast<unsigned long long>(*bytes));

    if (size >= 8) {
        uint64_t v;
        std::memcpy(&v, data, 8);
        roundTrip(v);
        roundTrip(v >> 11);  // mostly within kMaxLimitValue (2^53)
        roundTrip((v >> 11) & ~uint64_t{0x3ff});  // binary suffixes
    }
    return 0;
}
