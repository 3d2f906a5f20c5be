// Annotation values: parseIops and parseByteQuantity on the input as text, and the
// formatBytes -> parseByteQuantity round trip on the value parsed and on the input's first
// 8 bytes taken as a number.
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
