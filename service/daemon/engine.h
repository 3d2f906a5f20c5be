#pragma once
// The enforcement engine. One entry, apply(update): pods from a source (the kubelet's or API
// server's list, the watch's current set), container cgroups that just appeared, or no pods at
// all. core plans (planContainer, targetForCgroup) and decides (decide) against what the writer
// reads; the engine only reads, writes, and keeps the books once for every path: what is ours,
// the last decisions, the report, the counters. Loop thread only.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/planner.h"
#include "core/reconcile.h"
#include "daemon/clock.h"
#include "daemon/report.h"
#include "daemon/setup.h"
#include "daemon/state_store.h"
#include "daemon/telemetry.h"
#include "kube/pod_sources.h"

namespace iopslimit::daemon {

struct Update {
    core::PodSourceKind source = core::PodSourceKind::None;  // where `pods` came from
    std::optional<core::PodList> pods;          // fresh pods; nullopt: no source answered
    std::vector<std::string> cgroups;           // non-empty: only these container cgroups (new ones)
    std::vector<kube::SourceFailure> failures;  // sources that failed on the way
    double fetchSeconds = 0;
    bool dryRun = false;  // read and plan, write nothing
    bool again = false;   // the last-known pods again (an override, the layout or the disks changed)

    static Update fromFetch(kube::FetchResult f);
    static Update fresh(core::PodList pods, core::PodSourceKind source);
    static Update appeared(std::vector<std::string> cgroups);
    static Update replanned();
};

class Engine {
public:
    Engine(Telemetry& telemetry, const Clock& clock) : telemetry_(telemetry), clock_(clock) {}

    // The setup to work with (at start and after a reload); what is ours carries over.
    void use(Setup& setup);
    // What was remembered from before a restart (decisions.json); null store: nothing persisted.
    void restore(EngineMemory memory, DecisionCacheStore* store);
    void setOverrides(std::map<std::string, core::Limits> overrides) { overrides_ = std::move(overrides); }
    // The namespaces' iops-limit/* annotations (the namespace watch); true when the policy changed.
    bool setNamespaceAnnotations(const std::map<std::string, std::map<std::string, std::string>>& annotations);
    const core::Policy& policy() const { return policy_; }

    // The single entry. Returns this pass's report: last() for full passes (pods, or none at
    // all), the report of just these containers for new ones (valid until the next apply).
    const ReconcileReport& apply(Update u);

    const ReconcileReport& last() const { return last_; }
    const std::vector<core::Pod>& lastPods() const { return lastPods_; }
    core::PodSourceKind podSource() const { return podSource_; }
    uint64_t lastSyncUsec() const { return lastSyncUsec_; }
    uint32_t managedContainers() const;
    const Setup& setup() const { return *s_; }
    const core::Filter& filter() const { return filter_; }
    const EngineMemory& memory() const { return memory_; }
    // Adaptive limits: one step at the end of a window (core::adaptiveStep on the engine's memory);
    // the changes are logged and counted here; the caller re-plans when there are any.
    std::vector<core::AdaptiveChange> adaptiveStep(const core::AdaptiveConfig& cfg, core::AdaptiveClock::time_point now,
                                                   const std::vector<core::DiskWindow>& disks,
                                                   const std::vector<core::ContainerUse>& uses);
    // Disks that stop being data disks (a DATA_MOUNT now on another disk): our limits come off
    // them where they are still ours. Call before the setup's devices change.
    void releaseDevices(const std::vector<host::BlockDevice>& gone);
    // Writes the memory if it changed (after new containers the daemon calls this on a timer).
    void persist();
    std::string explain(const std::string& ns, const std::string& pod) const;
    // The cgroup of a container scope systemd announced, if it exists: where the pod data says it
    // lives, else found under the pods' cgroups. Empty when there is none (yet).
    std::string cgroupOfUnit(const std::string& unit) const;
    // Looks for the kubepods tree again while the layout is only assumed; true when found.
    bool redetectLayout();
    // Changes each time the layout is (re)decided: a new setup, the kubepods tree found.
    unsigned layoutGeneration() const { return layoutGeneration_; }

    std::function<void(const core::ContainerStatus&)> onApplied, onFailed;
    std::function<void()> onStateChanged;
    std::function<void()> onUnknownContainer;  // a new container the pod data does not list yet

private:
    ReconcileReport applyPods(core::PodList&& pods, core::PodSourceKind source, bool dryRun);
    ReconcileReport applyFallback(bool dryRun);
    ReconcileReport applyAppeared(const std::vector<std::string>& cgroups);
    // Reads, decides and writes for st.entry; fills in the rest of st.
    void enforce(core::ContainerStatus& st, core::Intent intent, bool dryRun, bool search, host::Stage stage);
    void logApplied(const core::ContainerStatus& st);
    void reportProblems(const core::Plan& plan, const std::vector<std::string>& listProblems);
    void reportClamps(const core::PlanEntry& e);
    void overlayAdaptive(core::PlanEntry& e);
    core::PlanInput planInput() const;
    void account(const ReconcileReport& r, const Update& u, double seconds);

    Telemetry& telemetry_;
    const Clock& clock_;
    Setup* s_ = nullptr;
    core::Filter filter_ = core::Filter::create({}).value();
    std::map<std::string, core::Limits> overrides_;
    core::Policy policy_;  // the node's (from the setup) and the namespaces' (from the watch)
    EngineMemory memory_;  // decisions + what is ours, by container ID
    DecisionCacheStore* store_ = nullptr;
    std::vector<core::Pod> lastPods_;
    bool everHadPods_ = false;
    ReconcileReport last_;
    ReconcileReport appeared_;  // the last pass over new containers
    core::PodSourceKind podSource_ = core::PodSourceKind::None;
    uint64_t lastSyncUsec_ = 0;
    unsigned layoutGeneration_ = 0;
    std::set<std::string> reported_;  // problems and clamps already logged
};

}  // namespace iopslimit::daemon
