// The engine's books: what it logs and counts, the namespace policy, what is ours on disks that
// go away, and the queries of the D-Bus API (explain, managed containers, a unit's cgroup).
#include "core/explain.h"
#include "core/quantity.h"
#include "daemon/engine.h"
#include "daemon/log.h"

namespace iopslimit::daemon {

using core::Limits;
using core::LimitState;

namespace {

std::string iopsText(const Limits& l) {
    std::string s = l.readIops == l.writeIops ? core::limitValueString(l.readIops)
                                              : "read " + core::limitValueString(l.readIops) + ", write " +
                                                    core::limitValueString(l.writeIops);
    if (l.readBps || l.writeBps)
        s += " (bps read " + core::formatBytes(l.readBps) + ", write " + core::formatBytes(l.writeBps) + ")";
    return s;
}

std::string leafOf(const std::string& cgroup) { return cgroup.substr(cgroup.rfind('/') + 1); }

}  // namespace

bool Engine::setNamespaceAnnotations(const std::map<std::string, std::map<std::string, std::string>>& annotations) {
    std::map<std::string, core::NamespacePolicy> next;
    for (const auto& [ns, ann] : annotations) {
        auto p = core::parseNamespacePolicy(ann);
        for (const auto& pr : p.problems)
            if (reported_.insert("ns|" + ns + "|" + pr.key + "=" + pr.value).second)
                log::error("Failed to parse annotation " + pr.key + "=\"" + pr.value + "\" of namespace " + ns + ": " +
                               pr.error + "; ignored",
                           {{"POD_NAMESPACE", ns}, {"ANNOTATION", pr.key}});
        next.emplace(ns, std::move(p));
    }
    if (next == policy_.namespaces) return false;
    for (const auto& [ns, p] : next) {
        auto old = policy_.namespaces.find(ns);
        if (old == policy_.namespaces.end() || !(old->second == p))
            log::info("Namespace policy of " + ns + ": defaults read/write " +
                          (p.defaults[0] ? core::limitValueString(*p.defaults[0]) : std::string("-")) + "/" +
                          (p.defaults[1] ? core::limitValueString(*p.defaults[1]) : std::string("-")) +
                          " IOPS, ceilings read/write " + core::limitValueString(p.max.readIops) + "/" +
                          core::limitValueString(p.max.writeIops) + " IOPS, " + core::formatBytes(p.max.readBps) + "/" +
                          core::formatBytes(p.max.writeBps) + " B/s",
                      {{"POD_NAMESPACE", ns}});
    }
    policy_.namespaces = std::move(next);
    return true;
}

void Engine::reportClamps(const core::PlanEntry& e) {
    if (e.clamps.empty()) return;
    std::string what;
    for (const auto& c : e.clamps) what += (what.empty() ? "" : "; ") + c.describe();
    if (!reported_.insert("clamp|" + e.containerId.id + "|" + what).second) return;
    for (const auto& c : e.clamps) ++telemetry_.clamps[c.by.rfind("namespace ", 0) == 0 ? "namespace" : c.by];
    log::notice("Policy bounded what pod " + e.ns + "/" + e.pod + " asks for container " + e.container + ": " + what,
                {{"POD_NAMESPACE", e.ns}, {"POD_NAME", e.pod}, {"POD_UID", e.podUid},
                 {"CONTAINER_ID", e.containerId.id}});
}

void Engine::persist() {
    if (!store_) return;
    if (auto st = store_->save(memory_); !st) log::error("Failed to save last-known decisions: " + st.error().message);
}

void Engine::releaseDevices(const std::vector<host::BlockDevice>& gone) {
    for (const auto& dev : gone) {
        size_t removed = 0;
        for (const auto& [id, in] : memory_.ours) {
            if (in.cgroup.empty() || in.limits.unlimited()) continue;
            auto have = s_->writer->read(in.cgroup, dev.dev, host::Stage::Started);
            if (!have || have->limits != in.limits) continue;  // gone, or someone else's by now
            if (auto w = s_->writer->write(in.cgroup, dev.dev, Limits{}, have->limits, host::Stage::Started); !w)
                log::error("Failed to remove our limit from " + dev.name + " for container " + id + ": " + w.error().message,
                           {{"CONTAINER_ID", id}, {"DEVICE", dev.dev.str()}});
            else
                ++removed;
        }
        log::info("No longer a data disk: " + dev.name + " (" + dev.dev.str() + "); removed our limit from " +
                      std::to_string(removed) + " container(s) there",
                  {{"DEVICE", dev.dev.str()}});
    }
}

void Engine::logApplied(const core::ContainerStatus& st) {
    const auto& e = st.entry;
    if (onApplied) onApplied(st);
    ++telemetry_.limitsApplied[std::string(core::sourceName(e.source))];
    std::string text = iopsText(e.limits);
    bool noPods = !everHadPods_;
    std::string msg = noPods && !e.pod.empty()
                          ? "Restored the last-known limit of container " + e.containerId.id + " (pod: " + e.ns + "/" +
                                e.pod + "): " + text + " (no pod source reachable)"
                      : e.source == core::LimitSource::Default
                          ? "Applied default IOPS limit for container " + e.containerId.id + ": " + text +
                                (noPods ? " (no pod source reachable)" : "")
                          : "Applied Pod-specific IOPS limit for container " + e.containerId.id + " (pod: " + e.ns +
                                "/" + e.pod + "): " + text;
    log::info(msg, {{"POD_NAMESPACE", e.ns},
                    {"POD_NAME", e.pod},
                    {"POD_UID", e.podUid},
                    {"CONTAINER_ID", e.containerId.id},
                    {"CGROUP", s_->writer->describe(st.cgroup)},
                    {"DEVICE", s_->devices.empty() ? "" : s_->devices.front().dev.str()},
                    {"IOPS_LIMIT", core::limitValueString(e.limits.readIops)},
                    {"LIMIT_SOURCE", std::string(core::sourceName(e.source))}});
}

void Engine::reportProblems(const core::Plan& plan, const std::vector<std::string>& listProblems) {
    for (const auto& p : listProblems)
        if (reported_.insert("list:" + p).second) log::warning("Skipped malformed pod in list: " + p);
    std::map<std::string, const core::Pod*> byKey;
    for (const auto& pod : lastPods_) byKey[pod.key()] = &pod;
    for (const auto& [podKey, problems] : plan.podProblems) {
        const core::Pod* pod = byKey[podKey];
        for (const auto& pr : problems) {
            std::string id = (pod ? pod->uid : podKey) + "|" + pr.key + "=" + pr.value;
            if (!reported_.insert(id).second) continue;
            log::error("Failed to parse annotation " + pr.key + "=\"" + pr.value + "\" of pod " + podKey + ": " +
                           pr.error + "; using the next level for this key",
                       {{"POD_NAMESPACE", pod ? pod->ns : ""}, {"POD_NAME", pod ? pod->name : ""},
                        {"POD_UID", pod ? pod->uid : ""}, {"ANNOTATION", pr.key}});
        }
    }
    if (reported_.size() > 10000) reported_.clear();  // bounded: re-reports after a flood
}

uint32_t Engine::managedContainers() const {
    uint32_t n = 0;
    for (const auto& c : last_.containers)
        if ((c.state == LimitState::Applied || c.state == LimitState::Unchanged) && !c.entry.limits.unlimited()) ++n;
    return n;
}

std::string Engine::explain(const std::string& ns, const std::string& pod) const {
    const core::Pod* found = nullptr;
    for (const auto& p : lastPods_)
        if (p.ns == ns && p.name == pod) found = &p;
    std::vector<core::ExplainObserved> observed;
    for (const auto& st : last_.containers)
        observed.push_back({st.entry.containerId.id, st.cgroup.empty() ? "" : s_->writer->describe(st.cgroup), st.state,
                            st.message, st.entry.limits, st.entry.adaptiveReason});
    return core::renderExplain(ns, pod, found, lastPods_.size(), core::podSourceName(podSource_), planInput(), observed);
}

std::string Engine::cgroupOfUnit(const std::string& unit) const {
    auto id = core::containerIdFromLeaf(unit);
    if (!id) return {};
    std::string rel;
    for (const auto& c : last_.containers)  // the pod data knows where it lives
        if (c.entry.containerId.id == id->id) rel = c.cgroup.empty() ? c.entry.cgroup : c.cgroup;
    if (rel.empty())  // else look under the pods' cgroups for the scope
        for (const auto& cg : host::listContainerCgroups(s_->cgroups))
            if (leafOf(cg) == unit) rel = cg;
    if (rel.empty() || !host::isDirectory(s_->cgroups.hierarchy + "/" + rel)) return {};
    return rel;
}

void Engine::overlayAdaptive(core::PlanEntry& e) {
    auto it = memory_.adaptive.entries.find(e.containerId.id);
    if (it == memory_.adaptive.entries.end()) return;
    if (!e.adaptiveEligible || e.source == core::LimitSource::Excluded) {
        memory_.adaptive.entries.erase(it);  // exempt now (excluded, trusted): its static limit only
        return;
    }
    Limits in = core::tighterOf(e.limits, it->second.limits);
    if (in == e.limits) return;
    e.limits = in;
    e.source = core::LimitSource::Adaptive;
    e.adaptiveReason = it->second.reason;
}

std::vector<core::AdaptiveChange> Engine::adaptiveStep(const core::AdaptiveConfig& cfg, core::AdaptiveClock::time_point now,
                                                       const std::vector<core::DiskWindow>& disks,
                                                       const std::vector<core::ContainerUse>& uses) {
    auto changes = core::adaptiveStep(memory_.adaptive, cfg, now, disks, uses);
    for (const auto& c : changes) {
        ++telemetry_.adaptiveActions[std::string(core::adaptiveKindName(c.kind))];
        if (c.kind == core::AdaptiveChange::Kind::Forget) continue;
        const core::PlanEntry* e = nullptr;
        for (const auto& st : last_.containers)
            if (st.entry.containerId.id == c.id) e = &st.entry;
        std::string what = c.kind == core::AdaptiveChange::Kind::Release
                               ? "Released the adaptive limit of container "
                               : std::string(c.kind == core::AdaptiveChange::Kind::Tighten ? "Tightened" : "Loosened") +
                                     " the adaptive limit of container ";
        log::notice(what + c.id + (e ? " (pod: " + e->ns + "/" + e->pod + ")" : "") + " to " + iopsText(c.after) + ": " +
                        c.reason,
                    {{"POD_NAMESPACE", e ? e->ns : ""},
                     {"POD_NAME", e ? e->pod : ""},
                     {"POD_UID", e ? e->podUid : ""},
                     {"CONTAINER_ID", c.id},
                     {"ADAPTIVE_ACTION", std::string(core::adaptiveKindName(c.kind))}});
    }
    return changes;
}

}  // namespace iopslimit::daemon
