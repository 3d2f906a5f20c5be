#pragma once
// The Prometheus text exposition format (version 0.0.4): families with HELP and TYPE, samples
// with escaped label values, histograms with cumulative buckets. Pure: the daemon collects the
// numbers, this writes them.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iopslimit::core {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// A histogram of observations with fixed upper bounds (seconds, say); +Inf is implicit.
class Histogram {
public:
    explicit Histogram(std::vector<double> upperBounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return bounds_; }
    const std::vector<uint64_t>& counts() const { return counts_; }  // per bucket, not cumulative
    double sum() const { return sum_; }
    uint64_t count() const { return count_; }

private:
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;  // bounds_.size() + 1: the last is (last bound, +Inf)
    double sum_ = 0;
    uint64_t count_ = 0;
};

class PromWriter {
public:
    // Starts a family; type is "counter", "gauge" or "histogram".
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const Labels& labels, double value);
    void histogram(std::string_view name, const Labels& labels, const Histogram& h);
    const std::string& text() const { return out_; }

private:
    void series(std::string_view name, const Labels& labels, std::string_view extraKey = {},
                std::string_view extraValue = {});
    std::string out_;
};

// Label values: backslash, double quote and newline escaped.
std::string escapeLabelValue(std::string_view v);
// Sample values: integers without exponent or fraction, others shortest round-trip, NaN, +Inf, -Inf.
std::string formatSampleValue(double v);

}  // namespace iopslimit::core
