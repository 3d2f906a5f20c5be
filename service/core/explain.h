#pragma once
// `iops-limitctl explain NAMESPACE/POD`: why each container of a pod has the limit it has, from
// the pod as last seen, the plan for it and what the last pass found in force. Pure.
#include <string>
#include <string_view>
#include <vector>

#include "core/planner.h"
#include "core/reconcile.h"

namespace iopslimit::core {

// What the last pass saw of one container: its target (cgroup path or systemd unit) and state.
struct ExplainObserved {
    std::string containerId;
    std::string target;
    LimitState state = LimitState::Planned;
    std::string message;
    Limits limits;               // in force (with an adaptive limit, tighter than the plan's)
    std::string adaptiveReason;  // why an adaptive limit is in force, if one is
};

// pod: the pod named ns/name among the last-known pods, or null; podsKnown and podSource say
// what was looked at when it is not there.
std::string renderExplain(std::string_view ns, std::string_view name, const Pod* pod, size_t podsKnown,
                          std::string_view podSource, const PlanInput& in, const std::vector<ExplainObserved>& observed);

}  // namespace iopslimit::core
