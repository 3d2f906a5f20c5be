// Per-container IO counters and pressure as the kernel prints them (v2 io.stat and io.pressure,
// v1 blkio.throttle.io_serviced/io_service_bytes), and rates between two samples.
#include "core/io_stats.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace iopslimit::core {
namespace {

// The kernel's cgroup-v2 documentation example plus the keys newer kernels add.
constexpr const char* kIoStat =
    "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n"
    "8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021\n"
    "259:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0 cost.vrate=100.00 cost.usage=0 cost.wait=0 cost.indebt=0 cost.indelay=0\n";

TEST(ParseIoStat, CountersByDeviceUnknownKeysIgnored) {
    auto r = parseIoStat(kIoStat);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ(r->at(DevNum{8, 16}), (IoCounters{192, 353, 1459200, 314773504}));
    EXPECT_EQ(r->at(DevNum{8, 0}), (IoCounters{8950, 1252, 90430464, 299008000}));
    EXPECT_EQ(r->at(DevNum{259, 0}), (IoCounters{1, 0, 4096, 0}));
}

TEST(ParseIoStat, EmptyFileMeansNoIoYet) {
    auto r = parseIoStat("");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
}

TEST(ParseIoStat, MalformedLinesAreErrorsNamingTheLine) {
    for (const char* bad : {"8:16 rios=abc\n", "8:16 rios=-1\n", "8 rios=1\n", "x:y rios=1\n", "8:16 rios\n",
                            "8:16 rios=99999999999999999999999\n", "8:99999999999 rios=1\n"}) {
        auto r = parseIoStat(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message.find("malformed io.stat line"), std::string::npos) << r.error().message;
    }
}

// Recorded on this project's VM (kernel 6.18, v1 blkio root).
constexpr const char* kServiced =
    "254:0 Read 221860\n254:0 Write 381143\n254:0 Sync 547876\n254:0 Async 348825\n254:0 Discard 293698\n"
    "254:0 Total 896701\n7:0 Read 12\n7:0 Write 0\n7:0 Sync 12\n7:0 Async 0\n7:0 Discard 0\n7:0 Total 12\nTotal 896713\n";
constexpr const char* kServiceBytes =
    "254:0 Read 2542747648\n254:0 Write 29350192128\n254:0 Sync 31680189440\n254:0 Async 28431736832\n"
    "254:0 Discard 28218986496\n254:0 Total 60111926272\nTotal 60111926272\n";

TEST(ParseBlkioThrottle, ReadAndWriteOfBothFiles) {
    auto r = parseBlkioThrottle(kServiced, kServiceBytes);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->at(DevNum{254, 0}), (IoCounters{221860, 381143, 2542747648, 29350192128}));
    EXPECT_EQ(r->at(DevNum{7, 0}), (IoCounters{12, 0, 0, 0}));
}

TEST(ParseBlkioThrottle, AFreshCgroupHasOnlyTotal) {
    auto r = parseBlkioThrottle("Total 0\n", "Total 0\n");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
}

TEST(ParseBlkioThrottle, MalformedLines) {
    for (const char* bad : {"254:0 Read\n", "254:0 Read x\n", "254:0 Frobnicate 3\n", "254:0 Read 1 2\n", "nonsense\n"}) {
        auto r = parseBlkioThrottle(bad, "");
        EXPECT_FALSE(r) << bad;
    }
    EXPECT_FALSE(parseBlkioThrottle("", "254:0 Write -3\n"));
}

TEST(ParsePressure, SomeAndFull) {
    // /proc/pressure/io of this VM.
    auto r = parsePressure("some avg10=1.25 avg60=0.08 avg300=0.23 total=66863326\n"
                           "full avg10=0.50 avg60=0.01 avg300=0.12 total=33422567\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_DOUBLE_EQ(r->someAvg10, 1.25);
    EXPECT_DOUBLE_EQ(r->someAvg60, 0.08);
    EXPECT_DOUBLE_EQ(r->someAvg300, 0.23);
    EXPECT_EQ(r->someTotalUsec, 66863326u);
    EXPECT_DOUBLE_EQ(r->fullAvg10, 0.50);
    EXPECT_EQ(r->fullTotalUsec, 33422567u);
}

TEST(ParsePressure, BadInput) {
    for (const char* bad : {"", "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                            "some avg10=abc avg60=0.00 avg300=0.00 total=0\n", "some avg10=0.00 avg60=0.00 total=0\n",
                            "some avg10=-1 avg60=0.00 avg300=0.00 total=0\n", "some avg10=1e9 avg60=0 avg300=0 total=0\n",
                            "other avg10=0.00\n", "some avg10\n"}) {
        EXPECT_FALSE(parsePressure(bad)) << bad;
    }
}

TEST(StallShare, PercentOfTheWindowFromTotalCounters) {
    struct Case {
        uint64_t before, after;
        double seconds;
        std::optional<double> want;
    } cases[] = {
        {1000, 1000, 10, 0.0},                   // no stall
        {0, 1'000'000, 10, 10.0},                // 1 s of 10
        {33422567, 36822567, 10, 34.0},          // 3.4 s of 10, from a real counter
        {5, 2'000'005, 2, 100.0},                // stalled all along
        {0, 30'000'000, 10, 100.0},              // more than the window (the reads straddle it): capped
        {2'000'000, 1'000'000, 10, std::nullopt},  // went backwards: the cgroup was re-created
        {0, 1000, 0, std::nullopt},              // no window
        {0, 1000, -1, std::nullopt},
    };
    for (const auto& c : cases) {
        auto got = stallShare(c.before, c.after, c.seconds);
        ASSERT_EQ(got.has_value(), c.want.has_value()) << c.before << " " << c.after << " " << c.seconds;
        if (got) {
            EXPECT_NEAR(*got, *c.want, 1e-9) << c.before << " " << c.after << " " << c.seconds;
        }
    }
}

TEST(RatesBetween, PerSecondAndCounterReset) {
    IoCounters a{100, 200, 4096, 8192}, b{300, 250, 4096 + 1000, 8192};
    IoRates r = ratesBetween(a, b, 2.0);
    EXPECT_DOUBLE_EQ(r.readIops, 100);
    EXPECT_DOUBLE_EQ(r.writeIops, 25);
    EXPECT_DOUBLE_EQ(r.readBps, 500);
    EXPECT_DOUBLE_EQ(r.writeBps, 0);
    // The cgroup was re-created: the new counter counts from zero.
    IoRates reset = ratesBetween(b, IoCounters{10, 0, 0, 0}, 1.0);
    EXPECT_DOUBLE_EQ(reset.readIops, 10);
    EXPECT_DOUBLE_EQ(ratesBetween(a, b, 0).readIops, 0);
    EXPECT_DOUBLE_EQ(ratesBetween(a, b, -1).readIops, 0);
}

}  // namespace
}  // namespace iopslimit::core
