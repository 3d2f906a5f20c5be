#include "daemon/reconciler.h"

#include <cerrno>
#include <optional>

#include "core/quantity.h"
#include "core/table.h"
#include "daemon/log.h"

namespace iopslimit::daemon {

using core::Limits;

std::string_view stateName(ContainerState s) {
    switch (s) {
        case ContainerState::Applied: return "applied";
        case ContainerState::Unchanged: return "unchanged";
        case ContainerState::Planned: return "planned";
        case ContainerState::Missing: return "missing";
        case ContainerState::Error: return "error";
        case ContainerState::Excluded: return "excluded";
    }
    return "error";
}

std::string_view publicStateName(ContainerState s) {
    switch (s) {
        case ContainerState::Applied:
        case ContainerState::Unchanged: return "applied";
        case ContainerState::Planned:
        case ContainerState::Missing: return "pending";
        case ContainerState::Error: return "error";
        case ContainerState::Excluded: return "excluded";
    }
    return "error";
}

namespace {

core::Filter makeFilter(const core::Config& cfg) {
    auto f = core::Filter::create(cfg.filter);
    // parseConfig validated the same spec, so this cannot fail; keep a no-op filter if it did.
    return f ? std::move(f).value() : core::Filter::create({}).value();
}

std::string iopsText(const Limits& l) {
    std::string s = l.readIops == l.writeIops ? core::limitValueString(l.readIops)
                                              : "read " + core::limitValueString(l.readIops) + ", write " +
                                                    core::limitValueString(l.writeIops);
    if (l.readBps || l.writeBps)
        s += " (bps read " + core::formatBytes(l.readBps) + ", write " + core::formatBytes(l.writeBps) + ")";
    return s;
}

}  // namespace

Reconciler::Reconciler(const core::Config& cfg, host::CgroupSetup setup, std::vector<host::BlockDevice> devices,
                       host::LimitWriter& writer, kube::PodSource* kubelet, kube::PodSource* apiserver)
    : cfg_(cfg),
      setup_(std::move(setup)),
      devices_(std::move(devices)),
      writer_(writer),
      kubelet_(kubelet),
      apiserver_(apiserver),
      filter_(makeFilter(cfg)) {}

FetchResult Reconciler::fetch() {
    std::lock_guard lock(fetchMutex_);
    auto start = std::chrono::steady_clock::now();
    FetchResult f = fetchLocked();
    f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return f;
}

FetchResult Reconciler::fetchLocked() {
    FetchResult f;
    std::string kubeletError;
    if (kubelet_) {
        auto pods = kubelet_->list();
        if (pods) {
            log::info("Successfully got " + std::to_string(pods->pods.size()) + " pods from kubelet API");
            f.pods = std::move(pods).value();
            f.source = "kubelet";
            return f;
        }
        kubeletError = pods.error().message;
        f.failedSources.push_back("kubelet");
    }
    if (apiserver_) {
        log::warning("Failed to get pods from kubelet API: " + kubeletError + ", falling back to API Server");
        auto pods = apiserver_->list();
        if (pods) {
            log::info("Successfully got " + std::to_string(pods->pods.size()) + " pods from API Server");
            f.pods = std::move(pods).value();
            f.source = "apiserver";
            return f;
        }
        log::error("Failed to get pods from API Server: " + pods.error().message);
        f.failedSources.push_back("apiserver");
        kubeletError += "; API server: " + pods.error().message;
    } else {
        log::error("Failed to get pods from kubelet API: " + kubeletError + " (no API server configured)");
    }
    f.error = kubeletError;
    return f;
}

ReconcileReport Reconciler::reconcileWith(FetchResult f, bool dryRun) {
    if (f.pods) {
        ReconcileReport r = apply(*f.pods, f.source, dryRun);
        r.failedSources = std::move(f.failedSources);
        return r;
    }
    if (!everHadPods_) {
        ReconcileReport r = applyDefaultsWithoutPods(dryRun);
        r.errors.push_back(f.error);
        r.failedSources = std::move(f.failedSources);
        return r;
    }
    log::warning("No pod source reachable; keeping every limit in force");
    ReconcileReport r;
    r.source = "none";
    r.errors.push_back(f.error);
    r.failedSources = std::move(f.failedSources);
    return r;
}

void Reconciler::reportProblems(const core::Plan& plan, const core::PodList& pods) {
    for (const auto& p : pods.problems)
        if (reported_.insert("list:" + p).second) log::warning("Skipped malformed pod in list: " + p);
    std::map<std::string, const core::Pod*> byKey;
    for (const auto& pod : pods.pods) byKey[pod.key()] = &pod;
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

ReconcileReport Reconciler::apply(const core::PodList& pods, const std::string& source, bool dryRun) {
    auto start = std::chrono::steady_clock::now();
    everHadPods_ = true;
    if (&pods.pods != &lastPods_) lastPods_ = pods.pods;
    if (!setup_.driverDetected && host::redetectLayout(setup_))
        log::info(std::string("Found the kubepods cgroup: driver ") + std::string(core::driverName(setup_.layout.driver)));

    core::PlanInput in;
    in.defaults = cfg_.defaults;
    in.filter = &filter_;
    in.layout = setup_.layout;
    in.overrides = &overrides_;
    core::Plan plan = core::makePlan(pods.pods, in);
    reportProblems(plan, pods);
    if (plan.skippedContainers)
        log::error("Failed to plan " + std::to_string(plan.skippedContainers) + " container(s): more than " +
                   std::to_string(core::kMaxContainers) + " running containers in the pod data; the first " +
                   std::to_string(core::kMaxContainers) + " are reconciled");

    ReconcileReport report;
    report.source = source;
    report.podsFresh = true;
    report.containers.reserve(plan.entries.size());
    std::set<std::string> seen;
    for (auto& e : plan.entries) {
        ContainerStatus st;
        st.entry = std::move(e);
        if (st.entry.source == core::LimitSource::Excluded) removeOurLimit(st, dryRun, report);
        else applyEntry(st, dryRun, report);
        if (!st.cgroup.empty()) seen.insert(st.cgroup);
        report.containers.push_back(std::move(st));
    }
    // Containers whose cgroup is gone are forgotten. One the pod list does not show (yet) is
    // kept: a container often starts before the kubelet lists it, and if its pod then turns out
    // to be excluded, removeOurLimit must still know the default we gave it was ours.
    std::erase_if(applied_, [&](const auto& kv) {
        return !seen.count(kv.first) && !host::isDirectory(setup_.hierarchy + "/" + kv.first);
    });
    if (!dryRun) {
        DecisionCache next;
        for (const auto& c : report.containers) {
            const auto& e = c.entry;
            if (e.containerId.id.empty()) continue;
            next[e.containerId.id] = CachedDecision{e.ns, e.pod, e.limits, e.source == core::LimitSource::Excluded};
        }
        decisions_ = std::move(next);
    }
    report.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return report;
}

bool Reconciler::onNewContainer(const std::string& cgroup, ContainerStatus* out) {
    if (applied_.count(cgroup)) return true;  // already ours (e.g. seen by the last reconcile)
    auto slash = cgroup.rfind('/');
    if (slash == std::string::npos) return true;
    auto id = core::containerIdFromLeaf(cgroup.substr(slash + 1));
    if (!id) return true;
    std::string parent = cgroup.substr(0, slash);
    auto uid = core::podUidFromCgroupName(parent.substr(parent.rfind('/') + 1));

    const core::Pod* pod = nullptr;
    for (const auto& p : lastPods_)
        if (uid && p.cgroupUid() == *uid) pod = &p;
    core::PlanInput in{cfg_.defaults, &filter_, setup_.layout, &overrides_};
    ContainerStatus st;
    bool known = false;
    if (pod) {
        core::Plan plan = core::makePlan({*pod}, in);
        for (auto& e : plan.entries)
            if (e.containerId.id == id->id) {
                st.entry = std::move(e);
                known = true;
            }
    }
    auto cached = decisions_.find(id->id);
    if (!known && !pod && cached != decisions_.end()) {
        // Pods unknown (no source yet since a restart): the last decision made for it.
        core::PlanEntry& e = st.entry;
        e.containerId = *id;
        e.ns = cached->second.ns;
        e.pod = cached->second.pod;
        e.limits = cached->second.limits;
        e.source = cached->second.excluded ? core::LimitSource::Excluded : core::LimitSource::Default;
        e.excludedReason = "excluded when last seen";
    } else if (!known) {
        // A container the last pod data does not know yet: its pod's settings if we know the
        // pod, the node default otherwise; the fetch that follows corrects it.
        core::PlanEntry& e = st.entry;
        e.containerId = *id;
        e.podUid = uid.value_or("");
        e.limits = cfg_.defaults;
        if (pod) {
            e.ns = pod->ns;
            e.pod = pod->name;
            e.qos = pod->qos;
            e.qosKnown = pod->qosKnown;
            core::Container unknown;
            if (auto why = filter_.excludedReason(*pod, unknown)) {
                e.source = core::LimitSource::Excluded;
                e.excludedReason = *why;
            } else if (auto ov = overrides_.find(pod->key()); ov != overrides_.end()) {
                e.limits = ov->second;
                e.source = core::LimitSource::Override;
            } else {
                e.decision = core::decideLimits(pod->annotations, "", cfg_.defaults);
                e.limits = e.decision.limits;
                e.source = e.decision.fromAnnotation() ? core::LimitSource::Annotation : core::LimitSource::Default;
            }
        }
    }
    st.entry.cgroup = cgroup;
    if (!known && !pod && cached == decisions_.end() && !devices_.empty()) {
        // Nothing known about it: the default only where no limit is in force (as at start
        // without pods); a limit someone set stays until fresh pod data says otherwise.
        auto have = writer_.read(cgroup, devices_.front().dev);
        if (have && !have->unlimited()) {
            st.state = ContainerState::Unchanged;
            st.message = "limit already in force, kept";
            if (out) *out = std::move(st);
            return false;
        }
    }
    if (st.entry.source != core::LimitSource::Excluded) {
        ReconcileReport scratch;
        applyEntry(st, false, scratch);
    } else {
        st.state = ContainerState::Excluded;
    }
    if (out) *out = std::move(st);
    return known;
}

void Reconciler::applyEntry(ContainerStatus& st, bool dryRun, ReconcileReport& report) {
    const core::PlanEntry& e = st.entry;
    // Fast path: read at the derived path; only a miss pays for the search.
    std::optional<core::Result<Limits>> firstRead;
    if (e.idError.empty() && !devices_.empty()) {
        firstRead = writer_.read(e.cgroup, devices_.front().dev);
        if (*firstRead || firstRead->error().code != ENOENT) st.cgroup = e.cgroup;
        else firstRead.reset();
    }
    if (st.cgroup.empty()) {
        auto cg = host::findContainerCgroup(setup_, e);
        if (!cg) {
            st.state = ContainerState::Missing;
            st.message = cg.error().message;
            ++report.missing;
            log::debug("Container " + e.ns + "/" + e.pod + "/" + e.container + ": " + st.message,
                       {{"POD_NAMESPACE", e.ns}, {"POD_NAME", e.pod}, {"CONTAINER_ID", e.containerId.id}});
            return;
        }
        st.cgroup = *cg;
    }
    bool changed = false;
    for (size_t i = 0; i < devices_.size(); ++i) {
        const auto& dev = devices_[i];
        auto have = (i == 0 && firstRead) ? std::move(*firstRead) : writer_.read(st.cgroup, dev.dev);
        if (!have) {
            st.state = have.error().code == ENOENT ? ContainerState::Missing : ContainerState::Error;
            st.message = have.error().message;
            st.errorCode = have.error().code;
            break;
        }
        if (*have == e.limits) continue;
        if (dryRun) {
            st.state = ContainerState::Planned;
            changed = true;
            continue;
        }
        auto w = writer_.write(st.cgroup, dev.dev, e.limits, *have);
        if (!w) {
            st.state = w.error().code == ENOENT ? ContainerState::Missing : ContainerState::Error;
            st.message = "Failed to write limit: " + w.error().message;
            st.errorCode = w.error().code;
            break;
        }
        changed = true;
    }
    if (st.state == ContainerState::Missing || st.state == ContainerState::Error) {
        if (st.state == ContainerState::Missing) ++report.missing;
        else {
            ++report.failed;
            if (onFailed) onFailed(st);
            log::error("Failed to apply limit to container " + e.containerId.id + " (pod: " + e.ns + "/" + e.pod +
                           "): " + st.message,
                       {{"POD_NAMESPACE", e.ns}, {"POD_NAME", e.pod}, {"POD_UID", e.podUid},
                        {"CONTAINER_ID", e.containerId.id}, {"CGROUP", writer_.describe(st.cgroup)}});
        }
        return;
    }
    if (!changed) {
        st.state = ContainerState::Unchanged;
        ++report.unchanged;
        applied_[st.cgroup] = e.limits;
        return;
    }
    if (dryRun) {
        ++report.changed;
        return;
    }
    st.state = ContainerState::Applied;
    ++report.changed;
    applied_[st.cgroup] = e.limits;
    if (onApplied) onApplied(st);
    std::string text = iopsText(e.limits);
    std::string msg = e.source == core::LimitSource::Default
                          ? "Applied default IOPS limit for container " + e.containerId.id + ": " + text
                          : "Applied Pod-specific IOPS limit for container " + e.containerId.id + " (pod: " + e.ns +
                                "/" + e.pod + "): " + text;
    log::info(msg, {{"POD_NAMESPACE", e.ns},
                    {"POD_NAME", e.pod},
                    {"POD_UID", e.podUid},
                    {"CONTAINER_ID", e.containerId.id},
                    {"CGROUP", writer_.describe(st.cgroup)},
                    {"DEVICE", devices_.empty() ? "" : devices_.front().dev.str()},
                    {"IOPS_LIMIT", core::limitValueString(e.limits.readIops)},
                    {"LIMIT_SOURCE", std::string(core::sourceName(e.source))}});
}

void Reconciler::removeOurLimit(ContainerStatus& st, bool dryRun, ReconcileReport& report) {
    const core::PlanEntry& e = st.entry;
    st.state = ContainerState::Excluded;
    st.message = e.excludedReason;
    ++report.excluded;
    auto cg = host::findContainerCgroup(setup_, e);
    if (!cg) return;
    st.cgroup = *cg;
    auto it = applied_.find(st.cgroup);
    if (it == applied_.end()) return;  // never ours: leave whatever is there alone
    for (const auto& dev : devices_) {
        auto have = writer_.read(st.cgroup, dev.dev);
        if (!have || *have != it->second) continue;  // someone else changed it since
        if (dryRun) continue;
        if (auto w = writer_.write(st.cgroup, dev.dev, Limits{}, *have); !w) {
            st.message += "; failed to remove our limit: " + w.error().message;
            return;
        }
    }
    if (!dryRun) {
        log::info("Removed IOPS limit from excluded container " + e.containerId.id + " (pod: " + e.ns + "/" + e.pod +
                      "): " + e.excludedReason,
                  {{"POD_NAMESPACE", e.ns}, {"POD_NAME", e.pod}, {"CONTAINER_ID", e.containerId.id}});
        applied_.erase(it);
    }
}

ReconcileReport Reconciler::applyDefaultsWithoutPods(bool dryRun) {
    auto start = std::chrono::steady_clock::now();
    ReconcileReport report;
    report.source = "fallback";
    if (!setup_.driverDetected) host::redetectLayout(setup_);
    for (const auto& cg : host::listContainerCgroups(setup_)) {
        ContainerStatus st;
        st.cgroup = cg;
        st.entry.cgroup = cg;
        st.entry.containerId = core::containerIdFromLeaf(cg.substr(cg.rfind('/') + 1)).value_or(core::ContainerId{});
        st.entry.limits = cfg_.defaults;
        st.state = ContainerState::Unchanged;
        if (auto c = decisions_.find(st.entry.containerId.id); c != decisions_.end()) {
            // Decided from fresh pod data before the restart: restore exactly that.
            st.entry.ns = c->second.ns;
            st.entry.pod = c->second.pod;
            if (c->second.excluded) {
                st.entry.source = core::LimitSource::Excluded;
                st.state = ContainerState::Excluded;
                ++report.excluded;
                report.containers.push_back(std::move(st));
                continue;
            }
            st.entry.limits = c->second.limits;
            st.entry.source = core::LimitSource::Annotation;
            applyEntry(st, dryRun, report);
            if (st.state == ContainerState::Applied)
                log::info("Restored the last-known limit of container " + st.entry.containerId.id + " (pod: " +
                          st.entry.ns + "/" + st.entry.pod + "): " + iopsText(st.entry.limits) + " (no pod source reachable)");
            report.containers.push_back(std::move(st));
            continue;
        }
        bool any = false, failed = false;
        std::vector<std::pair<core::DevNum, Limits>> toWrite;
        for (const auto& dev : devices_) {
            auto have = writer_.read(cg, dev.dev);
            if (!have) { failed = true; st.message = have.error().message; st.errorCode = have.error().code; break; }
            if (!have->unlimited()) any = true;
            toWrite.emplace_back(dev.dev, *have);
        }
        if (failed) {
            st.state = ContainerState::Error;
            ++report.failed;
        } else if (any) {
            st.message = "limit already in force, kept";
            st.entry.limits = Limits{};
            ++report.unchanged;
        } else if (dryRun) {
            st.state = ContainerState::Planned;
            ++report.changed;
        } else {
            for (const auto& [dev, have] : toWrite)
                if (auto w = writer_.write(cg, dev, cfg_.defaults, have); !w) {
                    failed = true;
                    st.message = w.error().message;
                    st.errorCode = w.error().code;
                }
            st.state = failed ? ContainerState::Error : ContainerState::Applied;
            if (failed) ++report.failed;
            else {
                ++report.changed;
                applied_[cg] = cfg_.defaults;
                log::info("Applied default IOPS limit for container " + st.entry.containerId.id + ": " +
                              iopsText(cfg_.defaults) + " (no pod source reachable)",
                          {{"CONTAINER_ID", st.entry.containerId.id}, {"CGROUP", writer_.describe(cg)}});
            }
        }
        report.containers.push_back(std::move(st));
    }
    log::warning("No pod source reachable at start: restored the last-known limit or gave the default to " +
                 std::to_string(report.changed) + " container(s) and kept " + std::to_string(report.unchanged) +
                 " limit(s) in force");
    report.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return report;
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
                        std::string(r.source == "fallback" ? "fallback" : core::sourceName(e.source)),
                        std::string(stateName(c.state))});
    }
    return core::renderTable({"NAMESPACE", "POD", "CONTAINER", "CONTAINER-ID", "CGROUP", "READ-IOPS", "WRITE-IOPS",
                              "READ-BPS", "WRITE-BPS", "SOURCE", "STATE"},
                             rows);
}

}  // namespace iopslimit::daemon
