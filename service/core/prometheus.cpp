#include "core/prometheus.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace iopslimit::core {

Histogram::Histogram(std::vector<double> upperBounds) : bounds_(std::move(upperBounds)) {
    std::sort(bounds_.begin(), bounds_.end());
    counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double v) {
    if (std::isnan(v)) return;
    size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    ++counts_[i];
    sum_ += v;
    ++count_;
}

std::string escapeLabelValue(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string formatSampleValue(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::trunc(v) && std::fabs(v) < 1e15) {
        char buf[32];
        auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
        return std::string(buf, p);
    }
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, p);
}

void PromWriter::family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (char c : help) {  // HELP escapes backslash and newline only
        if (c == '\\') out_ += "\\\\";
        else if (c == '\n') out_ += "\\n";
        else out_ += c;
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void PromWriter::series(std::string_view name, const Labels& labels, std::string_view extraKey,
                        std::string_view extraValue) {
    out_ += name;
    if (!labels.empty() || !extraKey.empty()) {
        out_ += '{';
        bool first = true;
        auto add = [&](std::string_view k, std::string_view v) {
            if (!first) out_ += ',';
            first = false;
            out_ += k;
            out_ += "=\"";
            out_ += escapeLabelValue(v);
            out_ += '"';
        };
        for (const auto& [k, v] : labels) add(k, v);
        if (!extraKey.empty()) add(extraKey, extraValue);
        out_ += '}';
    }
    out_ += ' ';
}

void PromWriter::sample(std::string_view name, const Labels& labels, double value) {
    series(name, labels);
    out_ += formatSampleValue(value);
    out_ += '\n';
}

void PromWriter::histogram(std::string_view name, const Labels& labels, const Histogram& h) {
    std::string bucket = std::string(name) + "_bucket";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds().size(); ++i) {
        cumulative += h.counts()[i];
        series(bucket, labels, "le", formatSampleValue(h.bounds()[i]));
        out_ += std::to_string(cumulative);
        out_ += '\n';
    }
    series(bucket, labels, "le", "+Inf");
    out_ += std::to_string(h.count());
    out_ += '\n';
    sample(std::string(name) + "_sum", labels, h.sum());
    sample(std::string(name) + "_count", labels, static_cast<double>(h.count()));
}

}  // namespace iopslimit::core
