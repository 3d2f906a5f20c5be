// Pod annotations -> limits: container key > pod key > default per direction; within a level
// read-iops > iops > limit and read-bps > bps; a bad value is a problem and falls through.
#include "core/annotations.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

namespace iopslimit::core {
namespace {

using Annotations = std::map<std::string, std::string>;
using O = Origin;

const Limits kDefaults{500, 500, 0, 0};  // readIops, writeIops, readBps, writeBps

struct Case {
    std::string name;
    Annotations annotations;
    Limits want;
    std::array<Origin, 4> origins;
    std::array<std::string, 4> keys;     // deciding key per direction, "" when the default applies
    std::vector<std::string> problemKeys;  // in the order reported
};

TEST(DecideLimits, Precedence) {
    const std::vector<Case> cases = {
        {"no annotations", {}, kDefaults, {O::Default, O::Default, O::Default, O::Default}, {}, {}},
        {"unrelated annotations", {{"kubernetes.io/config.seen", "x"}, {"iops", "5"}, {"iops-limit.io/iops", "5"}},
         kDefaults, {O::Default, O::Default, O::Default, O::Default}, {}, {}},
        {"pod limit sets both IOPS directions",
         {{"iops-limit/limit", "100"}},
         {100, 100, 0, 0},
         {O::PodAnnotation, O::PodAnnotation, O::Default, O::Default},
         {"iops-limit/limit", "iops-limit/limit", "", ""},
         {}},
        {"iops beats limit",
         {{"iops-limit/limit", "100"}, {"iops-limit/iops", "200"}},
         {200, 200, 0, 0},
         {O::PodAnnotation, O::PodAnnotation, O::Default, O::Default},
         {"iops-limit/iops", "iops-limit/iops", "", ""},
         {}},
        {"read-iops beats iops beats limit",
         {{"iops-limit/limit", "100"}, {"iops-limit/iops", "200"}, {"iops-limit/read-iops", "300"}},
         {300, 200, 0, 0},
         {O::PodAnnotation, O::PodAnnotation, O::Default, O::Default},
         {"iops-limit/read-iops", "iops-limit/iops", "", ""},
         {}},
        {"write-iops alone leaves read at the default",
         {{"iops-limit/write-iops", "50"}},
         {500, 50, 0, 0},
         {O::Default, O::PodAnnotation, O::Default, O::Default},
         {"", "iops-limit/write-iops", "", ""},
         {}},
        {"container limit beats the more specific pod key",
         {{"iops-limit/limit.app", "10"}, {"iops-limit/read-iops", "300"}},
         {10, 10, 0, 0},
         {O::ContainerAnnotation, O::ContainerAnnotation, O::Default, O::Default},
         {"iops-limit/limit.app", "iops-limit/limit.app", "", ""},
         {}},
        {"container read-iops, pod iops for write",
         {{"iops-limit/read-iops.app", "1"}, {"iops-limit/iops", "2"}},
         {1, 2, 0, 0},
         {O::ContainerAnnotation, O::PodAnnotation, O::Default, O::Default},
         {"iops-limit/read-iops.app", "iops-limit/iops", "", ""},
         {}},
        {"another container's key does not apply",
         {{"iops-limit/iops.db", "7"}, {"iops-limit/read-bps.db", "1Mi"}},
         kDefaults, {O::Default, O::Default, O::Default, O::Default}, {}, {}},
        {"bps for both, read-bps beats bps",
         {{"iops-limit/bps", "10Mi"}, {"iops-limit/read-bps", "1Mi"}},
         {500, 500, 1048576, 10485760},
         {O::Default, O::Default, O::PodAnnotation, O::PodAnnotation},
         {"", "", "iops-limit/read-bps", "iops-limit/bps"},
         {}},
        {"container write-bps beats pod bps",
         {{"iops-limit/write-bps.app", "100M"}, {"iops-limit/bps", "10Mi"}},
         {500, 500, 10485760, 100000000},
         {O::Default, O::Default, O::PodAnnotation, O::ContainerAnnotation},
         {"", "", "iops-limit/bps", "iops-limit/write-bps.app"},
         {}},
        {"limit is IOPS only; bps is bytes only",
         {{"iops-limit/limit", "7"}, {"iops-limit/bps", "1000"}},
         {7, 7, 1000, 1000},
         {O::PodAnnotation, O::PodAnnotation, O::PodAnnotation, O::PodAnnotation},
         {"iops-limit/limit", "iops-limit/limit", "iops-limit/bps", "iops-limit/bps"},
         {}},
        {"0 and max mean unlimited, decided by the annotation",
         {{"iops-limit/read-iops", "0"}, {"iops-limit/write-iops", "max"}, {"iops-limit/bps", "max"}},
         {0, 0, 0, 0},
         {O::PodAnnotation, O::PodAnnotation, O::PodAnnotation, O::PodAnnotation},
         {"iops-limit/read-iops", "iops-limit/write-iops", "iops-limit/bps", "iops-limit/bps"},
         {}},
        {"container 0 lifts a pod limit",
         {{"iops-limit/iops.app", "0"}, {"iops-limit/iops", "100"}},
         {0, 0, 0, 0},
         {O::ContainerAnnotation, O::ContainerAnnotation, O::Default, O::Default},
         {"iops-limit/iops.app", "iops-limit/iops.app", "", ""},
         {}},
        {"invalid read-iops falls back to pod iops",
         {{"iops-limit/read-iops", "abc"}, {"iops-limit/iops", "300"}},
         {300, 300, 0, 0},
         {O::PodAnnotation, O::PodAnnotation, O::Default, O::Default},
         {"iops-limit/iops", "iops-limit/iops", "", ""},
         {"iops-limit/read-iops"}},
        {"invalid container key falls back to the pod level",
         {{"iops-limit/read-iops.app", "-5"}, {"iops-limit/read-iops", "100"}},
         {100, 500, 0, 0},
         {O::PodAnnotation, O::Default, O::Default, O::Default},
         {"iops-limit/read-iops", "", "", ""},
         {"iops-limit/read-iops.app"}},
        {"invalid key affects only its own direction",
         {{"iops-limit/read-iops", "abc"}, {"iops-limit/write-iops", "20"}},
         {500, 20, 0, 0},
         {O::Default, O::PodAnnotation, O::Default, O::Default},
         {"", "iops-limit/write-iops", "", ""},
         {"iops-limit/read-iops"}},
        {"1e9 is not an IOPS value but is a byte quantity",
         {{"iops-limit/iops", "1e9"}, {"iops-limit/bps", "1e9"}},
         {500, 500, 1000000000, 1000000000},
         {O::Default, O::Default, O::PodAnnotation, O::PodAnnotation},
         {"", "", "iops-limit/bps", "iops-limit/bps"},
         {"iops-limit/iops"}},
        {"invalid at both levels: the default, two problems",
         {{"iops-limit/iops.app", "x"}, {"iops-limit/iops", "1.5"}},
         kDefaults,
         {O::Default, O::Default, O::Default, O::Default},
         {},
         {"iops-limit/iops.app", "iops-limit/iops"}},
        {"invalid byte values",
         {{"iops-limit/read-bps", "100m"}, {"iops-limit/write-bps", "-1Mi"}, {"iops-limit/bps", "2Mi"}},
         {500, 500, 2097152, 2097152},
         {O::Default, O::Default, O::PodAnnotation, O::PodAnnotation},
         {"", "", "iops-limit/bps", "iops-limit/bps"},
         {"iops-limit/read-bps", "iops-limit/write-bps"}},
        {"value over 64 characters",
         {{"iops-limit/write-iops", std::string(65, '1')}, {"iops-limit/limit", "9"}},
         {9, 9, 0, 0},
         {O::PodAnnotation, O::PodAnnotation, O::Default, O::Default},
         {"iops-limit/limit", "iops-limit/limit", "", ""},
         {"iops-limit/write-iops"}},
        {"a valid 64-character quantity is accepted, 65 is not",
         {{"iops-limit/read-bps", std::string(61, '0') + "1Mi"}, {"iops-limit/write-bps", std::string(62, '0') + "1Mi"}},
         {500, 500, 1048576, 0},
         {O::Default, O::Default, O::PodAnnotation, O::Default},
         {"", "", "iops-limit/read-bps", ""},
         {"iops-limit/write-bps"}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        LimitDecision d = decideLimits(c.annotations, "app", kDefaults);
        EXPECT_EQ(d.limits, c.want) << "got " << d.limits.readIops << "/" << d.limits.writeIops << "/"
                                    << d.limits.readBps << "/" << d.limits.writeBps;
        for (int dir = 0; dir < 4; ++dir) {
            SCOPED_TRACE(directionName(static_cast<Direction>(dir)));
            EXPECT_EQ(d.origins[dir], c.origins[dir]);
            EXPECT_EQ(d.keys[dir], c.keys[dir]);
            EXPECT_EQ(limitOf(d.limits, static_cast<Direction>(dir)), limitOf(c.want, static_cast<Direction>(dir)));
        }
        bool fromAnnotation = false;
        for (auto o : c.origins) fromAnnotation = fromAnnotation || o != O::Default;
        EXPECT_EQ(d.fromAnnotation(), fromAnnotation);
        std::vector<std::string> problemKeys;
        for (const auto& p : d.problems) {
            problemKeys.push_back(p.key);
            EXPECT_FALSE(p.error.empty());
            EXPECT_LE(p.value.size(), kMaxAnnotationValue + 3);  // cut, plus "…"
        }
        std::sort(problemKeys.begin(), problemKeys.end());
        auto want = c.problemKeys;
        std::sort(want.begin(), want.end());
        EXPECT_EQ(problemKeys, want);
    }
}

TEST(DecideLimits, ProblemCarriesKeyValueAndReason) {
    auto d = decideLimits({{"iops-limit/read-iops", "abc"}}, "app", kDefaults);
    ASSERT_EQ(d.problems.size(), 1u);
    EXPECT_EQ(d.problems[0].key, "iops-limit/read-iops");
    EXPECT_EQ(d.problems[0].value, "abc");
    EXPECT_NE(d.problems[0].error.find("abc"), std::string::npos) << d.problems[0].error;

    const std::string longValue(200, '7');
    auto l = decideLimits({{"iops-limit/iops.app", longValue}}, "app", kDefaults);
    ASSERT_EQ(l.problems.size(), 1u);
    EXPECT_EQ(l.problems[0].key, "iops-limit/iops.app");
    EXPECT_EQ(l.problems[0].value.substr(0, 64), longValue.substr(0, 64));
    EXPECT_LT(l.problems[0].value.size(), longValue.size());
    EXPECT_EQ(l.limits, kDefaults);
}

TEST(DecideLimits, DefaultsPassThroughUntouched) {
    const Limits defaults{1, 2, 3, 4};
    auto d = decideLimits({{"iops-limit/read-iops", "9"}}, "c", defaults);
    EXPECT_EQ(d.limits, (Limits{9, 2, 3, 4}));
}

TEST(UnknownAnnotationKeys, ReportsTyposUnderOurPrefixOnly) {
    const Annotations a = {
        {"aaa", "1"},
        {"iops-limit-x/iops", "1"},
        {"iops-limit.io/iops", "1"},
        {"iops-limit/", "1"},
        {"iops-limit/bps", "1"},
        {"iops-limit/bps.app", "1"},
        {"iops-limit/foo.app", "1"},
        {"iops-limit/iops", "1"},
        {"iops-limit/limit", "1"},
        {"iops-limit/read-bps", "1"},
        {"iops-limit/read-iops", "1"},
        {"iops-limit/read-iops.web", "1"},
        {"iops-limit/readiops", std::string(100, 'v')},
        {"iops-limit/write-bps", "1"},
        {"iops-limit/write-iops", "1"},
        {"iops-limit/write_iops", "1"},
        {"other/iops", "1"},
        {"zzz", "1"},
    };
    auto unknown = unknownAnnotationKeys(a);
    std::vector<std::string> keys;
    for (const auto& p : unknown) {
        keys.push_back(p.key);
        EXPECT_FALSE(p.error.empty());
        EXPECT_LE(p.value.size(), kMaxAnnotationValue + 3);
    }
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"iops-limit/", "iops-limit/foo.app", "iops-limit/readiops",
                                              "iops-limit/write_iops"}));
    EXPECT_TRUE(unknownAnnotationKeys({}).empty());
    EXPECT_TRUE(unknownAnnotationKeys({{"iops-limit/iops", "abc"}}).empty());  // bad value, known key
}

TEST(AnnotationNames, DirectionsAndOrigins) {
    EXPECT_EQ(directionName(ReadIops), "read-iops");
    EXPECT_EQ(directionName(WriteIops), "write-iops");
    EXPECT_EQ(directionName(ReadBps), "read-bps");
    EXPECT_EQ(directionName(WriteBps), "write-bps");
    EXPECT_EQ(originName(Origin::Default), "default");
    EXPECT_EQ(originName(Origin::PodAnnotation), "pod-annotation");
    EXPECT_EQ(originName(Origin::ContainerAnnotation), "container-annotation");
    EXPECT_EQ(originName(Origin::Override), "override");
    Limits l;
    limitRef(l, ReadIops) = 1;
    limitRef(l, WriteIops) = 2;
    limitRef(l, ReadBps) = 3;
    limitRef(l, WriteBps) = 4;
    EXPECT_EQ(l, (Limits{1, 2, 3, 4}));
}

}  // namespace
}  // namespace iopslimit::core
