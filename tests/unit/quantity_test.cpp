// IOPS values and Kubernetes byte quantities, as read from annotations and the environment.
#include "core/quantity.h"

#include "core/limits.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace iopslimit::core {
namespace {

constexpr uint64_t k2p53 = uint64_t{1} << 53;  // 9007199254740992

struct Good {
    std::string text;
    uint64_t want;
};

TEST(ParseIops, AcceptsIntegersAndMax) {
    const std::vector<Good> cases = {
        {"0", 0},
        {"max", 0},
        {"1", 1},
        {"500", 500},
        {"0500", 500},  // leading zero is still a decimal integer
        {"1000000", 1000000},
        {"9007199254740992", k2p53},  // the largest accepted value, inclusive
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        auto r = parseIops(c.text);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(*r, c.want);
    }
}

TEST(ParseIops, RejectsEverythingElse) {
    const std::vector<std::string> cases = {
        "abc", "-5", "1e9", "1.5", " 5", "5 ", "", "+5", "5k", "0x10", "MAX", "Max", "max ", "1_000", "١٢",
        "9007199254740993",          // 2^53 + 1
        "18446744073709551615",      // UINT64_MAX
        "18446744073709551616",      // UINT64_MAX + 1
        "9999999999999999999",       // 19 digits, fits in u64, above 2^53
        "99999999999999999999",      // 20 digits
        "123456789012345678901234",  // 24 digits
        std::string("5\0", 2),       // embedded NUL
    };
    for (const auto& c : cases) {
        SCOPED_TRACE("\"" + c + "\"");
        auto r = parseIops(c);
        EXPECT_FALSE(r.ok()) << "accepted as " << (r.ok() ? *r : 0);
        if (!r.ok()) {
            EXPECT_FALSE(r.error().message.empty());
        }
    }
}

// A byte rate read from a Kubernetes quantity: what we make of it.
enum class Q { Bytes, Negative, BelowOneByte, TooLarge, NotAQuantity, TooLong };

struct QCase {
    std::string text;
    Q outcome;
    uint64_t bytes = 0;  // for Q::Bytes: what Kubernetes' Quantity.Value() gives (0 = unlimited here)
};

std::string outcomeName(Q q) {
    switch (q) {
        case Q::Bytes: return "bytes";
        case Q::Negative: return "negative";
        case Q::BelowOneByte: return "below one byte";
        case Q::TooLarge: return "too large";
        case Q::NotAQuantity: return "not a quantity";
        case Q::TooLong: return "too long";
    }
    return "?";
}

// What the error message must say for each outcome (the form shown by `iops-limitctl explain`).
std::string faultPhrase(Q q) {
    switch (q) {
        case Q::Negative: return " is negative: a byte rate must be 0 (unlimited) or positive";
        case Q::BelowOneByte: return " is less than one byte per second";
        case Q::TooLarge: return " is too large: a byte rate is at most 9007199254740992 (8Pi) bytes per second";
        case Q::NotAQuantity: return " is not a Kubernetes quantity: ";
        case Q::TooLong: return " is too long";
        case Q::Bytes: break;
    }
    return "";
}

void check(const QCase& c) {
    SCOPED_TRACE("\"" + c.text + "\" (" + outcomeName(c.outcome) + ")");
    auto r = parseByteQuantity(c.text);
    if (c.outcome == Q::Bytes) {
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(*r, c.bytes);
        return;
    }
    ASSERT_FALSE(r.ok()) << "accepted as " << *r;
    const std::string& m = r.error().message;
    EXPECT_EQ(m.rfind("\"", 0), 0u) << m;  // starts with the quoted text
    EXPECT_NE(m.find(faultPhrase(c.outcome)), std::string::npos) << m;
    for (Q other : {Q::Negative, Q::BelowOneByte, Q::TooLarge, Q::NotAQuantity, Q::TooLong}) {
        if (other != c.outcome) {
            EXPECT_EQ(m.find(faultPhrase(other)), std::string::npos) << m;
        }
    }
}

// Kubernetes' own cases: kubernetes/apimachinery v0.36.3 (40bf4b2b62f8838b9b37de7b407793f1f17ee225)
// pkg/api/resource/quantity_test.go, TestQuantityParse (its table, its "-" and "+" versions, its
// invalid list), TestParseQuantityString, TestQuantityParseEmit, TestQuantityRoundUp and
// TestQuantityParseZero. Where Kubernetes accepts the text, `bytes` is what that version's
// ParseQuantity(text).Value() returned when run (go1.19, ParseQuantity and Value() unchanged);
// where it is below one byte, negative or above our cap, Kubernetes accepted it and we refuse it.
const std::vector<QCase>& kubernetesTable() {
    static const std::vector<QCase> table = {
        // TestQuantityParse: zeros in every spelling are 0, unlimited
        {"0", Q::Bytes, 0}, {"0n", Q::Bytes, 0}, {"0u", Q::Bytes, 0}, {"0m", Q::Bytes, 0}, {"0Ki", Q::Bytes, 0},
        {"0k", Q::Bytes, 0}, {"0Mi", Q::Bytes, 0}, {"0M", Q::Bytes, 0}, {"0Gi", Q::Bytes, 0}, {"0G", Q::Bytes, 0},
        {"0Ti", Q::Bytes, 0}, {"0T", Q::Bytes, 0},
        // "Quantity less numbers are allowed"
        {"1", Q::Bytes, 1},
        // binary suffixes
        {"1Ki", Q::Bytes, 1024}, {"8Ki", Q::Bytes, 8192}, {"7Mi", Q::Bytes, 7340032}, {"6Gi", Q::Bytes, 6442450944},
        {"5Ti", Q::Bytes, 5497558138880}, {"4Pi", Q::Bytes, 4503599627370496},
        {"3Ei", Q::TooLarge},  // Value() 3458764513820540928
        {"10Ti", Q::Bytes, 10995116277760}, {"100Ti", Q::Bytes, 109951162777600},
        // decimal suffixes; n, u and m of one are fractions of a byte (Value() 1)
        {"5n", Q::BelowOneByte}, {"4u", Q::BelowOneByte}, {"3m", Q::BelowOneByte}, {"9", Q::Bytes, 9},
        {"8k", Q::Bytes, 8000}, {"50k", Q::Bytes, 50000}, {"7M", Q::Bytes, 7000000}, {"6G", Q::Bytes, 6000000000},
        {"5T", Q::Bytes, 5000000000000}, {"40T", Q::Bytes, 40000000000000}, {"300T", Q::Bytes, 300000000000000},
        {"2P", Q::Bytes, 2000000000000000},
        {"1E", Q::TooLarge},  // Value() 10^18
        // decimal exponents
        {"1E-3", Q::BelowOneByte}, {"1e3", Q::Bytes, 1000}, {"1E6", Q::Bytes, 1000000}, {"1e9", Q::Bytes, 1000000000},
        {"1E12", Q::Bytes, 1000000000000}, {"1e15", Q::Bytes, 1000000000000000},
        {"1E18", Q::TooLarge},
        // "Nonstandard but still parsable"
        {"1e14", Q::Bytes, 100000000000000}, {"1e13", Q::Bytes, 10000000000000}, {"100.035k", Q::Bytes, 100035},
        // "Things that look like floating point": below one byte (Value() 1), or rounded up
        {"0.001", Q::BelowOneByte}, {"0.0005k", Q::BelowOneByte}, {"0.005", Q::BelowOneByte},
        {"0.05", Q::BelowOneByte}, {"0.5", Q::BelowOneByte}, {"0.00050k", Q::BelowOneByte},
        {"0.00500", Q::BelowOneByte}, {"0.05000", Q::BelowOneByte}, {"0.50000", Q::BelowOneByte},
        {"0.5e0", Q::BelowOneByte}, {"0.5e-1", Q::BelowOneByte}, {"0.5e-2", Q::BelowOneByte},
        {"10.035M", Q::Bytes, 10035000}, {"1.2e3", Q::Bytes, 1200}, {"1.3E+6", Q::Bytes, 1300000},
        {"1.40e9", Q::Bytes, 1400000000}, {"1.53E12", Q::Bytes, 1530000000000}, {"1.6e15", Q::Bytes, 1600000000000000},
        {"1.7E18", Q::TooLarge},
        {"9.01", Q::Bytes, 10},  // rounded up, as Value() does
        {"8.1k", Q::Bytes, 8100}, {"7.123456M", Q::Bytes, 7123456}, {"6.987654321G", Q::Bytes, 6987654321},
        {"5.444T", Q::Bytes, 5444000000000}, {"40.1T", Q::Bytes, 40100000000000}, {"300.2T", Q::Bytes, 300200000000000},
        {"2.5P", Q::Bytes, 2500000000000000},
        {"1.01E", Q::TooLarge},
        // "Things that saturate/round": Kubernetes rounds up to 1n (Value() 1)
        {"3.001n", Q::BelowOneByte}, {"1.1E-9", Q::BelowOneByte}, {"0.0000000001", Q::BelowOneByte},
        {"0.0000000005", Q::BelowOneByte}, {"0.00000000050", Q::BelowOneByte}, {"0.5e-9", Q::BelowOneByte},
        {"0.9n", Q::BelowOneByte}, {"0.00000012345", Q::BelowOneByte}, {"0.00000012354", Q::BelowOneByte},
        {"9Ei", Q::TooLarge},                    // capped at 2^63-1 there
        {"9223372036854775807Ki", Q::TooLarge},  // capped at 2^63-1 there
        {"12E", Q::TooLarge},                    // Value() overflows to 0 there
        // "We'll accept fractional binary stuff, too."
        {"100.035Ki", Q::Bytes, 102436},  // 102435.84
        {"0.5Mi", Q::Bytes, 524288}, {"0.05Gi", Q::Bytes, 53687092}, {"0.025Ti", Q::Bytes, 27487790695},
        // "Things written by trolls"
        {"0.000000000001Ki", Q::BelowOneByte}, {".001", Q::BelowOneByte}, {".0001k", Q::BelowOneByte},
        {"1.", Q::Bytes, 1}, {"1.G", Q::Bytes, 1000000000},
        // its invalid list
        {"1.1.M", Q::NotAQuantity}, {"1+1.0M", Q::NotAQuantity}, {"0.1mi", Q::NotAQuantity},
        {"0.1am", Q::NotAQuantity}, {"aoeu", Q::NotAQuantity}, {".5i", Q::NotAQuantity}, {"1i", Q::NotAQuantity},
        {"-3.01i", Q::NotAQuantity}, {"-3.01e-", Q::NotAQuantity}, {" 1", Q::NotAQuantity}, {"1 ", Q::NotAQuantity},
        {"", Q::NotAQuantity},
        // TestParseQuantityString: "." and "-." are numbers without digits that ParseQuantity reads
        // as 0; here they would mean unlimited, so they are refused (the grammar needs a digit)
        {".", Q::NotAQuantity}, {"-.", Q::NotAQuantity}, {"0.025Ti", Q::Bytes, 27487790695},
        {"1.025Ti", Q::Bytes, 1126999418471}, {"-1.025Ti", Q::Negative},
        // TestQuantityParseEmit
        {"1024Mi", Q::Bytes, 1073741824}, {"1000M", Q::Bytes, 1000000000}, {".001Ki", Q::Bytes, 2},  // 1.024
        {".000001Ki", Q::BelowOneByte}, {".000000001Ki", Q::BelowOneByte}, {".000000000001Ki", Q::BelowOneByte},
        // TestQuantityParseNonNumericPanic
        {"Non-Numeric", Q::NotAQuantity},
    };
    return table;
}

TEST(ParseByteQuantity, KubernetesOwnTestCases) {
    for (const auto& c : kubernetesTable()) check(c);
}

// TestQuantityParse parses "-" + and "+" + every entry of its table too: "+" changes nothing,
// "-" makes every non-zero value negative.
TEST(ParseByteQuantity, KubernetesOwnTestCasesWithASign) {
    size_t n = 0;
    for (const auto& c : kubernetesTable()) {
        if (c.text.empty() || c.outcome == Q::NotAQuantity || c.text[0] == '-' || c.text[0] == '+') continue;
        check({"+" + c.text, c.outcome, c.bytes});
        bool zero = c.outcome == Q::Bytes && c.bytes == 0;
        check({"-" + c.text, zero ? Q::Bytes : Q::Negative, 0});
        ++n;
    }
    EXPECT_GE(n, 100u);
}

// The cases of the issue, and where Kubernetes' parser and its grammar part: the grammar and exact
// arithmetic decide, and nothing is read as something else. Kubernetes' behaviour for each was
// measured as above (v0.36.3 ParseQuantity + Value()).
TEST(ParseByteQuantity, SignsSuffixesExponentsAndTheCap) {
    const std::vector<QCase> cases = {
        {"max", Q::Bytes, 0},  // ours, not a quantity: unlimited
        {"+5", Q::Bytes, 5},
        {"-5", Q::Negative},
        {"-0.5", Q::Negative},             // Value() -1
        {"-0.0000000001", Q::Negative},    // Value() 1 there (rounded away from zero, then up)
        {"-1Mi", Q::Negative},
        {"+1Mi", Q::Bytes, 1048576},
        {"-0", Q::Bytes, 0},  // zero has no sign
        {"+0", Q::Bytes, 0},
        {"-0.0", Q::Bytes, 0},
        {"0.0", Q::Bytes, 0},
        {"0.0Mi", Q::Bytes, 0},
        {"0e3", Q::Bytes, 0},
        {"0e999", Q::Bytes, 0},
        {"0e-999", Q::Bytes, 0},
        {"000", Q::Bytes, 0},
        {".5", Q::BelowOneByte},
        {"5.", Q::Bytes, 5},
        {"1e3", Q::Bytes, 1000},
        {"1E3", Q::Bytes, 1000},  // E followed by digits is an exponent, not exa
        {"1e-3", Q::BelowOneByte},
        {"1e+3", Q::Bytes, 1000},
        {"1e0003", Q::Bytes, 1000},
        {"1e-0003", Q::BelowOneByte},
        {"1.e3", Q::Bytes, 1000},
        {".5e3", Q::Bytes, 500},
        {"5.e-1", Q::BelowOneByte},
        {"1.5Gi", Q::Bytes, 1610612736},
        {"1.5", Q::Bytes, 2},  // Value() 2: rounded up, as Kubernetes does
        {"1.0000000001", Q::Bytes, 2},
        {"1.000000001", Q::Bytes, 2},
        {"2.0", Q::Bytes, 2},
        {"0.5", Q::BelowOneByte},
        {"0.5Ki", Q::Bytes, 512},
        {"0.0001Ki", Q::BelowOneByte},  // 0.1024
        {"100m", Q::BelowOneByte},      // 0.1: milli, not mega
        {"500m", Q::BelowOneByte},
        {"999m", Q::BelowOneByte},
        {"1000m", Q::Bytes, 1},
        {"1001m", Q::Bytes, 2},
        {"1500m", Q::Bytes, 2},  // 1.5 bytes, as "1.5"
        {"2000m", Q::Bytes, 2},
        {"1u", Q::BelowOneByte},
        {"1000000u", Q::Bytes, 1},
        {"1000000n", Q::BelowOneByte},
        {"1000000000n", Q::Bytes, 1},
        {"1500000000n", Q::Bytes, 2},
        {"0.1m", Q::BelowOneByte},
        {"1e-9", Q::BelowOneByte},
        {"1e-10", Q::BelowOneByte},
        {"1e-100", Q::BelowOneByte},
        {"0500", Q::Bytes, 500},  // leading zeros
        {"007Ki", Q::Bytes, 7168},
        {"000000000000000000000000000000000000001Ki", Q::Bytes, 1024},
        {"1.000000000000000000000000000000000000", Q::Bytes, 1},
        // the cap: kMaxLimitValue = 2^53 = 8Pi
        {"9007199254740992", Q::Bytes, 9007199254740992},
        {"8Pi", Q::Bytes, 9007199254740992},
        {"9007199254740993", Q::TooLarge},
        {"8.0001Pi", Q::TooLarge},
        {"9Pi", Q::TooLarge},
        {"1e16", Q::TooLarge},
        {"1e18", Q::TooLarge},
        {"1e19", Q::TooLarge},   // Value() overflows to 0 there
        {"1e20", Q::TooLarge},
        {"1e100", Q::TooLarge},
        {"99999999999999999999", Q::TooLarge},  // Value() 7766279631452241919 there (overflow)
        {"999999999999999999999999999999Ei", Q::TooLarge},
        {"3000E", Q::TooLarge},  // there: Value() 0 and String() "3"
        // exponents: Kubernetes keeps 32 bits of a 64-bit exponent
        {"1e2147483647", Q::TooLarge},            // Value() 0 there
        {"1e2147483648", Q::TooLarge},            // does not finish there (> 10 s, 650 MB)
        {"1e-2147483648", Q::BelowOneByte},       // does not finish there
        {"1e4294967296", Q::TooLarge},            // 1 there (the exponent wraps to 0)
        {"1e-4294967296", Q::BelowOneByte},       // 1 there
        {"1e9223372036854775807", Q::TooLarge},   // 1 there
        {"1e-9223372036854775808", Q::BelowOneByte},
        {"0e9223372036854775807", Q::Bytes, 0},
        {"1e9223372036854775808", Q::NotAQuantity},   // refused there too: beyond 64 bits
        {"1e-9223372036854775809", Q::NotAQuantity},
        // numbers without digits: 0 in Kubernetes' parser, not in its grammar
        {"+", Q::NotAQuantity}, {"-", Q::NotAQuantity}, {"+.", Q::NotAQuantity}, {"M", Q::NotAQuantity},
        {"Mi", Q::NotAQuantity}, {"Ki", Q::NotAQuantity}, {"k", Q::NotAQuantity}, {"e5", Q::NotAQuantity},
        {"E5", Q::NotAQuantity}, {"E", Q::NotAQuantity}, {".e3", Q::NotAQuantity},
        // refused by Kubernetes too
        {"e", Q::NotAQuantity}, {"1e", Q::NotAQuantity}, {"1e+", Q::NotAQuantity}, {"1e-", Q::NotAQuantity},
        {"1.5.5", Q::NotAQuantity}, {"0x10", Q::NotAQuantity}, {"1_000", Q::NotAQuantity}, {"1,000", Q::NotAQuantity},
        {"10ki", Q::NotAQuantity}, {"10K", Q::NotAQuantity}, {"10Xi", Q::NotAQuantity}, {"1kB", Q::NotAQuantity},
        {"1KiB", Q::NotAQuantity}, {"1ei", Q::NotAQuantity}, {"1EI", Q::NotAQuantity}, {"1EE", Q::NotAQuantity},
        {"1ee3", Q::NotAQuantity}, {"1e3k", Q::NotAQuantity}, {"1e3Mi", Q::NotAQuantity}, {"1Mi5", Q::NotAQuantity},
        {"1k3", Q::NotAQuantity}, {"1ki", Q::NotAQuantity}, {"1KI", Q::NotAQuantity}, {"1mi", Q::NotAQuantity},
        {"++1", Q::NotAQuantity}, {"--1", Q::NotAQuantity}, {"+-1", Q::NotAQuantity}, {"abc", Q::NotAQuantity},
        {"MAX", Q::NotAQuantity}, {"1 Mi", Q::NotAQuantity}, {"1\tMi", Q::NotAQuantity}, {"1\n", Q::NotAQuantity},
        {std::string("5\0", 2), Q::NotAQuantity}, {"\xd9\xa1", Q::NotAQuantity},  // NUL; Arabic-Indic digit one
        // longer than an annotation value may be
        {std::string(65, '1'), Q::TooLong},
        {"0." + std::string(63, '0'), Q::TooLong},
    };
    for (const auto& c : cases) check(c);
}

TEST(ParseByteQuantity, MessagesNameTheFault) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"-5", "\"-5\" is negative: a byte rate must be 0 (unlimited) or positive"},
        {"100m", "\"100m\" is less than one byte per second (0.1; m is milli (1/1000), M is mega): a byte rate must "
                 "be 0 (unlimited) or at least 1"},
        {"0.5", "\"0.5\" is less than one byte per second (0.5): a byte rate must be 0 (unlimited) or at least 1"},
        {"1e-100", "\"1e-100\" is less than one byte per second: a byte rate must be 0 (unlimited) or at least 1"},
        {"9Pi", "\"9Pi\" is too large: a byte rate is at most 9007199254740992 (8Pi) bytes per second"},
        {"10K", "\"10K\" is not a Kubernetes quantity: unknown suffix \"K\" (binary Ki Mi Gi Ti Pi Ei; decimal n u m "
                "k M G T P E, where m is milli and M mega; or e/E and an exponent)"},
        {"1 ", "\"1 \" is not a Kubernetes quantity: spaces are not allowed"},
        {"Mi", "\"Mi\" is not a Kubernetes quantity: the number has no digits (Kubernetes' parser reads it as 0; "
               "write 0 or max for unlimited)"},
        {"abc", "\"abc\" is not a Kubernetes quantity: expected an optional sign, digits with an optional \".\" and "
                "a suffix, as in 1048576, 100M, 100Mi, 1.5Gi or 1e9"},
        {"", "\"\" is not a Kubernetes quantity: it is empty"},
        {"1e99999999999999999999", "\"1e99999999999999999999\" is not a Kubernetes quantity: the exponent "
                                   "99999999999999999999 is out of range (Kubernetes reads 64 bits)"},
    };
    for (const auto& [text, want] : cases) {
        SCOPED_TRACE(text);
        auto r = parseByteQuantity(text);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message, want);
    }
}

TEST(FormatBytes, ChoosesTheExactShortestSuffix) {
    const std::vector<std::pair<uint64_t, std::string>> cases = {
        {0, "max"},
        {1, "1"},
        {999, "999"},
        {1000, "1k"},
        {1024, "1Ki"},
        {1536, "1536"},
        {1000000, "1M"},
        {1048576, "1Mi"},
        {104857600, "100Mi"},
        {100000000, "100M"},
        {1073741824, "1Gi"},
        {k2p53, "8Pi"},
    };
    for (const auto& [v, want] : cases) {
        SCOPED_TRACE(v);
        EXPECT_EQ(formatBytes(v), want);
    }
}

TEST(FormatBytes, RoundTripsThroughParseByteQuantity) {
    std::vector<uint64_t> values = {0,          1,           7,          1000,           1023,           1024,
                                    1025,       1536,        4096,       1000000,        1024000,        1048576,
                                    1500000,    104857600,   100000000,  123456789,      1073741824,     5000000000,
                                    k2p53 - 1,  k2p53,       k2p53 / 3,  uint64_t{3} << 40, 1000000000000000};
    for (uint64_t p = 1; p <= k2p53; p *= 2) values.push_back(p);
    for (uint64_t p = 1; p <= k2p53; p *= 10) values.push_back(p);
    for (uint64_t v : values) {
        std::string text = formatBytes(v);
        SCOPED_TRACE(std::to_string(v) + " -> " + text);
        auto back = parseByteQuantity(text);
        ASSERT_TRUE(back.ok()) << back.error().message;
        EXPECT_EQ(*back, v);
    }
}

TEST(LimitValueString, MaxForZero) {
    EXPECT_EQ(limitValueString(0), "max");
    EXPECT_EQ(limitValueString(1), "1");
    EXPECT_EQ(limitValueString(500), "500");
}

}  // namespace
}  // namespace iopslimit::core
