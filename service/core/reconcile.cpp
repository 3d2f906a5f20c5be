#include "core/reconcile.h"

namespace iopslimit::core {

std::string_view stateName(LimitState s) {
    switch (s) {
        case LimitState::Applied: return "applied";
        case LimitState::Unchanged: return "unchanged";
        case LimitState::Planned: return "planned";
        case LimitState::Missing: return "missing";
        case LimitState::Retrying: return "retrying";
        case LimitState::Error: return "error";
        case LimitState::Excluded: return "excluded";
    }
    return "error";
}

std::string_view publicStateName(LimitState s) {
    switch (s) {
        case LimitState::Applied:
        case LimitState::Unchanged: return "applied";
        case LimitState::Planned:
        case LimitState::Missing:
        case LimitState::Retrying: return "pending";
        case LimitState::Error: return "error";
        case LimitState::Excluded: return "excluded";
    }
    return "error";
}

std::optional<Target> targetForCgroup(std::string_view cgroup, const std::vector<Pod>& pods,
                                      const DecisionCache& cache, const PlanInput& in) {
    auto slash = cgroup.rfind('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto id = containerIdFromLeaf(cgroup.substr(slash + 1));
    if (!id) return std::nullopt;
    std::string_view parent = cgroup.substr(0, slash);
    auto podSlash = parent.rfind('/');
    auto uid = podUidFromCgroupName(podSlash == std::string_view::npos ? parent : parent.substr(podSlash + 1));

    Target t;
    const Pod* pod = nullptr;
    if (uid)
        for (const auto& p : pods)
            if (p.cgroupUid() == *uid) pod = &p;
    if (pod) {
        // Any state: the cgroup exists, so this is the container (the kubelet lists one that is
        // created but not started yet as waiting, with its ID).
        for (const auto& c : pod->containers) {
            auto cid = parseContainerId(c.containerId);
            if (!cid || cid->id != id->id) continue;
            t.entry = planContainer(*pod, c, in);
            t.listed = true;
            break;
        }
        if (!t.listed) {
            // Not listed yet: what its pod as a whole asks for; the fetch that follows corrects it.
            t.entry = planContainer(*pod, Container{}, in);
            t.entry.idError.clear();
        }
    } else if (auto c = cache.find(id->id); c != cache.end()) {
        // Pods unknown (no source since a restart): the last decision made for it.
        t.entry.ns = c->second.ns;
        t.entry.pod = c->second.pod;
        t.entry.limits = c->second.excluded ? Limits{} : c->second.limits;
        t.entry.source = c->second.excluded ? LimitSource::Excluded : c->second.source;
        if (c->second.excluded) t.entry.excludedReason = "excluded when last seen";
    } else {
        t.entry.limits = in.defaults;
        t.entry.podUid = uid.value_or("");
        t.intent = Intent::DefaultIfNone;
    }
    t.entry.containerId = *id;
    t.entry.cgroup = std::string(cgroup);
    if (t.entry.source == LimitSource::Excluded) t.intent = Intent::RemoveOurs;
    return t;
}

bool Decision::wrote() const {
    for (const auto& w : writes)
        if (w) return true;
    return false;
}

Decision decide(const PlanEntry& entry, Intent intent, const std::vector<Limits>& have, const std::optional<Limits>& ours,
                const std::vector<bool>& kernelOnly) {
    Decision d;
    d.writes.resize(have.size());
    switch (intent) {
        case Intent::Enforce: {
            bool changed = false;
            for (size_t i = 0; i < have.size(); ++i)
                if (have[i] != entry.limits) {
                    d.writes[i] = entry.limits;
                    changed = true;
                } else if (i < kernelOnly.size() && kernelOnly[i] && !have[i].unlimited()) {
                    d.writes[i] = entry.limits;
                    ++d.handedOver;
                }
            d.state = changed ? LimitState::Applied : LimitState::Unchanged;
            d.ours = entry.limits;
            return d;
        }
        case Intent::RemoveOurs:
            // Only while it is still ours: a limit someone else set since stays, and is not ours
            // to track any more either way.
            d.state = LimitState::Excluded;
            d.note = entry.excludedReason;
            if (!ours) return d;
            for (size_t i = 0; i < have.size(); ++i)
                if (have[i] == *ours && !have[i].unlimited()) d.writes[i] = Limits{};
            return d;
        case Intent::DefaultIfNone:
            for (const auto& h : have)
                if (!h.unlimited()) {
                    // Someone's limit (ours before a restart, or an operator's): it stays until
                    // fresh pod data says otherwise.
                    d.state = LimitState::Unchanged;
                    d.note = "limit already in force, kept";
                    return d;
                }
            for (size_t i = 0; i < have.size(); ++i)
                if (have[i] != entry.limits) d.writes[i] = entry.limits;
            d.state = d.wrote() ? LimitState::Applied : LimitState::Unchanged;
            d.ours = entry.limits;
            return d;
    }
    return d;
}

}  // namespace iopslimit::core
