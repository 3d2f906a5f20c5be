// The kernel's throttle file formats: v2 io.max and v1 blkio.throttle.*_device.
#include "core/io_lines.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace iopslimit::core {
namespace {

TEST(RenderIoMaxLine, ExactText) {
    const std::vector<std::tuple<DevNum, Limits, std::string>> cases = {
        {{8, 0}, {200, 0, 0, 0}, "8:0 rbps=max wbps=max riops=200 wiops=max\n"},
        {{8, 0}, {}, "8:0 rbps=max wbps=max riops=max wiops=max\n"},
        {{259, 3}, {500, 400, 1048576, 2097152}, "259:3 rbps=1048576 wbps=2097152 riops=500 wiops=400\n"},
        {{253, 17}, {0, 100, 0, 5}, "253:17 rbps=max wbps=5 riops=max wiops=100\n"},
    };
    for (const auto& [dev, limits, want] : cases) {
        SCOPED_TRACE(want);
        EXPECT_EQ(renderIoMaxLine(dev, limits), want);
    }
}

TEST(ParseIoMax, KernelContent) {
    // As the kernel prints it: only devices with some limit, one line each.
    const std::string content =
        "8:0 rbps=max wbps=max riops=200 wiops=max\n"
        "259:0 rbps=1048576 wbps=2097152 riops=max wiops=100\n"
        "253:1 rbps=max wbps=max riops=10 wiops=20\n";
    auto r = parseIoMax(content);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const std::map<DevNum, Limits> want = {
        {{8, 0}, {200, 0, 0, 0}},
        {{259, 0}, {0, 100, 1048576, 2097152}},
        {{253, 1}, {10, 20, 0, 0}},
    };
    EXPECT_EQ(*r, want);
}

TEST(ParseIoMax, EmptyAndBlankContent) {
    for (const char* c : {"", "\n", "\n\n"}) {
        SCOPED_TRACE(c);
        auto r = parseIoMax(c);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(r->empty());
    }
}

TEST(ParseIoMax, ToleratesOrderMissingKeysUnknownKeysAndNoTrailingNewline) {
    auto r = parseIoMax("8:16 wiops=7 riops=3 future=1\n8:32 rbps=9");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const std::map<DevNum, Limits> want = {{{8, 16}, {3, 7, 0, 0}}, {{8, 32}, {0, 0, 9, 0}}};
    EXPECT_EQ(*r, want);
}

TEST(ParseIoMax, MalformedLinesAreErrors) {
    const std::vector<std::string> cases = {
        "8:0 riops",
        "8:0 riops=abc",
        "8:0 riops=-1",
        "8:0 riops=1.5",
        "8:0 riops=",
        "x:y riops=1",
        "8 riops=1",
        "8: riops=1",
        ":0 riops=1",
        "8:0:1 riops=1",
        "riops=1",
        "8:0 rbps=max\ngarbage",
        "8:0 riops=99999999999999999999999",  // beyond u64
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c);
        auto r = parseIoMax(c);
        EXPECT_FALSE(r.ok());
        if (!r.ok()) {
            EXPECT_FALSE(r.error().message.empty());
        }
    }
}

TEST(ParseIoMax, RoundTripsRenderedLines) {
    const std::vector<std::pair<DevNum, Limits>> cases = {
        {{8, 0}, {200, 0, 0, 0}},
        {{8, 0}, {1, 2, 3, 4}},
        {{259, 1}, {0, 0, 0, 1}},
        {{4095, 1048575}, {uint64_t{1} << 53, 1, uint64_t{1} << 40, 0}},
    };
    std::string all;
    std::map<DevNum, Limits> want;
    for (const auto& [dev, l] : cases) {
        auto r = parseIoMax(renderIoMaxLine(dev, l));
        ASSERT_TRUE(r.ok()) << r.error().message;
        ASSERT_EQ(r->size(), 1u);
        EXPECT_EQ(r->begin()->first, dev);
        EXPECT_EQ(r->begin()->second, l);
        all += renderIoMaxLine(dev, l);
        want[dev] = l;  // later lines for the same device win
    }
    auto r = parseIoMax(all);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, want);
}

TEST(Blkio, RenderExactText) {
    EXPECT_EQ(renderBlkioLine({8, 0}, 200), "8:0 200\n");
    EXPECT_EQ(renderBlkioLine({259, 2}, 1048576), "259:2 1048576\n");
    EXPECT_EQ(renderBlkioLine({8, 0}, 0), "8:0 0\n");  // writing 0 removes the limit
}

TEST(Blkio, ParseKernelContent) {
    auto r = parseBlkioThrottle("8:0 200\n259:0 1048576\n");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const std::map<DevNum, uint64_t> want = {{{8, 0}, 200}, {{259, 0}, 1048576}};
    EXPECT_EQ(*r, want);
}

TEST(Blkio, ZeroValueIsNoLimit) {
    auto r = parseBlkioThrottle("8:0 0\n8:16 300\n");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const std::map<DevNum, uint64_t> want = {{{8, 16}, 300}};
    EXPECT_EQ(*r, want);
}

TEST(Blkio, EmptyContent) {
    for (const char* c : {"", "\n"}) {
        auto r = parseBlkioThrottle(c);
        ASSERT_TRUE(r.ok());
        EXPECT_TRUE(r->empty());
    }
}

TEST(Blkio, MalformedLinesAreErrors) {
    for (const char* c : {"8:0", "8:0 abc", "8:0 1 2", "abc 1", "8:0 -1", "8 100", "8:0\t", "8:0 200\nx"}) {
        SCOPED_TRACE(c);
        EXPECT_FALSE(parseBlkioThrottle(c).ok());
    }
}

TEST(Blkio, RoundTrip) {
    for (uint64_t v : {uint64_t{1}, uint64_t{200}, uint64_t{1} << 53}) {
        auto r = parseBlkioThrottle(renderBlkioLine({8, 0}, v));
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->at({8, 0}), v);
    }
}

TEST(ParseDevNum, Forms) {
    auto d = parseDevNum("259:12");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, (DevNum{259, 12}));
    EXPECT_EQ(d->str(), "259:12");
    for (const char* bad : {"", ":", "8", "8:", ":0", "a:b", "8:0:1", "-8:0", "8:-0", " 8:0", "8:0 "}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parseDevNum(bad).ok());
    }
}

TEST(DevNum, OrderAndEquality) {
    EXPECT_LT((DevNum{8, 0}), (DevNum{8, 16}));
    EXPECT_LT((DevNum{8, 16}), (DevNum{259, 0}));
    EXPECT_FALSE((DevNum{8, 0}) < (DevNum{8, 0}));
    EXPECT_EQ((DevNum{8, 0}), (DevNum{8, 0}));
}

TEST(Limits, Unlimited) {
    EXPECT_TRUE(Limits{}.unlimited());
    EXPECT_FALSE((Limits{0, 0, 0, 1}).unlimited());
    EXPECT_FALSE((Limits{1, 0, 0, 0}).unlimited());
}

}  // namespace
}  // namespace iopslimit::core
