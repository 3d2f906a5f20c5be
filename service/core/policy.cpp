#include "core/policy.h"

#include "core/quantity.h"

namespace iopslimit::core {

namespace {

struct NsKey {
    std::string_view suffix;  // after "default-" / "max-"
    bool bytes, read, write;
};
// Most specific first within each unit.
constexpr NsKey kNsKeys[] = {
    {"read-iops", false, true, false}, {"write-iops", false, false, true}, {"iops", false, true, true},
    {"read-bps", true, true, false},   {"write-bps", true, false, true},   {"bps", true, true, true},
};

bool covers(const NsKey& k, Direction d) {
    bool bytes = d == ReadBps || d == WriteBps;
    bool read = d == ReadIops || d == ReadBps;
    return k.bytes == bytes && (read ? k.read : k.write);
}

std::string valueText(Direction d, uint64_t v) {
    if (v == 0) return "0 (unlimited)";
    return d == ReadBps || d == WriteBps ? formatBytes(v) : std::to_string(v);
}

}  // namespace

NamespacePolicy parseNamespacePolicy(const std::map<std::string, std::string>& annotations) {
    NamespacePolicy p;
    std::array<bool, 4> maxDecided{}, defaultDecided{};
    for (const char* kind : {"default-", "max-"}) {
        bool isMax = std::string_view(kind) == "max-";
        for (const auto& k : kNsKeys) {
            std::string key = std::string(kAnnotationPrefix) + kind + std::string(k.suffix);
            auto it = annotations.find(key);
            if (it == annotations.end()) continue;
            Result<uint64_t> v = makeError("value longer than 64 characters");
            if (it->second.size() <= kMaxAnnotationValue) v = k.bytes ? parseByteQuantity(it->second) : parseIops(it->second);
            if (!v) {
                p.problems.push_back({key, it->second.substr(0, kMaxAnnotationValue), v.error().message});
                continue;
            }
            for (int d = 0; d < 4; ++d) {
                auto dir = static_cast<Direction>(d);
                if (!covers(k, dir)) continue;
                if (isMax && !maxDecided[d]) {
                    limitRef(p.max, dir) = *v;
                    p.maxKey[d] = key;
                    maxDecided[d] = true;
                } else if (!isMax && !defaultDecided[d]) {
                    p.defaults[d] = *v;
                    defaultDecided[d] = true;
                }
            }
        }
    }
    if (auto it = annotations.find(std::string(kAnnotationPrefix) + std::string(kAdaptiveKey)); it != annotations.end()) {
        if (it->second == "on") p.adaptive = true;
        else if (it->second == "off") p.adaptive = false;
        else p.problems.push_back({it->first, it->second.substr(0, kMaxAnnotationValue), "expected \"on\" or \"off\""});
    }
    for (auto it = annotations.lower_bound(std::string(kAnnotationPrefix)); it != annotations.end(); ++it) {
        std::string_view key = it->first;
        if (key.substr(0, kAnnotationPrefix.size()) != kAnnotationPrefix) break;
        std::string_view name = key.substr(kAnnotationPrefix.size());
        bool known = name == kAdaptiveKey;
        for (const auto& k : kNsKeys)
            known = known || name == "default-" + std::string(k.suffix) || name == "max-" + std::string(k.suffix);
        if (!known) p.problems.push_back({it->first, it->second.substr(0, kMaxAnnotationValue), "unknown iops-limit namespace annotation key"});
    }
    return p;
}

const NamespacePolicy* Policy::namespaceOf(const std::string& ns) const {
    auto it = namespaces.find(ns);
    return it == namespaces.end() ? nullptr : &it->second;
}

std::string Clamp::describe() const {
    return std::string(directionName(direction)) + ": " + what + " " + valueText(direction, requested) +
           (result < requested || requested == 0 ? " -> clamped to " : " -> raised to ") + by + " " +
           valueText(direction, result);
}

bool adaptiveEligible(const std::string& ns, const std::map<std::string, std::string>& podAnnotations, const Policy& policy) {
    if (!policy.node.trustedNamespaces.count(ns)) return true;
    auto pod = podAnnotations.find(std::string(kAnnotationPrefix) + std::string(kAdaptiveKey));
    if (pod != podAnnotations.end() && pod->second == "off") return false;
    if (pod != podAnnotations.end() && pod->second == "on") return true;
    const NamespacePolicy* n = policy.namespaceOf(ns);
    return n && n->adaptive.value_or(false);
}

std::vector<Clamp> applyPolicy(LimitDecision& d, const std::string& ns, const Policy& policy) {
    std::vector<Clamp> out;
    if (policy.node.trustedNamespaces.count(ns)) return out;
    const NamespacePolicy* nsPolicy = policy.namespaceOf(ns);
    for (int i = 0; i < 4; ++i) {
        auto dir = static_cast<Direction>(i);
        if (d.origins[i] != Origin::PodAnnotation && d.origins[i] != Origin::ContainerAnnotation) continue;
        uint64_t v = limitOf(d.limits, dir);
        uint64_t nodeMax = limitOf(policy.node.bounds.max, dir);
        uint64_t nsMax = nsPolicy ? limitOf(nsPolicy->max, dir) : 0;
        uint64_t ceiling = nodeMax;
        std::string by = policy.node.maxSetBy[i];
        if (nsMax && (!ceiling || nsMax < ceiling)) {
            ceiling = nsMax;
            by = "namespace " + ns + " " + nsPolicy->maxKey[i];
        }
        if (ceiling && (v == 0 || v > ceiling)) {
            out.push_back({dir, v, ceiling, by});
            v = ceiling;
        }
        // The node's floor last: it protects the node from pods that starve themselves.
        uint64_t floor = limitOf(policy.node.bounds.min, dir);
        if (floor && v != 0 && v < floor) {
            out.push_back({dir, v, floor, policy.node.minSetBy[i]});
            v = floor;
        }
        limitRef(d.limits, dir) = v;
    }
    return out;
}

Limits defaultsFor(const Limits& nodeDefaults, const std::string& ns, const NamespacePolicy* nsPolicy,
                   std::array<bool, 4>& fromNamespace, std::vector<Clamp>* clamps) {
    Limits out = nodeDefaults;
    fromNamespace.fill(false);
    if (!nsPolicy) return out;
    for (int i = 0; i < 4; ++i) {
        if (!nsPolicy->defaults[i]) continue;
        auto dir = static_cast<Direction>(i);
        uint64_t v = *nsPolicy->defaults[i];
        uint64_t ceiling = limitOf(nsPolicy->max, dir);
        if (ceiling && (v == 0 || v > ceiling)) {
            if (clamps) clamps->push_back({dir, v, ceiling, "namespace " + ns + " " + nsPolicy->maxKey[i], "namespace default"});
            v = ceiling;
        }
        limitRef(out, dir) = v;
        fromNamespace[i] = true;
    }
    return out;
}

}  // namespace iopslimit::core
