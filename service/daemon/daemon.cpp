#include "daemon/daemon.h"

#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-daemon.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "daemon/adaptive_controller.h"
#include "daemon/io_sampler.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/manager_bus.h"
#include "daemon/metrics.h"
#include "daemon/metrics_server.h"
#include "daemon/pod_fetcher.h"

namespace iopslimit::daemon {

Daemon::Daemon(core::Environment env, std::string hostname, std::vector<std::string> envFiles, sdbus::IConnection* bus)
    : env_(std::move(env)),
      hostname_(std::move(hostname)),
      envFiles_(std::move(envFiles)),
      bus_(bus),
      watchers_(
          [this](const std::string& cg) {
              retryLater(engine_.apply(Update::appeared({cg})), false);
              if (persistSoon_) return;
              // New containers change what is ours and the count in STATUS: written and told
              // once a second at most, off their path.
              persistSoon_ = true;
              loop_.addTimer(std::chrono::seconds(1), [this] {
                  persistSoon_ = false;
                  engine_.persist();
                  notifyStatus();
              });
          },
          [this](const std::string& unit) { return engine_.cgroupOfUnit(unit); },
          [this] {
              // The kubepods tree appeared after start: the layout and the watchers follow at once,
              // a pass over the last-known pods puts their limits in force under it.
              loop_.addTimer(std::chrono::milliseconds(0), [this] {
                  if (!engine_.redetectLayout()) return;
                  applied(engine_.apply(Update::replanned()));
              });
          }) {
    telemetry_.startTime = unixSeconds(clock_.wallNow());
}

Daemon::~Daemon() {
    adaptive_.reset();
    api_.reset();
    stopSources();  // joins the threads before their eventfds go
    for (int fd : {fetchFd_, watchFd_})
        if (fd >= 0) ::close(fd);
}

core::Status Daemon::start(bool longRunning) {
    longRunning_ = longRunning;
    // What systemd made of the files (lines it dropped, a trailing "# comment" kept in a value)
    // and what the environment holds that is probably not what was meant.
    fromFiles_ = readEnvFiles();
    for (const auto& w : core::checkStartupEnvironment(env_))
        if (!fromFiles_.count(w.key)) log::warning(w.message);
    auto s = buildSetup(env_, hostname_, bus_);
    if (!s) return s.error();
    const std::string& dir = s.value()->cfg.stateDirectory;
    overrides_ = std::make_unique<OverrideStore>(dir);
    if (std::string problem = overrides_->load(); !problem.empty()) log::error(problem);
    else if (!overrides_->all().empty())
        log::info("Loaded " + std::to_string(overrides_->all().size()) + " pod override(s) from " + overrides_->path());
    memoryStore_ = std::make_unique<DecisionCacheStore>(dir);
    EngineMemory memory;
    if (std::string problem = memoryStore_->load(memory); !problem.empty()) log::error(problem);
    engine_.restore(std::move(memory), memoryStore_.get());
    engine_.setOverrides(overrides_->all());
    setup_ = std::move(s).value();
    engine_.use(*setup_);
    logSetup(*setup_);
    engine_.onApplied = [this](const core::ContainerStatus& st) {
        if (api_) api_->emitApplied(st);
    };
    engine_.onFailed = [this](const core::ContainerStatus& st) {
        if (api_) api_->emitFailed(st);
    };
    engine_.onStateChanged = [this] {
        if (api_) api_->emitStateChanged();
    };
    engine_.onUnknownContainer = [this] {
        // A container the pod data does not list yet: fetch soon, once for a burst of them, on
        // the fetch thread (new containers keep being limited meanwhile).
        if (fetchSoon_) return;
        fetchSoon_ = true;
        loop_.addTimer(std::chrono::milliseconds(250), [this] {
            fetchSoon_ = false;
            requestFetch();
        });
    };
    if (longRunning_) {
        fetchFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        watchFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        startSources();
    }
    return core::okStatus();
}

int Daemon::once(bool dryRun) {
    if (setup_->devices.empty()) {
        log::error("No data disk to limit: DATA_MOUNT " + setup_->waiting.front().first + ": " + setup_->waiting.front().second);
        return 1;
    }
    Update u = Update::fromFetch(fetchNow());
    u.dryRun = dryRun;
    const ReconcileReport& r = engine_.apply(std::move(u));
    std::cout << renderReport(r) << std::flush;
    log::info("Reconciled " + std::to_string(r.containers.size()) + " containers from " +
              (r.fallback ? std::string("fallback") : std::string(core::podSourceName(r.source))) + ": " +
              std::to_string(r.changed) + (dryRun ? " to change, " : " changed, ") + std::to_string(r.unchanged) +
              " unchanged, " + std::to_string(r.excluded) + " excluded, " + std::to_string(r.missing) +
              " without cgroup, " + std::to_string(r.failed) + " failed");
    return r.failed ? 3 : 0;
}

int Daemon::run(int signalFd) {
    signalFd_ = signalFd;
    loop_.addFd(signalFd_, POLLIN, [this] { onSignal(); });
    adaptive_ = std::make_unique<AdaptiveController>(loop_, engine_, clock_, [this](const auto& changes) {
        replan();  // tighter or looser, in force at once
        for (const auto& c : changes) {
            if (c.kind == core::AdaptiveChange::Kind::Forget || !api_) continue;
            const core::PlanEntry* e = nullptr;
            for (const auto& st : engine_.last().containers)
                if (st.entry.containerId.id == c.id) e = &st.entry;
            api_->emitAdaptive(c, e);
        }
    });
    stats_ = std::make_unique<StatsSampler>(
        loop_, [this] { return sampleContainers(engine_.last().containers, setup_->cgroups, setup_->devices); });
    loop_.addDynamic({[this](int& fd, short& events, int& timeoutMs) {
                          fd = metrics_ ? metrics_->fd() : -1;
                          events = POLLIN;
                          timeoutMs = metrics_ ? metrics_->timeoutMs() : -1;
                      },
                      [this] {
                          if (metrics_) metrics_->dispatch();
                      }});
    loop_.addDynamic({[this](int& fd, short& events, int& timeoutMs) {
                          fd = watchers_.fd();
                          events = POLLIN;
                          timeoutMs = -1;
                      },
                      [this] { watchers_.dispatch(); }});
    loop_.addFd(fetchFd_, POLLIN, [this] { dispatchFetched(); });
    loop_.addFd(watchFd_, POLLIN, [this] { dispatchWatch(); });
    if (bus_) {
        api_ = std::make_unique<ManagerObject>(*bus_, *this, [this](StatsSampler::Reply r) { stats_->request(std::move(r)); });
        loop_.addDynamic({[this](int& fd, short& events, int& timeoutMs) {
                              auto pd = bus_->getEventLoopPollData();
                              fd = pd.fd;
                              events = pd.events;
                              timeoutMs = pd.getPollTimeout();
                          },
                          [this] {
                              try {
                                  while (bus_->processPendingRequest()) {
                                  }
                              } catch (const sdbus::Error& e) {
                                  log::error(std::string("Failed to process D-Bus messages: ") + e.what());
                              }
                          }});
    }
    uint64_t watchdogUsec = 0;
    if (sd_watchdog_enabled(0, &watchdogUsec) > 0) {
        // Fed from the loop itself: a stuck loop starves the watchdog, as it should.
        watchdogEvery_ = std::chrono::milliseconds(std::max<uint64_t>(watchdogUsec / 2000, 1));
        loop_.addTimer(watchdogEvery_, [this] { feedWatchdog(); });
    }

    watchMountTable();
    // The first fetch runs on the fetch thread like every other: meanwhile the loop feeds the
    // watchdog, and containers that start get their limit from the watchers (their pod's
    // settings once known, the last decision or the default until then). READY=1 and the bus
    // name and the metrics endpoint follow the first pass (becomeReady).
    watchers_.arm(setup_->cgroups, engine_.layoutGeneration(), setup_->systemd.get(), setup_->cfg.inotify, false);
    requestFetch();
    loop_.run();
    adaptive_.reset();
    api_.reset();
    engine_.persist();
    return 0;
}

void Daemon::becomeReady() {
    ready_ = true;
    // Containers there before the first pass that the pod data did not list: the default or
    // their pod's settings now, as for any new one (what the first pass limited is skipped).
    watchers_.rescan();
    updateMetrics();
    adaptive_->configure(*setup_);
    if (bus_) {
        try {
            bus_->requestName(kBusName);
        } catch (const sdbus::Error& e) {
            log::error(std::string("Failed to acquire the bus name ") + kBusName + ": " + e.getMessage() +
                       "; limits are still enforced, the D-Bus API is unavailable");
        }
    }
    notify("READY=1");
    notifyStatus();
    log::info("Started: checking every " + std::to_string(setup_->cfg.checkIntervalSec) + " s");
    loop_.addTimer(std::chrono::seconds(setup_->cfg.checkIntervalSec), [this] { tick(); });
}

void Daemon::onSignal() {
    signalfd_siginfo si;
    while (::read(signalFd_, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            log::info("Reload requested by SIGHUP");
            reload();
        } else {
            log::info(std::string("Stopping on ") + strsignal(static_cast<int>(si.ssi_signo)));
            notify("STOPPING=1");
            loop_.stop();
        }
    }
}

void Daemon::tick() {
    requestFetch();
    loop_.addTimer(std::chrono::seconds(setup_->cfg.checkIntervalSec), [this] { tick(); });
}

void Daemon::feedWatchdog() {
    notify("WATCHDOG=1");
    loop_.addTimer(watchdogEvery_, [this] { feedWatchdog(); });
}

// METRICS_ADDRESS, at start and after a reload: (re)bind when it changed. A failure to bind is
// logged and leaves enforcement alone.
void Daemon::updateMetrics() {
    const auto& want = setup_->cfg.metrics;
    if (metrics_ && want && metrics_->address() == *want) return;
    if (metrics_) {
        metrics_.reset();
        log::info("Stopped the metrics endpoint");
    }
    if (!want) return;
    auto m = MetricsServer::start(*want, [this] { return renderMetrics(*this); });
    if (!m) {
        log::error(m.error().message + "; running without metrics");
        return;
    }
    metrics_ = std::move(m).value();
    log::info("Serving metrics at http://" + metrics_->address().str() + "/metrics" +
              (metrics_->address().loopback() ? "" : " (not loopback: reachable from the network)"));
}

void Daemon::notifyStatus() { notify("STATUS=" + statusLine()); }

std::string Daemon::statusLine() const {
    std::string devs, waiting;
    for (const auto& b : setup_->devices) devs += (devs.empty() ? "" : ", ") + b.name + " (" + b.dev.str() + ")";
    for (const auto& [mount, why] : setup_->waiting) waiting += (waiting.empty() ? "" : ", ") + mount + " (" + why + ")";
    uint32_t n = engine_.managedContainers();
    std::string s = devs.empty() ? "Waiting for DATA_MOUNT " + waiting
                                 : "Limiting " + std::to_string(n) + " container" + (n == 1 ? "" : "s") + " on " + devs +
                                       " via " + setup_->writerName();
    if (!devs.empty() && !waiting.empty()) s += "; waiting for DATA_MOUNT " + waiting;
    s += "; pods from " + std::string(core::podSourceName(engine_.podSource()));
    if (engine_.last().failed) s += "; " + std::to_string(engine_.last().failed) + " failed";
    if (watch_) s += "; API watch: " + watch_->state();
    return s;
}

std::string Daemon::podWatchState() const { return watch_ ? watch_->state() : std::string(); }

unsigned Daemon::watchRestarts() const { return telemetry_.watchRestartsBefore + (watch_ ? watch_->restarts() : 0); }

}  // namespace iopslimit::daemon
