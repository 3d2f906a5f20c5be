#include "core/annotations.h"

#include "core/quantity.h"

namespace iopslimit::core {

namespace {

struct KeyRule {
    std::string_view key;
    bool bytes;
    bool read;
    bool write;
};

// Most specific first within each unit.
constexpr KeyRule kKeys[] = {
    {"read-iops", false, true, false}, {"write-iops", false, false, true}, {"iops", false, true, true},
    {"limit", false, true, true},      {"read-bps", true, true, false},   {"write-bps", true, false, true},
    {"bps", true, true, true},
};

bool appliesTo(const KeyRule& r, Direction d) {
    bool bytes = d == ReadBps || d == WriteBps;
    bool read = d == ReadIops || d == ReadBps;
    return r.bytes == bytes && (read ? r.read : r.write);
}

std::string cut(const std::string& v) { return v.size() > kMaxAnnotationValue ? v.substr(0, kMaxAnnotationValue) + "…" : v; }

}  // namespace

std::string_view originName(Origin o) {
    switch (o) {
        case Origin::Default: return "default";
        case Origin::PodAnnotation: return "pod-annotation";
        case Origin::ContainerAnnotation: return "container-annotation";
        case Origin::Override: return "override";
        case Origin::NamespaceDefault: return "namespace-default";
    }
    return "default";
}

std::string_view directionName(Direction d) {
    static constexpr std::string_view names[] = {"read-iops", "write-iops", "read-bps", "write-bps"};
    return names[d];
}

bool LimitDecision::fromAnnotation() const {
    for (Origin o : origins)
        if (o == Origin::PodAnnotation || o == Origin::ContainerAnnotation) return true;
    return false;
}

uint64_t& limitRef(Limits& l, Direction d) {
    switch (d) {
        case ReadIops: return l.readIops;
        case WriteIops: return l.writeIops;
        case ReadBps: return l.readBps;
        case WriteBps: break;
    }
    return l.writeBps;
}

uint64_t limitOf(const Limits& l, Direction d) { return limitRef(const_cast<Limits&>(l), d); }

LimitDecision decideLimits(const std::map<std::string, std::string>& annotations, std::string_view container,
                           const Limits& defaults) {
    LimitDecision out;
    out.limits = defaults;
    // Most pods carry no annotation of ours: one ordered-map probe settles that.
    auto first = annotations.lower_bound(std::string(kAnnotationPrefix));
    if (first == annotations.end() || first->first.compare(0, kAnnotationPrefix.size(), kAnnotationPrefix) != 0)
        return out;
    // Parse each present key once, remembering failures, then pick per direction.
    struct Parsed { bool present = false; bool ok = false; uint64_t value = 0; std::string key; };
    Parsed parsed[2][std::size(kKeys)];  // [0]=container level, [1]=pod level
    for (int level = 0; level < 2; ++level) {
        for (size_t k = 0; k < std::size(kKeys); ++k) {
            std::string key = std::string(kAnnotationPrefix) + std::string(kKeys[k].key);
            if (level == 0) key += "." + std::string(container);
            auto it = annotations.find(key);
            if (it == annotations.end()) continue;
            Parsed& p = parsed[level][k];
            p.present = true;
            p.key = key;
            Result<uint64_t> v = makeError("value longer than 64 characters");
            if (it->second.size() <= kMaxAnnotationValue)
                v = kKeys[k].bytes ? parseByteQuantity(it->second) : parseIops(it->second);
            if (v) {
                p.ok = true;
                p.value = *v;
            } else {
                out.problems.push_back({key, cut(it->second), v.error().message});
            }
        }
    }
    for (int d = 0; d < 4; ++d) {
        auto dir = static_cast<Direction>(d);
        bool decided = false;
        for (int level = 0; level < 2 && !decided; ++level) {
            for (size_t k = 0; k < std::size(kKeys) && !decided; ++k) {
                const Parsed& p = parsed[level][k];
                if (!p.present || !p.ok || !appliesTo(kKeys[k], dir)) continue;
                limitRef(out.limits, dir) = p.value;
                out.origins[d] = level == 0 ? Origin::ContainerAnnotation : Origin::PodAnnotation;
                out.keys[d] = p.key;
                decided = true;
            }
        }
    }
    return out;
}

std::vector<AnnotationProblem> unknownAnnotationKeys(const std::map<std::string, std::string>& annotations) {
    std::vector<AnnotationProblem> out;
    for (auto it = annotations.lower_bound(std::string(kAnnotationPrefix)); it != annotations.end(); ++it) {
        std::string_view key = it->first;
        if (key.substr(0, kAnnotationPrefix.size()) != kAnnotationPrefix) break;
        std::string_view name = key.substr(kAnnotationPrefix.size());
        name = name.substr(0, name.find('.'));
        bool known = false;
        for (const auto& r : kKeys) known = known || r.key == name;
        known = known || (name == kAdaptiveKey && key.find('.') == std::string_view::npos);  // pod-level only
        if (!known) out.push_back({it->first, cut(it->second), "unknown iops-limit annotation key"});
    }
    return out;
}

}  // namespace iopslimit::core
