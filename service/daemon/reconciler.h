#pragma once
// Level-triggered, idempotent reconcile: pods -> plan -> read what is in force -> write only what
// differs. A failed pod source never loosens anything; one bad container never stops a pass.
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "daemon/state_store.h"
#include "core/planner.h"
#include "host/block_device.h"
#include "host/cgroup_fs.h"
#include "host/limit_writers.h"
#include "kube/pod_sources.h"

namespace iopslimit::daemon {

enum class ContainerState { Applied, Unchanged, Planned, Missing, Error, Excluded };
std::string_view stateName(ContainerState s);
// The API's coarser state (D-Bus, metrics): applied | pending | error | excluded.
std::string_view publicStateName(ContainerState s);

struct ContainerStatus {
    core::PlanEntry entry;
    std::string cgroup;  // resolved; empty when missing
    ContainerState state = ContainerState::Planned;
    std::string message;
    int errorCode = 0;  // errno of the failure (state Error/Missing), else 0
};

struct ReconcileReport {
    std::string source;  // kubelet | apiserver | fallback | none
    bool podsFresh = false;
    std::vector<ContainerStatus> containers;
    std::vector<std::string> errors;  // source errors
    std::vector<std::string> failedSources;  // "kubelet", "apiserver": asked and failed
    size_t changed = 0, failed = 0, missing = 0, unchanged = 0, excluded = 0;
    double millis = 0;
};

// What a fetch of the pods brought: the list and its source, or why every source failed.
struct FetchResult {
    std::optional<core::PodList> pods;
    std::string source;  // kubelet | apiserver when pods is set
    std::string error;   // when not
    std::vector<std::string> failedSources;
    double seconds = 0;  // how long the fetch took
};

class Reconciler {
public:
    Reconciler(const core::Config& cfg, host::CgroupSetup setup, std::vector<host::BlockDevice> devices,
               host::LimitWriter& writer, kube::PodSource* kubelet, kube::PodSource* apiserver);

    // Fetches pods and applies the plan (dryRun: reads but never writes).
    ReconcileReport reconcile(bool dryRun = false) { return reconcileWith(fetch(), dryRun); }
    // The two halves: fetch may run on another thread (one fetch at a time, never touching the
    // reconciler's state); reconcileWith applies what it brought, on the loop thread.
    FetchResult fetch();
    ReconcileReport reconcileWith(FetchResult fetched, bool dryRun);
    // Applies the plan for pods already fetched (also used by tests and benchmarks).
    ReconcileReport apply(const core::PodList& pods, const std::string& source, bool dryRun);
    // No pod source at start: keep every limit in force, give the default to container cgroups
    // under kubepods that have none.
    ReconcileReport applyDefaultsWithoutPods(bool dryRun);

    // A container cgroup just appeared (relative path). Applies what the pod cache says at once:
    // the container's own plan if known, else its pod's annotations, else the default (never
    // nothing). Returns false when the pod data is stale and a fetch should follow.
    bool onNewContainer(const std::string& cgroup, ContainerStatus* out = nullptr);

    const host::CgroupSetup& setup() const { return setup_; }
    const std::vector<core::Pod>& lastPods() const { return lastPods_; }
    const core::Filter& filter() const { return filter_; }
    // What we put in force, by cgroup: carried over a reload so exclusions can still undo it.
    const std::map<std::string, core::Limits>& applied() const { return applied_; }
    void restoreApplied(std::map<std::string, core::Limits> a) { applied_ = std::move(a); }
    // Last decisions from fresh pod data (persisted by the service), used when pods are unknown.
    const DecisionCache& decisions() const { return decisions_; }
    void setDecisions(DecisionCache d) { decisions_ = std::move(d); }

    // Called for each container whose limit was just written, or failed to be.
    std::function<void(const ContainerStatus&)> onApplied, onFailed;
    const std::vector<host::BlockDevice>& devices() const { return devices_; }
    void setOverrides(std::map<std::string, core::Limits> o) { overrides_ = std::move(o); }

private:
    FetchResult fetchLocked();
    void applyEntry(ContainerStatus& st, bool dryRun, ReconcileReport& report);
    void removeOurLimit(ContainerStatus& st, bool dryRun, ReconcileReport& report);
    void reportProblems(const core::Plan& plan, const core::PodList& pods);

    const core::Config& cfg_;
    host::CgroupSetup setup_;
    std::vector<host::BlockDevice> devices_;
    host::LimitWriter& writer_;
    kube::PodSource* kubelet_;
    kube::PodSource* apiserver_;
    std::mutex fetchMutex_;  // one fetch at a time: the worker's and a synchronous one
    core::Filter filter_;
    std::map<std::string, core::Limits> overrides_;
    std::map<std::string, core::Limits> applied_;  // cgroup -> what we put in force
    std::set<std::string> reported_;               // problems already logged
    bool everHadPods_ = false;
    std::vector<core::Pod> lastPods_;
    DecisionCache decisions_;
};

// The plan/result table printed by --dry-run and --once.
std::string renderReport(const ReconcileReport& r);

}  // namespace iopslimit::daemon
