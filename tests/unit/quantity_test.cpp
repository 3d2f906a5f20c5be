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

TEST(ParseByteQuantity, AcceptsKubernetesQuantities) {
    const std::vector<Good> cases = {
        {"0", 0},
        {"max", 0},
        {"1", 1},
        {"1048576", 1048576},
        {"1k", 1000},
        {"100M", 100000000},
        {"2G", 2000000000},
        {"1T", 1000000000000},
        {"1P", 1000000000000000},
        {"1Ki", 1024},
        {"100Mi", 104857600},
        {"1Gi", 1073741824},
        {"1.5Gi", 1610612736},
        {"2Ti", uint64_t{2} << 40},
        {"8Pi", k2p53},  // exactly the cap
        {"1e9", 1000000000},
        {"1E3", 1000},  // upper-case E followed by digits is an exponent, not exa
        {"5e0", 5},
        {"0.5", 1},        // fractions round up to a whole byte, as Quantity.Value() does
        {"0.1", 1},
        {"1.0000001", 2},  // any fraction rounds up
        {"1.5", 2},
        {"2.0", 2},
        {"0.5Ki", 512},
        {"1.5k", 1500},
        {"0.0001k", 1},
        {"000000000000000000000000000000000000001Ki", 1024},  // zero padding is not overflow
        {"1.000000000000000000000000000000000000", 1},         // nor are trailing fraction zeros
        {"9007199254740992", k2p53},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        auto r = parseByteQuantity(c.text);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(*r, c.want);
    }
}

TEST(ParseByteQuantity, RejectsInvalidNegativeMilliAndOverflow) {
    const std::vector<std::string> cases = {
        "-5",
        "-0.5",
        "+5",
        "abc",
        "100m",  // milli: 0.1 byte is not a byte rate
        "10Xi",
        "10ki",  // binary suffixes are upper-case
        "10K",   // decimal kilo is lower-case k
        "1e",
        "1e+",
        "",
        " 5",
        "5 ",
        "1 Mi",
        "Mi",
        ".",
        "1..5",
        "1.5.5",
        "0x10",
        "1E",                      // exa: 10^18 is above 2^53
        "1Ei",                     // 2^60
        "9Pi",                     // 9 * 2^50 > 2^53
        "8.0001Pi",                // just above the cap
        "9007199254740993",        // 2^53 + 1
        "1e19",
        "1e20",
        "1e999",
        "99999999999999999999Ei",
        "999999999999999999999999999999Ei",
        "99999999999999999999999999999999999999999999",  // 44 digits
        std::string(65, '1'),                              // longer than any annotation value
    };
    for (const auto& c : cases) {
        SCOPED_TRACE("\"" + c + "\"");
        auto r = parseByteQuantity(c);
        EXPECT_FALSE(r.ok()) << "accepted as " << (r.ok() ? *r : 0);
        if (!r.ok()) {
            EXPECT_FALSE(r.error().message.empty());
        }
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
