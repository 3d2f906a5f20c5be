#pragma once
// The running service: configuration, the enforcement engine built from it, overrides, and the
// state the D-Bus API reports. Everything runs on the event-loop thread.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "daemon/reconciler.h"
#include "daemon/state_store.h"
#include "daemon/telemetry.h"
#include "host/block_device.h"
#include "host/systemd_manager.h"
#include "kube/http_client.h"
#include "kube/pod_sources.h"

namespace sdbus {
class IConnection;
}

namespace iopslimit::daemon {

class Service {
public:
    // startupEnv: the process environment; envFiles: re-read on reload (systemd does not
    // refresh a running service's environment); bus: for the systemd backend, may be null.
    Service(core::Environment startupEnv, std::string hostname, std::vector<std::string> envFiles,
            sdbus::IConnection* systemdBus);
    ~Service();

    // Long-running mode: watch cgroups (inotify) and, when configured, the API server (off for --once).
    void setWatchEnabled(bool on) { watchEnabled_ = on; }
    // Builds everything from the startup environment; the error names what is wrong.
    core::Status start();
    const ReconcileReport& resync(bool dryRun = false);
    // Long-running mode: a fetch on the worker thread; its result is applied by dispatchFetch
    // when fetchFd() becomes readable. Without the worker (--once) it resyncs at once.
    void requestResync();
    int fetchFd() const { return fetchFd_; }
    void dispatchFetch();
    // Re-reads the environment files over the startup environment; on error the old
    // configuration stays in force.
    core::Status reload();

    std::string explain(const std::string& ns, const std::string& pod) const;
    core::Status setOverride(const std::string& ns, const std::string& pod, const core::Limits& l);
    core::Result<bool> clearOverride(const std::string& ns, const std::string& pod);
    const std::map<std::string, core::Limits>& overrides() const { return store_->all(); }

    const core::Config& config() const;
    const ReconcileReport& last() const { return last_; }
    std::string podSource() const { return podSource_; }
    uint64_t lastSyncUsec() const { return lastSyncUsec_; }
    uint32_t managedContainers() const;
    std::string backend() const;
    const std::vector<host::BlockDevice>& devices() const;
    const host::CgroupSetup& cgroups() const;
    std::string statusLine() const;

    // Container cgroups as they appear (inotify): armed after the first reconcile.
    int watchFd() const;
    void dispatchWatch();
    // The API-server watch wakes the loop through this eventfd; dispatchPodWatch applies updates.
    int podWatchFd() const { return wakeFd_; }
    void dispatchPodWatch();
    std::string podWatchState() const;
    unsigned watchRestarts() const;
    bool watching() const;  // an API-server watch is configured

    const Telemetry& telemetry() const { return telemetry_; }

    std::function<void(const ContainerStatus&)> onApplied, onFailed;
    std::function<void()> onStateChanged;     // after every reconcile
    std::function<void()> onUnknownContainer;  // a new container the pod data does not know yet

private:
    struct Engine;
    core::Result<std::unique_ptr<Engine>> build(const core::Environment& env);
    void install(std::unique_ptr<Engine> engine);

    core::Environment startupEnv_;
    std::string hostname_;
    std::vector<std::string> envFiles_;
    sdbus::IConnection* bus_;
    std::unique_ptr<Engine> engine_;
    std::unique_ptr<OverrideStore> store_;
    std::unique_ptr<DecisionCacheStore> decisionStore_;
    ReconcileReport last_;
    std::string podSource_ = "none";
    uint64_t lastSyncUsec_ = 0;
    int wakeFd_ = -1;
    int fetchFd_ = -1;
    bool watchEnabled_ = false;
    std::map<std::string, core::Pod> watchedPods_;  // uid -> pod, from the API-server watch
    Telemetry telemetry_;
    void account(const ReconcileReport& r, double seconds);
    void containerAppeared(const std::string& cgroup);  // inotify or UnitNew
    const ReconcileReport& finishResync(FetchResult fetched, bool dryRun);  // seconds: fetch + apply
    void applyFresh(const core::PodList& pods, const std::string& source);
};

}  // namespace iopslimit::daemon
