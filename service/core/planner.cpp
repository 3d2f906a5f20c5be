#include "core/planner.h"

#include <set>

namespace iopslimit::core {

std::string_view sourceName(LimitSource s) {
    switch (s) {
        case LimitSource::Default: return "default";
        case LimitSource::Annotation: return "annotation";
        case LimitSource::Override: return "override";
        case LimitSource::Excluded: return "excluded";
        case LimitSource::Namespace: return "namespace";
        case LimitSource::Adaptive: return "adaptive";
    }
    return "default";
}

PlanEntry planContainer(const Pod& pod, const Container& c, const PlanInput& in) {
    PlanEntry e;
    e.ns = pod.ns;
    e.pod = pod.name;
    e.podUid = pod.cgroupUid();
    e.container = c.name;
    e.kind = c.kind;
    e.qos = pod.qos;
    e.qosKnown = pod.qosKnown;
    e.rawContainerId = c.containerId;
    if (auto id = parseContainerId(c.containerId)) {
        e.containerId = *id;
        e.cgroup = containerCgroup(in.layout, pod.cgroupUid(), pod.qos, e.containerId);
    } else {
        e.idError = id.error().message;
    }
    const NamespacePolicy* nsPolicy = in.policy ? in.policy->namespaceOf(pod.ns) : nullptr;
    std::array<bool, 4> fromNamespace{};
    std::vector<Clamp> defaultClamps;
    e.decision = decideLimits(pod.annotations, c.name, defaultsFor(in.defaults, pod.ns, nsPolicy, fromNamespace, &defaultClamps));
    bool namespaceDefault = false;
    for (int d = 0; d < 4; ++d)
        if (e.decision.origins[d] == Origin::Default && fromNamespace[d]) {
            e.decision.origins[d] = Origin::NamespaceDefault;
            namespaceDefault = true;
        }
    if (auto why = in.filter ? in.filter->excludedReason(pod, c) : std::nullopt) {
        e.source = LimitSource::Excluded;
        e.excludedReason = *why;
        e.limits = Limits{};
        return e;
    }
    if (in.overrides) {
        if (auto it = in.overrides->find(pod.key()); it != in.overrides->end()) {
            e.source = LimitSource::Override;
            e.limits = it->second;
            e.staticLimits = e.limits;
            e.decision.origins.fill(Origin::Override);
            e.adaptiveEligible = in.policy && adaptiveEligible(pod.ns, pod.annotations, *in.policy);
            return e;
        }
    }
    if (in.policy) {
        e.clamps = applyPolicy(e.decision, pod.ns, *in.policy);
        e.adaptiveEligible = adaptiveEligible(pod.ns, pod.annotations, *in.policy);
    }
    for (auto& c : defaultClamps)  // only where the namespace default decided the direction
        if (e.decision.origins[c.direction] == Origin::NamespaceDefault) e.clamps.push_back(std::move(c));
    e.limits = e.decision.limits;
    e.source = e.decision.fromAnnotation() ? LimitSource::Annotation
               : namespaceDefault          ? LimitSource::Namespace
                                           : LimitSource::Default;
    e.staticLimits = e.limits;
    return e;
}

Plan makePlan(const std::vector<Pod>& pods, const PlanInput& in) {
    Plan plan;
    for (const Pod& pod : pods) {
        std::vector<AnnotationProblem> problems = unknownAnnotationKeys(pod.annotations);
        std::set<std::string> seenProblemKeys;
        for (const auto& p : problems) seenProblemKeys.insert(p.key);
        for (const Container& c : pod.containers) {
            if (c.state != ContainerState::Running) continue;
            if (plan.entries.size() >= kMaxContainers) {
                ++plan.skippedContainers;
                continue;
            }
            PlanEntry e = planContainer(pod, c, in);
            for (const auto& p : e.decision.problems)
                if (seenProblemKeys.insert(p.key).second) problems.push_back(p);
            plan.entries.push_back(std::move(e));
        }
        if (!problems.empty()) plan.podProblems.emplace(pod.key(), std::move(problems));
    }
    return plan;
}

}  // namespace iopslimit::core
