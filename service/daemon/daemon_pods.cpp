// The daemon's pod flow: the fetch thread and the API-server watch for the current setup, their
// results handed to the engine on the loop, resync, reload and overrides.
#include <unistd.h>

#include <utility>

#include "core/quantity.h"
#include "daemon/adaptive_controller.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/manager_bus.h"
#include "daemon/pod_fetcher.h"

namespace iopslimit::daemon {

namespace {

void wake(int fd) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
}

void drain(int fd) {
    uint64_t n;
    while (::read(fd, &n, sizeof n) == sizeof n) {
    }
}

// The seed's lines, kept for those who grep for them.
void logFetch(const kube::FetchResult& f, bool apiServerConfigured) {
    std::string kubeletError;
    for (const auto& fail : f.failures) {
        if (fail.source == core::PodSourceKind::Kubelet) {
            kubeletError = fail.error;
            if (apiServerConfigured)
                log::warning("Failed to get pods from kubelet API: " + kubeletError + ", falling back to API Server");
            else
                log::error("Failed to get pods from kubelet API: " + kubeletError + " (no API server configured)");
        } else {
            log::error("Failed to get pods from API Server: " + fail.error);
        }
    }
    if (f.pods)
        log::info("Successfully got " + std::to_string(f.pods->pods.size()) + " pods from " +
                  (f.source == core::PodSourceKind::Kubelet ? "kubelet API" : "API Server"));
}

}  // namespace

kube::FetchResult Daemon::fetchNow() {
    auto f = setup_->sources->fetch();
    logFetch(f, setup_->sources->hasApiServer());
    return f;
}

void Daemon::startSources() {
    Setup* s = setup_.get();
    int fd = fetchFd_;
    fetcher_ = std::make_unique<PodFetcher>([s] { return s->sources->fetch(); }, [fd] { wake(fd); });
    PodFetcher* f = fetcher_.get();
    s->kubelet->setAbort([f] { return f->abortRequested(); });
    if (s->apiserver) s->apiserver->setAbort([f] { return f->abortRequested(); });
    watched_.clear();
    if (!resyncWaiters_.empty()) {  // asked before a reload replaced the fetcher: the new one answers
        uint64_t number = fetcher_->request();
        for (auto& w : resyncWaiters_) w.first = number;
    }
    if (!s->cfg.apiServer.server.empty()) {
        int wfd = watchFd_;
        watch_ = std::make_unique<kube::PodWatch>(s->cfg, *s->http, [wfd] { wake(wfd); });
        watch_->start();
        namespaces_ = std::make_unique<kube::NamespaceWatch>(s->cfg, *s->http, [wfd] { wake(wfd); });
        namespaces_->start();
        log::info("Watching pods and namespaces on " + s->cfg.apiServer.server);
    }
}

void Daemon::stopSources() {
    if (watch_) telemetry_.watchRestartsBefore += watch_->restarts();
    namespaces_.reset();
    watch_.reset();
    fetcher_.reset();
}

void Daemon::requestFetch() {
    if (fetcher_) fetcher_->request();
}

void Daemon::requestResync(Done done) {
    if (!fetcher_) return done("not running");
    resyncWaiters_.emplace_back(fetcher_->request(), std::move(done));
}

void Daemon::dispatchFetched() {
    drain(fetchFd_);
    if (!fetcher_) return;
    auto f = fetcher_->take();
    if (!f) return;
    logFetch(f->result, setup_->sources->hasApiServer());
    std::string error = f->result.error();
    const ReconcileReport& r = engine_.apply(Update::fromFetch(std::move(f->result)));
    applied(r);
    if (!r.podsFresh && !r.fallback) error = "no pod source reachable: " + error;
    else error.clear();
    auto waiters = std::move(resyncWaiters_);
    resyncWaiters_.clear();
    for (auto& [number, done] : waiters) {
        if (number <= f->number) done(error);
        else resyncWaiters_.emplace_back(number, std::move(done));
    }
    if (!ready_) becomeReady();
}

void Daemon::dispatchWatch() {
    drain(watchFd_);
    if (namespaces_)
        if (auto ns = namespaces_->takeChanges(); ns && engine_.setNamespaceAnnotations(*ns)) replan();
    if (!watch_) return;
    auto updates = watch_->drain();
    if (updates.empty()) return;
    size_t events = watched_.apply(std::move(updates));
    Update u;
    u.source = core::PodSourceKind::ApiServer;
    u.pods = watched_.list();
    log::debug("Pod watch: " + std::to_string(events) + " event(s), " + std::to_string(u.pods->pods.size()) + " pods");
    applied(engine_.apply(std::move(u)));
}

// After every full pass: the watchers follow the layout the pass found, systemd hears the news.
void Daemon::applied(const ReconcileReport& r) {
    if (longRunning_) watchers_.arm(setup_->cgroups, engine_.layoutGeneration(), setup_->systemd.get(), setup_->cfg.inotify);
    notifyStatus();
    retryLater(r, true);
}

void Daemon::retryLater(const ReconcileReport& r, bool fullPass) {
    if (!longRunning_ || r.retrying == 0) return;
    if (fullPass) retryFull_ = true;
    else
        for (const auto& c : r.containers)
            if (c.state == core::LimitState::Retrying && !c.cgroup.empty()) retryCgroups_.insert(c.cgroup);
    if (retrySoon_) return;
    if (retryRounds_++ == 0)
        for (const auto& c : r.containers)
            if (c.state == core::LimitState::Retrying) {
                log::warning("systemd did not answer for " + std::to_string(r.retrying) +
                             " container(s); trying again every 2 s: " + c.message);
                break;
            }
    retrySoon_ = true;
    loop_.addTimer(std::chrono::seconds(2), [this] {
        retrySoon_ = false;
        std::vector<std::string> cgroups(retryCgroups_.begin(), retryCgroups_.end());
        retryCgroups_.clear();
        if (!cgroups.empty()) retryLater(engine_.apply(Update::appeared(std::move(cgroups))), false);
        if (std::exchange(retryFull_, false)) replan();  // through applied(): again if still away
        if (!retrySoon_) {
            log::info("systemd answers again: the limits that waited for it are in force");
            retryRounds_ = 0;
        }
    });
}

std::string Daemon::namespacePolicyState() const {
    return namespaces_ ? namespaces_->state() : "off: no API server configured";
}

void Daemon::replan() { applied(engine_.apply(Update::replanned())); }

core::Environment Daemon::readEnvFiles() const {
    core::Environment env;
    for (const auto& file : envFiles_) {
        auto text = host::readFile(file);
        if (!text) continue;  // "-" semantics: a missing file is fine
        auto f = core::parseEnvFile(*text);
        for (const auto& w : f.warnings) {
            std::string line = file + (w.line ? ":" + std::to_string(w.line) : "") + ": " + w.message;
            if (f.rejected) log::error(line);
            else log::warning(line);
        }
        for (auto& [k, v] : f.variables) env[k] = std::move(v);
    }
    return env;
}

std::string Daemon::reload() {
    notify("RELOADING=1");
    // What a restart would see: the environment systemd gave us minus what the files gave it at
    // start, plus the files as they are now (a variable deleted from a file is gone).
    core::Environment env = env_;
    for (const auto& [k, v] : fromFiles_)
        if (auto it = env.find(k); it != env.end() && it->second == v) env.erase(it);
    for (auto& [k, v] : readEnvFiles()) env[k] = std::move(v);
    std::string error;
    auto s = buildSetup(env, hostname_, bus_);
    if (!s) {
        error = s.error().message;
        log::error("Failed to reload, keeping the running configuration: " + error);
    } else {
        stopSources();
        watchers_.disarm();
        engine_.use(*s.value());
        setup_ = std::move(s).value();
        logSetup(*setup_);
        startSources();
        if (mountTable_) watchMountTable();  // IOPS_LIMIT_PROC_ROOT may have changed
        if (api_) api_->emitDisksChanged();
        log::info("Reloaded configuration");
        replan();        // in force on the pods known now
        requestFetch();  // and on fresh ones as soon as a source answers
        if (adaptive_ && ready_) adaptive_->configure(*setup_);
    }
    updateMetrics();
    notify("READY=1");
    notifyStatus();
    return error;
}

core::Status Daemon::setOverride(const std::string& ns, const std::string& pod, const core::Limits& l) {
    auto st = overrides_->set(ns, pod, l);
    if (!st) return st;
    engine_.setOverrides(overrides_->all());
    log::info("Set override for pod " + ns + "/" + pod + ": read " + core::limitValueString(l.readIops) + " / write " +
                  core::limitValueString(l.writeIops) + " IOPS, read " + core::formatBytes(l.readBps) + " / write " +
                  core::formatBytes(l.writeBps) + " B/s",
              {{"POD_NAMESPACE", ns}, {"POD_NAME", pod}});
    return st;
}

core::Result<bool> Daemon::clearOverride(const std::string& ns, const std::string& pod) {
    auto r = overrides_->clear(ns, pod);
    if (r && *r) {
        engine_.setOverrides(overrides_->all());
        log::info("Cleared override for pod " + ns + "/" + pod, {{"POD_NAMESPACE", ns}, {"POD_NAME", pod}});
    }
    return r;
}

}  // namespace iopslimit::daemon
