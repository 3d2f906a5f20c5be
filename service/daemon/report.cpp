#include "daemon/report.h"

#include <algorithm>

#include "core/quantity.h"
#include "core/table.h"

namespace iopslimit::daemon {

void ReconcileReport::count(const core::ContainerStatus& s) {
    switch (s.state) {
        case core::LimitState::Applied:
        case core::LimitState::Planned: ++changed; break;
        case core::LimitState::Unchanged: ++unchanged; break;
        case core::LimitState::Missing: ++missing; break;
        case core::LimitState::Retrying: ++retrying; break;
        case core::LimitState::Error: ++failed; break;
        case core::LimitState::Excluded: ++excluded; break;
    }
}

void ReconcileReport::merge(const ReconcileReport& newer) {
    for (const auto& n : newer.containers) {
        const std::string& id = n.entry.containerId.id;
        auto same = [&](const core::ContainerStatus& c) {
            return id.empty() ? (!n.cgroup.empty() && c.cgroup == n.cgroup) : c.entry.containerId.id == id;
        };
        auto it = std::find_if(containers.begin(), containers.end(), same);
        if (it == containers.end()) containers.push_back(n);
        else *it = n;
    }
    changed = failed = missing = retrying = unchanged = excluded = 0;
    for (const auto& c : containers) count(c);
}

std::string renderReport(const ReconcileReport& r) {
    std::vector<std::vector<std::string>> rows;
    rows.reserve(r.containers.size());
    for (const auto& c : r.containers) {
        const auto& e = c.entry;
        bool none = e.source == core::LimitSource::Excluded;
        auto v = [&](uint64_t x) { return none ? std::string("-") : core::limitValueString(x); };
        auto b = [&](uint64_t x) { return none ? std::string("-") : core::formatBytes(x); };
        rows.push_back({e.ns.empty() ? "-" : e.ns, e.pod.empty() ? "-" : e.pod, e.container.empty() ? "-" : e.container,
                        e.containerId.id.empty() ? "-" : e.containerId.id.substr(0, 13),
                        c.cgroup.empty() ? (e.cgroup.empty() ? "-" : e.cgroup) : c.cgroup, v(e.limits.readIops),
                        v(e.limits.writeIops), b(e.limits.readBps), b(e.limits.writeBps),
                        std::string(r.fallback ? "fallback" : core::sourceName(e.source)),
                        std::string(core::stateName(c.state))});
    }
    return core::renderTable({"NAMESPACE", "POD", "CONTAINER", "CONTAINER-ID", "CGROUP", "READ-IOPS", "WRITE-IOPS",
                              "READ-BPS", "WRITE-BPS", "SOURCE", "STATE"},
                             rows);
}

}  // namespace iopslimit::daemon
