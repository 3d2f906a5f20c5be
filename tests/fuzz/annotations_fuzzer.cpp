// decideLimits on a fuzzed annotation map. Input: first line is the container name, each further
// line "key=value" (split at the first '='). The decision is checked against the documented
// precedence: per direction, container key > pod key > node default, and within a level
// read-iops/write-iops > iops > limit, read-bps/write-bps > bps; invalid values are skipped.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/annotations.h"
#include "core/quantity.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

namespace {

// The oracle, written from annotations.h, not from annotations.cpp.
const std::vector<std::string_view>& keysFor(Direction d) {
    static const std::vector<std::string_view> k[4] = {
        {"read-iops", "iops", "limit"},
        {"write-iops", "iops", "limit"},
        {"read-bps", "bps"},
        {"write-bps", "bps"},
    };
    return k[d];
}

std::optional<uint64_t> valueOf(const std::map<std::string, std::string>& a, const std::string& key, bool bytes) {
    auto it = a.find(key);
    if (it == a.end() || it->second.size() > kMaxAnnotationValue) return std::nullopt;
    Result<uint64_t> v = bytes ? parseByteQuantity(it->second) : parseIops(it->second);
    if (!v) return std::nullopt;
    return *v;
}

void check(const std::map<std::string, std::string>& a, const std::string& container, const Limits& defaults) {
    LimitDecision got = decideLimits(a, container, defaults);
    for (int d = 0; d < 4; ++d) {
        auto dir = static_cast<Direction>(d);
        bool bytes = dir == ReadBps || dir == WriteBps;
        uint64_t want = limitOf(defaults, dir);
        Origin origin = Origin::Default;
        std::string key;
        for (int level = 0; level < 2 && origin == Origin::Default; ++level) {
            for (std::string_view k : keysFor(dir)) {
                std::string full = std::string(kAnnotationPrefix) + std::string(k);
                if (level == 0) full += "." + container;
                if (auto v = valueOf(a, full, bytes)) {
                    want = *v;
                    origin = level == 0 ? Origin::ContainerAnnotation : Origin::PodAnnotation;
                    key = full;
                    break;
                }
            }
        }
        FUZZ_CHECK(limitOf(got.limits, dir) == want && got.origins[d] == origin && got.keys[d] == key,
                   "container \"%s\", %s: got %llu from %s \"%s\", want %llu from %s \"%s\"",
                   escaped(container).c_str(), std::string(directionName(dir)).c_str(),
                   static_cast<unsigned long long>(limitOf(got.limits, dir)),
                   std::string(originName(got.origins[d])).c_str(), escaped(got.keys[d]).c_str(),
                   static_cast<unsigned long long>(want), std::string(originName(origin)).c_str(),
                   escaped(key).c_str());
    }
    for (const AnnotationProblem& p : got.problems) {
        auto it = a.find(p.key);
        FUZZ_CHECK(it != a.end(), "problem names absent key \"%s\"", escaped(p.key).c_str());
        FUZZ_CHECK(!p.error.empty(), "problem without an error");
        std::string_view name = std::string_view(p.key).substr(kAnnotationPrefix.size());
        name = name.substr(0, name.find('.'));
        bool bytes = name == "read-bps" || name == "write-bps" || name == "bps";
        FUZZ_CHECK(!valueOf(a, p.key, bytes), "valid value reported as a problem: \"%s\"", escaped(p.key).c_str());
    }
    for (const AnnotationProblem& p : unknownAnnotationKeys(a))
        FUZZ_CHECK(p.key.rfind(std::string(kAnnotationPrefix), 0) == 0 && a.count(p.key),
                   "unknown key \"%s\" not one of ours", escaped(p.key).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string container;
    std::map<std::string, std::string> annotations;
    bool first = true;
    iopslimit::fuzz::forEachLine(text, [&](std::string_view line) {
        if (first) {
            container = std::string(line);
            first = false;
            return;
        }
        auto eq = line.find('=');
        std::string key(line.substr(0, eq));
        std::string value = eq == std::string_view::npos ? std::string() : std::string(line.substr(eq + 1));
        annotations.insert_or_assign(std::move(key), std::move(value));
    });
    check(annotations, container, Limits{});
    check(annotations, container, Limits{500, 400, 100u << 20, 1});
    return 0;
}
