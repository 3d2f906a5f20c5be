#pragma once
// Pods + configuration -> the limits each running container should have. Pure and total:
// every running container yields exactly one entry, whatever is wrong with its pod.
#include <map>
#include <string>
#include <vector>

#include "core/annotations.h"
#include "core/cgroup_path.h"
#include "core/filter.h"
#include "core/limits.h"
#include "core/pod.h"
#include "core/policy.h"

namespace iopslimit::core {

// Where a container's limits come from: the node default, the namespace default (iops-limit/default-*
// of its Namespace), its pod's annotations, a D-Bus override, an adaptive limit tighter than any of
// those (core/adaptive.h), or nowhere (excluded).
enum class LimitSource { Default, Annotation, Override, Excluded, Namespace, Adaptive };
std::string_view sourceName(LimitSource s);

struct PlanEntry {
    std::string ns, pod, podUid, container;
    ContainerKind kind = ContainerKind::Regular;
    QosClass qos = QosClass::BestEffort;
    bool qosKnown = false;
    std::string rawContainerId;
    ContainerId containerId;
    std::string idError;  // set when the container ID cannot be used; then cgroup is empty
    std::string cgroup;   // derived path relative to the hierarchy root
    Limits limits;        // all zero when excluded
    LimitSource source = LimitSource::Default;
    std::string excludedReason;
    LimitDecision decision;
    std::vector<Clamp> clamps;  // what the policy changed of what the annotations asked for
    bool adaptiveEligible = false;  // adaptive limits may tighten it (core/policy.h adaptiveEligible)
    Limits staticLimits;            // before an adaptive limit (equal to limits without one)
    std::string adaptiveReason;     // why an adaptive limit is in force, if one is
};

// More running containers than this in one pass is not a node: the excess is reported, not
// planned, so memory stays bounded and the first ones are still reconciled.
inline constexpr size_t kMaxContainers = 10000;

struct PlanInput {
    Limits defaults;
    const Filter* filter = nullptr;
    CgroupLayout layout;
    const std::map<std::string, Limits>* overrides = nullptr;  // "ns/pod" -> limits, beats annotations
    const Policy* policy = nullptr;  // bounds on annotations, namespace defaults; null = none
};

struct Plan {
    std::vector<PlanEntry> entries;
    // Per pod, annotation problems (bad values, unknown keys), reported once per pod.
    std::map<std::string, std::vector<AnnotationProblem>> podProblems;
    size_t skippedContainers = 0;  // beyond kMaxContainers
};

// One running container of one pod -> its entry, in this order of precedence: excluded (by the
// filter) > D-Bus override of the pod > container annotation > pod annotation (both bounded by the
// policy, see core/policy.h) > namespace default > node default.
// `c` may be a container the pod data does not list yet (a cgroup that just appeared): with an
// empty name it gets what its pod as a whole asks for. Annotation problems are in
// entry.decision.problems.
PlanEntry planContainer(const Pod& pod, const Container& c, const PlanInput& in);

// Every running container of every pod, by planContainer; problems collected once per pod.
Plan makePlan(const std::vector<Pod>& pods, const PlanInput& in);

}  // namespace iopslimit::core
