#pragma once
// The running daemon: one poll loop (signals, timers, the bus, inotify, the metrics server and
// the eventfds of the two network threads), the engine, the pod sources and the bus object as
// members. Everything that changes state runs on the loop thread; the fetch and watch threads
// only do network IO and hand their results over through eventfds.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "daemon/clock.h"
#include "daemon/engine.h"
#include "daemon/event_loop.h"
#include "daemon/setup.h"
#include "daemon/state_store.h"
#include "daemon/stats_sampler.h"
#include "daemon/telemetry.h"
#include "daemon/watchers.h"
#include "host/mount_watcher.h"
#include "kube/namespace_watch.h"
#include "kube/pod_watch.h"

namespace sdbus {
class IConnection;
}

namespace iopslimit::daemon {

class AdaptiveController;
class ManagerObject;
class MetricsServer;
class PodFetcher;

class Daemon {
public:
    // env: the process environment; envFiles: re-read on reload over it (systemd does not
    // refresh a running service's environment); bus: the system bus, or null.
    Daemon(core::Environment env, std::string hostname, std::vector<std::string> envFiles, sdbus::IConnection* bus);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Builds the setup and loads the state; the error says what is wrong.
    core::Status start(bool longRunning);
    // --once / --dry-run: one pass with a synchronous fetch, the table on stdout; the exit code.
    int once(bool dryRun);
    // Long-running until SIGTERM/SIGINT (SIGHUP reloads); signals arrive on signalFd.
    int run(int signalFd);

    // For the bus object and the metrics page (loop thread).
    const Engine& engine() const { return engine_; }
    const Setup& setup() const { return *setup_; }
    const Telemetry& telemetry() const { return telemetry_; }
    const std::map<std::string, core::Limits>& overrides() const { return overrides_->all(); }
    core::Status setOverride(const std::string& ns, const std::string& pod, const core::Limits& l);
    core::Result<bool> clearOverride(const std::string& ns, const std::string& pod);
    // A fetch (on the fetch thread) and a full pass; done("") or done(why no pod source was
    // reachable) once the first fetch that starts after this call has been applied. The loop,
    // the bus and new containers carry on meanwhile.
    using Done = std::function<void(const std::string& error)>;
    void requestResync(Done done);
    // The last-known pods planned and applied again, now (an override changed).
    void replan();
    // Re-reads the environment files; "" or why the new configuration was refused. The new one
    // is in force on the last-known pods when this returns; a fetch follows off the loop.
    std::string reload();
    std::string statusLine() const;
    bool watching() const { return watch_ != nullptr; }  // an API-server watch is configured
    // "off: no API server configured" | "watching" | "retrying in …: HTTP 403 …"
    std::string namespacePolicyState() const;
    const AdaptiveController* adaptive() const { return adaptive_.get(); }
    std::string podWatchState() const;
    unsigned watchRestarts() const;

private:
    // The environment files as systemd reads them, warnings logged; rejected ones give nothing.
    core::Environment readEnvFiles() const;
    // daemon_pods.cpp: where pods come from and what happens with them.
    kube::FetchResult fetchNow();  // on the calling thread, logged
    void startSources();
    void stopSources();
    void requestFetch();
    void dispatchFetched();
    void dispatchWatch();
    void applied(const ReconcileReport& r);
    // Containers systemd could not answer for (reexecuting, restarting): tried again in 2 s, the
    // full pass by a replan, new containers by their cgroups, until it answers.
    void retryLater(const ReconcileReport& r, bool fullPass);
    void becomeReady();
    // daemon_disks.cpp: DATA_MOUNTs that appear later or move to another disk.
    void watchMountTable();
    void checkDataMounts();
    // daemon.cpp: the loop around it.
    void onSignal();
    void tick();
    void updateMetrics();
    void notifyStatus();
    void feedWatchdog();

    core::Environment env_;
    core::Environment fromFiles_;  // what the environment files gave at start (systemd put it in env_)
    std::string hostname_;
    std::vector<std::string> envFiles_;
    sdbus::IConnection* bus_;
    bool longRunning_ = false;
    SystemClock clock_;
    Telemetry telemetry_;
    EventLoop loop_;
    std::unique_ptr<Setup> setup_;
    std::unique_ptr<OverrideStore> overrides_;
    std::unique_ptr<DecisionCacheStore> memoryStore_;
    Engine engine_{telemetry_, clock_};
    ContainerWatchers watchers_;
    int fetchFd_ = -1, watchFd_ = -1, signalFd_ = -1;
    std::unique_ptr<PodFetcher> fetcher_;  // uses setup_'s sources: stopped before they go
    std::unique_ptr<kube::PodWatch> watch_;
    std::unique_ptr<kube::NamespaceWatch> namespaces_;  // with the API server: the namespace policy
    kube::WatchedPods watched_;
    bool fetchSoon_ = false;  // a fetch for unknown new containers is scheduled
    bool ready_ = false;      // READY=1 sent: after the first fetch was applied
    std::vector<std::pair<uint64_t, Done>> resyncWaiters_;  // (fetch number that answers, callback)
    bool persistSoon_ = false;
    bool retrySoon_ = false, retryFull_ = false;
    std::set<std::string> retryCgroups_;
    size_t retryRounds_ = 0;  // retries in a row so far (logged when they start and end)
    std::unique_ptr<host::MountWatcher> mountTable_;
    bool mountsSoon_ = false;
    std::unique_ptr<StatsSampler> stats_;
    std::unique_ptr<AdaptiveController> adaptive_;
    std::unique_ptr<MetricsServer> metrics_;
    std::unique_ptr<ManagerObject> api_;
    std::chrono::milliseconds watchdogEvery_{0};
};

}  // namespace iopslimit::daemon
