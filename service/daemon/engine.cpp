#include "daemon/engine.h"

#include <cerrno>

#include "daemon/log.h"

namespace iopslimit::daemon {

using core::Limits;
using core::LimitState;

Update Update::fromFetch(kube::FetchResult f) {
    Update u;
    u.source = f.source;
    u.pods = std::move(f.pods);
    u.failures = std::move(f.failures);
    u.fetchSeconds = f.seconds;
    return u;
}

Update Update::fresh(core::PodList pods, core::PodSourceKind source) {
    Update u;
    u.source = source;
    u.pods = std::move(pods);
    return u;
}

Update Update::replanned() {
    Update u;
    u.again = true;
    return u;
}

Update Update::appeared(std::vector<std::string> cgroups) {
    Update u;
    u.cgroups = std::move(cgroups);
    return u;
}

void Engine::use(Setup& setup) {
    s_ = &setup;
    // parseConfig validated the same spec, so this cannot fail; keep a no-op filter if it did.
    auto f = core::Filter::create(setup.cfg.filter);
    filter_ = f ? std::move(f).value() : core::Filter::create({}).value();
    policy_.node = setup.cfg.policy;
    ++layoutGeneration_;
}

void Engine::restore(EngineMemory memory, DecisionCacheStore* store) {
    memory_ = std::move(memory);
    store_ = store;
    // An adaptive limit never outlives its cooldown, even across a crash or a long stop.
    size_t total = memory_.adaptive.entries.size();
    size_t expired = core::expireAdaptive(memory_.adaptive, clock_.wallNow());
    if (total)
        log::info("Resumed " + std::to_string(total - expired) + " adaptive limit(s) from before the restart; " +
                  std::to_string(expired) + " had expired and are back to their static limit");
}

core::PlanInput Engine::planInput() const {
    return core::PlanInput{s_->cfg.defaults, &filter_, s_->cgroups.layout, &overrides_, &policy_};
}

bool Engine::redetectLayout() {
    if (s_->cgroups.driverDetected || !host::redetectLayout(s_->cgroups)) return false;
    ++layoutGeneration_;
    const auto& l = s_->cgroups.layout;
    log::info(std::string("Found the kubepods cgroup: driver ") + std::string(core::driverName(l.driver)) + " (" +
              core::kubepodsCgroup(l) + ")");
    return true;
}

const ReconcileReport& Engine::apply(Update u) {
    auto t0 = clock_.now();
    if (!u.cgroups.empty()) {
        appeared_ = applyAppeared(u.cgroups);
        if (appeared_.containers.empty()) return appeared_;
        // What list, ManagedContainers and STATUS show includes them from now on.
        last_.merge(appeared_);
        if (onStateChanged) onStateChanged();
        return appeared_;
    }
    ReconcileReport r;
    // A pass replaces the report: the old one goes first, so that a pass never holds two (~1.3 MiB
    // each for 1,000 containers). Nothing reads it during the pass (loop thread only).
    const bool replaces = (u.again && everHadPods_) || u.pods || !everHadPods_;
    if (replaces) last_ = ReconcileReport{};
    if (u.again && everHadPods_) {
        core::PodList again;
        again.pods = std::move(lastPods_);  // applyPods keeps them again: no copy
        r = applyPods(std::move(again), podSource_, u.dryRun);
        r.podsFresh = false;  // decided anew, but from what was already known
    } else if (u.pods) {
        r = applyPods(std::move(*u.pods), u.source, u.dryRun);
    } else if (!everHadPods_) {
        r = applyFallback(u.dryRun);
    } else {
        // Never loosened by a failure: what is in force stays, and so does what we showed.
        log::warning("No pod source reachable; keeping every limit in force");
        r = last_;
        r.podsFresh = false;
        r.fallback = false;
    }
    r.failures = std::move(u.failures);
    r.millis = secondsBetween(t0, clock_.now()) * 1000;
    last_ = std::move(r);
    account(last_, u, u.fetchSeconds + last_.millis / 1000);
    if (onStateChanged) onStateChanged();
    return last_;
}

void Engine::account(const ReconcileReport& r, const Update& u, double seconds) {
    ++telemetry_.reconciles;
    telemetry_.reconcileSeconds.observe(seconds);
    for (const auto& f : r.failures) ++telemetry_.sourceFailures[std::string(core::podSourceName(f.source))];
    if (u.dryRun) return;
    if (r.podsFresh) {
        podSource_ = r.source;
        telemetry_.sourceLastSuccess[std::string(core::podSourceName(r.source))] = unixSeconds(clock_.wallNow());
        lastSyncUsec_ = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(clock_.wallNow().time_since_epoch()).count());
    } else if (r.fallback) {
        podSource_ = r.source;
    }
    persist();  // written only when it changed
}

ReconcileReport Engine::applyPods(core::PodList&& pods, core::PodSourceKind source, bool dryRun) {
    everHadPods_ = true;
    lastPods_ = std::move(pods.pods);
    redetectLayout();
    core::Plan plan = core::makePlan(lastPods_, planInput());
    reportProblems(plan, pods.problems);
    if (plan.skippedContainers)
        log::error("Failed to plan " + std::to_string(plan.skippedContainers) + " container(s): more than " +
                   std::to_string(core::kMaxContainers) + " running containers in the pod data; the first " +
                   std::to_string(core::kMaxContainers) + " are reconciled");
    ReconcileReport r;
    r.source = source;
    r.podsFresh = true;
    r.containers.reserve(plan.entries.size());
    std::set<std::string> seen;
    for (auto& e : plan.entries) {
        core::Intent intent = e.source == core::LimitSource::Excluded ? core::Intent::RemoveOurs : core::Intent::Enforce;
        auto& st = r.containers.emplace_back();
        st.entry = std::move(e);
        if (!dryRun) reportClamps(st.entry);
        overlayAdaptive(st.entry);
        enforce(st, intent, dryRun, true, host::Stage::Started);  // the plan has running containers only
        if (!st.cgroup.empty()) seen.insert(st.entry.containerId.id);
        r.count(st);
    }
    if (dryRun) return r;
    // Containers whose cgroup is gone are forgotten. One the pod list does not show (yet) is
    // kept: a container often starts before the kubelet lists it, and if its pod then turns out
    // to be excluded, the default we gave it must still be known as ours.
    std::erase_if(memory_.ours, [&](const auto& kv) {
        return !seen.count(kv.first) &&
               (kv.second.cgroup.empty() || !host::isDirectory(s_->cgroups.hierarchy + "/" + kv.second.cgroup));
    });
    core::DecisionCache next;
    for (const auto& c : r.containers) {
        const auto& e = c.entry;
        if (e.containerId.id.empty()) continue;
        // The static decision: an adaptive limit is resumed from its own record, with its expiry.
        auto source = e.source == core::LimitSource::Adaptive ? core::LimitSource::Annotation : e.source;
        next[e.containerId.id] = core::KnownDecision{e.ns, e.pod, e.staticLimits, e.source == core::LimitSource::Excluded, source};
    }
    memory_.decisions = std::move(next);
    return r;
}

ReconcileReport Engine::applyFallback(bool dryRun) {
    // No pod source since start: the last decisions for the containers still there, the default
    // where nothing is known and no limit is in force.
    redetectLayout();
    ReconcileReport r;
    r.fallback = true;
    r.source = memory_.decisions.empty() ? core::PodSourceKind::None : core::PodSourceKind::Cache;
    auto in = planInput();
    for (const auto& cg : host::listContainerCgroups(s_->cgroups)) {
        auto t = core::targetForCgroup(cg, {}, memory_.decisions, in);
        if (!t) continue;
        auto& st = r.containers.emplace_back();
        st.entry = std::move(t->entry);
        enforce(st, t->intent, dryRun, false, host::Stage::Started);
        r.count(st);
    }
    log::warning("No pod source reachable at start: restored the last-known limit or gave the default to " +
                 std::to_string(r.changed) + " container(s) and kept " + std::to_string(r.unchanged) +
                 " limit(s) in force");
    return r;
}

ReconcileReport Engine::applyAppeared(const std::vector<std::string>& cgroups) {
    ReconcileReport r;
    bool unknown = false;
    auto in = planInput();
    for (const auto& cg : cgroups) {
        auto t = core::targetForCgroup(cg, lastPods_, memory_.decisions, in);
        if (!t) continue;
        // Reported twice (an inotify event and the scan of a new pod directory racing, or inotify
        // and then UnitNew): the first already put our limit in force.
        if (auto o = memory_.ours.find(t->entry.containerId.id); o != memory_.ours.end() && o->second.cgroup == cg)
            continue;
        auto t0 = clock_.now();
        auto& st = r.containers.emplace_back();
        st.entry = std::move(t->entry);
        reportClamps(st.entry);
        // Just made: its runtime may still be setting the cgroup up, whatever the pod data says.
        enforce(st, t->intent, false, false, host::Stage::Starting);
        telemetry_.newContainerSeconds.observe(secondsBetween(t0, clock_.now()));
        ++telemetry_.newContainers[t->listed ? "known" : "unknown"];
        log::debug("New container cgroup " + cg + ": " + std::string(core::stateName(st.state)));
        unknown = unknown || !t->listed;
        r.count(st);
    }
    if (unknown && onUnknownContainer) onUnknownContainer();
    return r;
}

void Engine::enforce(core::ContainerStatus& st, core::Intent intent, bool dryRun, bool search, host::Stage stage) {
    const core::PlanEntry& e = st.entry;
    const bool removing = intent == core::Intent::RemoveOurs;
    const auto& devices = s_->devices;
    auto fail = [&](const core::Error& err, const std::string& prefix) {
        if (removing) {  // an excluded container stays excluded; nothing of ours is touched
            st.state = LimitState::Excluded;
            st.message = e.excludedReason + "; failed to remove our limit: " + err.message;
            return;
        }
        st.state = err.code == ENOENT   ? LimitState::Missing
                   : err.code == EAGAIN ? LimitState::Retrying
                                        : LimitState::Error;
        st.message = prefix + err.message;
        st.errorCode = err.code;
        // Neither is a failure: the container is not there (yet), or systemd could not answer now
        // (the daemon logs one line for the pass and tries again).
        if (st.state == LimitState::Missing || st.state == LimitState::Retrying) {
            log::debug("Container " + e.ns + "/" + e.pod + "/" + e.container + ": " + st.message,
                       {{"POD_NAMESPACE", e.ns}, {"POD_NAME", e.pod}, {"CONTAINER_ID", e.containerId.id}});
            return;
        }
        ++telemetry_.applyErrors[applyErrorCause(st.errorCode, s_->systemdBackend())];
        if (onFailed) onFailed(st);
        log::error("Failed to apply limit to container " + e.containerId.id + " (pod: " + e.ns + "/" + e.pod +
                       "): " + st.message,
                   {{"POD_NAMESPACE", e.ns}, {"POD_NAME", e.pod}, {"POD_UID", e.podUid},
                    {"CONTAINER_ID", e.containerId.id}, {"CGROUP", s_->writer->describe(st.cgroup)}});
    };
    if (devices.empty()) {  // no data disk yet: nothing to read or write, only to remember
        st.state = removing ? LimitState::Excluded : LimitState::Planned;
        st.message = removing ? e.excludedReason : "waiting for DATA_MOUNT";
        return;
    }
    if (!e.idError.empty()) {
        fail(core::makeError(e.idError, ENOENT), "");
        if (removing) st.message = e.excludedReason;
        return;
    }
    // Read what is in force: at the derived path first; only a miss pays for the search.
    st.cgroup = e.cgroup;
    std::vector<Limits> have;
    std::vector<bool> kernelOnly;
    have.reserve(devices.size());
    kernelOnly.reserve(devices.size());
    for (size_t i = 0; i < devices.size(); ++i) {
        auto got = s_->writer->read(st.cgroup, devices[i].dev, stage);
        if (!got && i == 0 && got.error().code == ENOENT && search) {
            auto found = host::findContainerCgroup(s_->cgroups, e);
            if (!found) {
                st.cgroup.clear();
                fail(found.error(), "");
                if (removing) st.message = e.excludedReason;
                return;
            }
            st.cgroup = *found;
            got = s_->writer->read(st.cgroup, devices[i].dev, stage);
        }
        if (!got) {
            fail(got.error(), "");
            return;
        }
        have.push_back(got->limits);
        kernelOnly.push_back(got->kernelOnly);
    }
    const std::string& cg = st.cgroup;
    auto ours = memory_.ours.find(e.containerId.id);
    std::optional<Limits> oursNow;
    if (ours != memory_.ours.end()) oursNow = ours->second.limits;
    core::Decision d = core::decide(e, intent, have, oursNow, kernelOnly);
    if (dryRun) {  // a write that only hands a limit over to its owner changes nothing
        st.state = d.wrote() && d.state != LimitState::Unchanged ? LimitState::Planned : d.state;
        st.message = d.note;
        return;
    }
    for (size_t i = 0; i < devices.size(); ++i) {
        if (!d.writes[i]) continue;
        if (auto w = s_->writer->write(cg, devices[i].dev, *d.writes[i], have[i], stage); !w) {
            fail(w.error(), "Failed to write limit: ");
            return;
        }
    }
    st.state = d.state;
    st.message = d.note;
    if (d.handedOver)
        log::debug("Container " + e.ns + "/" + e.pod + "/" + e.container + " runs: its limit in " +
                       s_->writer->describe(cg) + " was handed to the cgroup's owner",
                   {{"POD_NAMESPACE", e.ns}, {"POD_NAME", e.pod}, {"CONTAINER_ID", e.containerId.id}});
    if (d.ours && ours == memory_.ours.end()) {
        memory_.ours.emplace(e.containerId.id, core::InForce{cg, *d.ours});
    } else if (d.ours) {  // usually the same as before
        if (ours->second.cgroup != cg) ours->second.cgroup = cg;
        ours->second.limits = *d.ours;
    } else if (ours != memory_.ours.end()) {
        if (removing && d.wrote())
            log::info("Removed IOPS limit from excluded container " + e.containerId.id + " (pod: " + e.ns + "/" +
                          e.pod + "): " + e.excludedReason,
                      {{"POD_NAMESPACE", e.ns}, {"POD_NAME", e.pod}, {"CONTAINER_ID", e.containerId.id}});
        if (removing) memory_.ours.erase(ours);
    }
    if (intent == core::Intent::DefaultIfNone && !d.ours) st.entry.limits = Limits{};  // someone else's, kept
    if (st.state == LimitState::Applied) logApplied(st);
}

}  // namespace iopslimit::daemon
