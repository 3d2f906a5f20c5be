#pragma once
// Who may lift a limit. The node operator's policy (POD_MAX_*, POD_MIN_*, TRUSTED_NAMESPACES) and
// the cluster admin's namespace policy (iops-limit/default-* and iops-limit/max-* annotations of a
// Namespace) bound what a pod author asks for with iops-limit/* Pod annotations:
//   D-Bus override (root)                                   not bounded
//   container / pod annotation (the pod author)             clamped to [floor, ceiling]
//   namespace default (iops-limit/default-*)                within the namespace's own ceiling
//   node default (CONTAINER_*_LIMIT)                        as given
// The ceiling per direction is the lower of the node's and the namespace's; 0 (unlimited) is
// above every ceiling, so "0" and "max" are clamped to it. The floor (node only) raises a request
// below it; unlimited is above every floor. Pods in a trusted namespace are not clamped. Pure.
#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/annotations.h"
#include "core/limits.h"

namespace iopslimit::core {

// Per direction, 0 = no bound.
struct Bounds {
    Limits max;  // ceilings
    Limits min;  // floors
    bool any() const { return !max.unlimited() || !min.unlimited(); }
    bool operator==(const Bounds&) const = default;
};

struct NodePolicy {
    Bounds bounds;                              // POD_MAX_*, POD_MIN_*
    std::array<std::string, 4> maxSetBy, minSetBy;  // per direction, the variable that set the bound
    std::set<std::string> trustedNamespaces;       // TRUSTED_NAMESPACES
    bool operator==(const NodePolicy&) const = default;
};

// A Namespace's iops-limit/* annotations.
struct NamespacePolicy {
    std::array<std::optional<uint64_t>, 4> defaults;  // iops-limit/default-*: per direction, unset = node default
    Limits max;                                       // iops-limit/max-*: per direction, 0 = none
    std::array<std::string, 4> maxKey;                // the annotation that set each ceiling
    std::optional<bool> adaptive;                     // iops-limit/adaptive: on/off (opts a trusted namespace in)
    std::vector<AnnotationProblem> problems;          // bad values and unknown keys, ignored
    bool operator==(const NamespacePolicy& o) const {
        return defaults == o.defaults && max == o.max && adaptive == o.adaptive;
    }
};

// Namespace annotations -> policy. Keys: default-iops, default-read-iops, default-write-iops,
// default-bps, default-read-bps, default-write-bps, and the same with max- (the specific beats the
// general, as for Pod annotations). Values as for Pod annotations: IOPS integers, bytes/s
// Kubernetes quantities, "0"/"max" = unlimited (for max-*: no ceiling).
NamespacePolicy parseNamespacePolicy(const std::map<std::string, std::string>& annotations);

// Everything that bounds the pods of one namespace.
struct Policy {
    NodePolicy node;
    std::map<std::string, NamespacePolicy> namespaces;  // by name; absent = no namespace policy
    const NamespacePolicy* namespaceOf(const std::string& ns) const;
};

// One direction changed by the policy: what was asked, what it became, and which bound did it
// ("POD_MAX_IOPS", "POD_MIN_READ_BPS", "namespace shop iops-limit/max-iops").
struct Clamp {
    Direction direction = ReadIops;
    uint64_t requested = 0;
    uint64_t result = 0;
    std::string by;
    std::string what = "annotation";  // what asked: "annotation" or "namespace default"
    // "read-iops: annotation 0 (unlimited) -> clamped to POD_MAX_IOPS 2000"
    std::string describe() const;
    bool operator==(const Clamp&) const = default;
};

// Whether adaptive limits may tighten this pod's containers: everywhere, except in a trusted
// namespace, which is exempt unless it opts in (iops-limit/adaptive: "on" on the Namespace or the
// Pod); there a Pod's "off" keeps it exempt. Elsewhere a Pod's "off" is not honoured (the noisy
// tenant would write it) and is reported as such.
bool adaptiveEligible(const std::string& ns, const std::map<std::string, std::string>& podAnnotations, const Policy& policy);

// Applies the policy to a decision made from annotations, in place: only directions that came
// from a pod or container annotation are clamped, and none for a trusted namespace.
std::vector<Clamp> applyPolicy(LimitDecision& d, const std::string& ns, const Policy& policy);

// The node defaults with the namespace's defaults over them; fills `fromNamespace` per direction.
// A namespace default above the namespace's own ceiling is brought down to it (recorded in clamps).
Limits defaultsFor(const Limits& nodeDefaults, const std::string& ns, const NamespacePolicy* nsPolicy,
                   std::array<bool, 4>& fromNamespace, std::vector<Clamp>* clamps);

}  // namespace iopslimit::core
