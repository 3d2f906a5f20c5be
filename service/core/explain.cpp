#include "core/explain.h"

#include <sstream>

#include "core/quantity.h"

namespace iopslimit::core {

std::string renderExplain(std::string_view ns, std::string_view name, const Pod* pod, size_t podsKnown,
                          std::string_view podSource, const PlanInput& in, const std::vector<ExplainObserved>& observed) {
    std::ostringstream out;
    if (!pod) {
        out << "Pod " << ns << "/" << name << " is not among the " << podsKnown
            << " pods last seen on this node (source: " << podSource << ").\n";
        return out.str();
    }
    Plan plan = makePlan({*pod}, in);
    out << "Pod " << ns << "/" << name << " (uid " << pod->uid << ", " << qosName(pod->qos) << ", phase "
        << (pod->phase.empty() ? "?" : pod->phase) << ")\n";
    if (in.overrides)
        if (auto ov = in.overrides->find(pod->key()); ov != in.overrides->end())
            out << "  Override: read " << limitValueString(ov->second.readIops) << " / write "
                << limitValueString(ov->second.writeIops) << " IOPS, read " << formatBytes(ov->second.readBps)
                << " / write " << formatBytes(ov->second.writeBps) << " B/s (beats annotations)\n";
    if (pod->annotations.empty()) out << "  Annotations: none of ours\n";
    else
        for (const auto& [k, v] : pod->annotations) out << "  Annotation " << k << "=\"" << v << "\"\n";
    if (auto pit = plan.podProblems.find(pod->key()); pit != plan.podProblems.end())
        for (const auto& pr : pit->second) out << "    ignored " << pr.key << ": " << pr.error << "\n";
    if (plan.entries.empty()) out << "  No running containers.\n";
    for (const auto& e : plan.entries) {
        out << "  Container " << e.container << " (" << kindName(e.kind) << ", "
            << (e.containerId.id.empty() ? e.rawContainerId : e.containerId.id.substr(0, 13)) << ")\n";
        if (e.source == LimitSource::Excluded) {
            out << "    excluded by " << e.excludedReason << ": no limit from iops-limit\n";
        } else {
            for (int d = 0; d < 4; ++d) {
                auto dir = static_cast<Direction>(d);
                uint64_t v = limitOf(e.limits, dir);
                out << "    " << directionName(dir) << ": " << (d >= 2 ? formatBytes(v) : limitValueString(v)) << " from "
                    << originName(e.decision.origins[d])
                    << (e.decision.keys[d].empty() || e.source == LimitSource::Override ? "" : " (" + e.decision.keys[d] + ")");
                for (const auto& c : e.clamps)
                    if (c.direction == dir) out << "; policy: " << c.describe();
                out << "\n";
            }
        }
        const ExplainObserved* adaptive = nullptr;
        for (const auto& o : observed)
            if (!e.containerId.id.empty() && o.containerId == e.containerId.id && !o.adaptiveReason.empty()) adaptive = &o;
        if (adaptive)
            out << "    adaptive limit in force: read " << limitValueString(adaptive->limits.readIops) << " / write "
                << limitValueString(adaptive->limits.writeIops) << " IOPS, read " << formatBytes(adaptive->limits.readBps)
                << " / write " << formatBytes(adaptive->limits.writeBps) << " B/s: " << adaptive->adaptiveReason << "\n";
        else if (e.source != LimitSource::Excluded)
            out << "    adaptive limits: " << (e.adaptiveEligible ? "may apply when its disk is contended" : "exempt")
                << "\n";
        for (const auto& o : observed) {
            if (e.containerId.id.empty() || o.containerId != e.containerId.id) continue;
            out << "    target: " << (o.target.empty() ? e.cgroup : o.target) << "\n";
            out << "    state: " << stateName(o.state) << (o.message.empty() ? "" : " (" + o.message + ")") << "\n";
        }
    }
    return out.str();
}

}  // namespace iopslimit::core
