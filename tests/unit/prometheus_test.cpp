// The Prometheus text exposition format: families, escaping, numbers, histograms.
#include "core/prometheus.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace iopslimit::core {
namespace {

TEST(PromWriter, FamilyAndSamplesExactText) {
    PromWriter w;
    w.family("iopslimit_containers", "gauge", "Containers by source.");
    w.sample("iopslimit_containers", {{"source", "default"}}, 3);
    w.sample("iopslimit_containers", {{"source", "annotation"}, {"x", "y"}}, 0);
    w.family("process_cpu_seconds_total", "counter", "CPU.");
    w.sample("process_cpu_seconds_total", {}, 0.25);
    EXPECT_EQ(w.text(),
              "# HELP iopslimit_containers Containers by source.\n"
              "# TYPE iopslimit_containers gauge\n"
              "iopslimit_containers{source=\"default\"} 3\n"
              "iopslimit_containers{source=\"annotation\",x=\"y\"} 0\n"
              "# HELP process_cpu_seconds_total CPU.\n"
              "# TYPE process_cpu_seconds_total counter\n"
              "process_cpu_seconds_total 0.25\n");
}

TEST(PromWriter, LabelValuesAreEscaped) {
    EXPECT_EQ(escapeLabelValue(R"(a"b\c)" "\n" "d"), R"(a\"b\\c\nd)");
    PromWriter w;
    w.sample("m", {{"pod", "we\"ird\nname"}}, 1);
    EXPECT_EQ(w.text(), "m{pod=\"we\\\"ird\\nname\"} 1\n");
    PromWriter h;
    h.family("m", "gauge", "line one\nline two \\ done");
    EXPECT_EQ(h.text(), "# HELP m line one\\nline two \\\\ done\n# TYPE m gauge\n");
}

TEST(FormatSampleValue, IntegersFractionsAndSpecials) {
    EXPECT_EQ(formatSampleValue(0), "0");
    EXPECT_EQ(formatSampleValue(18446744073.0), "18446744073");
    EXPECT_EQ(formatSampleValue(-7), "-7");
    EXPECT_EQ(formatSampleValue(0.001), "0.001");
    EXPECT_EQ(formatSampleValue(1.5e300), "1.5e+300");
    EXPECT_EQ(formatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(formatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(formatSampleValue(std::nan("")), "NaN");
}

TEST(Histogram, CumulativeBucketsSumAndCount) {
    Histogram hist({0.25, 0.5, 1});
    for (double v : {0.125, 0.25, 0.375, 0.75, 3.0}) hist.observe(v);
    hist.observe(std::nan(""));  // ignored
    EXPECT_EQ(hist.count(), 5u);
    PromWriter w;
    w.histogram("d_seconds", {}, hist);
    EXPECT_EQ(w.text(),
              "d_seconds_bucket{le=\"0.25\"} 2\n"  // le is inclusive: 0.25 falls in the 0.25 bucket
              "d_seconds_bucket{le=\"0.5\"} 3\n"
              "d_seconds_bucket{le=\"1\"} 4\n"
              "d_seconds_bucket{le=\"+Inf\"} 5\n"
              "d_seconds_sum 4.5\n"
              "d_seconds_count 5\n");
}

TEST(Histogram, LabelsComeBeforeLe) {
    Histogram hist({1});
    hist.observe(2);
    PromWriter w;
    w.histogram("h", {{"a", "b"}}, hist);
    EXPECT_EQ(w.text(), "h_bucket{a=\"b\",le=\"1\"} 0\nh_bucket{a=\"b\",le=\"+Inf\"} 1\nh_sum{a=\"b\"} 2\nh_count{a=\"b\"} 1\n");
}

}  // namespace
}  // namespace iopslimit::core
