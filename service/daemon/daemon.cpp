#include "daemon/daemon.h"

#include <malloc.h>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "core/config.h"
#include "daemon/event_loop.h"
#include "daemon/log.h"
#include "daemon/manager_bus.h"
#include "daemon/metrics.h"
#include "daemon/metrics_server.h"
#include "daemon/stats_sampler.h"
#include "daemon/reconciler.h"
#include "daemon/service.h"
#include "iopslimit_version.h"

extern char** environ;

namespace iopslimit::daemon {

namespace {

struct Options {
    bool once = false;
    bool dryRun = false;
    bool verbose = false;
};

void usage(std::ostream& out) {
    out << "Usage: iops-limitd [--once] [--dry-run] [--verbose]\n"
           "Keeps every Kubernetes container's disk IOPS and bandwidth on this node within limits\n"
           "set by a node default and by iops-limit/* Pod annotations.\n\n"
           "  --once       reconcile once, print the result table and exit\n"
           "  --dry-run    print the plan (container, cgroup, limits, source) and change nothing\n"
           "  --verbose    also log debug messages\n"
           "  --help       show this help\n"
           "  --version    show the version\n\n"
           "Configuration comes from the environment (and, on reload, from the files named by\n"
           "IOPS_LIMIT_ENV_FILES, default /etc/default/iops-limit:/etc/sysconfig/iops-limit):\n";
    for (const auto& v : core::configVariables()) {
        std::string name = v.name;
        name.resize(28, ' ');
        out << "  " << name << v.help << (v.defaultValue[0] ? std::string(" [") + v.defaultValue + "]" : "") << "\n";
    }
    out << "\nExit status: 0 success; 1 invalid configuration or startup failure; 2 bad usage;\n"
           "3 (--once) some container could not be limited.\n";
}

core::Environment readEnvironment() {
    core::Environment env;
    for (char** e = environ; e && *e; ++e) {
        const char* eq = std::strchr(*e, '=');
        if (eq) env.emplace(std::string(*e, static_cast<size_t>(eq - *e)), std::string(eq + 1));
    }
    return env;
}

std::string hostName() {
    char buf[256] = {0};
    if (gethostname(buf, sizeof buf - 1) != 0) return {};
    return buf;
}

std::vector<std::string> envFiles(const core::Environment& env) {
    auto it = env.find("IOPS_LIMIT_ENV_FILES");
    std::string list = it != env.end() ? it->second : "/etc/default/iops-limit:/etc/sysconfig/iops-limit";
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= list.size()) {
        size_t j = list.find(':', i);
        if (j == std::string::npos) j = list.size();
        if (j > i) out.push_back(list.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

std::unique_ptr<sdbus::IConnection> connectSystemBus() {
    try {
        return sdbus::createSystemBusConnection();
    } catch (const sdbus::Error& e) {
        log::warning(std::string("Failed to connect to the system bus: ") + e.getMessage() +
                     "; no D-Bus API and no systemd backend");
        return nullptr;
    }
}

}  // namespace

int runDaemon(int argc, char** argv) {
    // One malloc arena for our few threads: the fetch and watch threads' pod lists would
    // otherwise each keep their own arena's high-water mark resident.
    mallopt(M_ARENA_MAX, 1);
    Options opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--once") opt.once = true;
        else if (a == "--dry-run") opt.dryRun = true;
        else if (a == "--verbose" || a == "-v") opt.verbose = true;
        else if (a == "--help" || a == "-h") { usage(std::cout); return 0; }
        else if (a == "--version") { std::cout << "iops-limitd " << IOPSLIMIT_VERSION << "\n"; return 0; }
        else {
            std::cerr << "iops-limitd: unknown option '" << a << "'\n";
            usage(std::cerr);
            return 2;
        }
    }
    log::setVerbose(opt.verbose);

    core::Environment env = readEnvironment();
    // Validate the configuration before touching the bus: a bad variable is one clear line.
    if (auto cfg = core::parseConfig(env, hostName()); !cfg) {
        log::error("Invalid configuration: " + cfg.error().message);
        return 1;
    } else if (cfg->backend == core::Backend::Cgroupfs && (opt.once || opt.dryRun)) {
        env["IOPS_LIMIT_NO_BUS"] = "1";
    }
    std::unique_ptr<sdbus::IConnection> bus;
    if (!env.count("IOPS_LIMIT_NO_BUS")) bus = connectSystemBus();

    // Long-running: block the signals we read from a signalfd before any thread exists (the
    // fetch and watch threads inherit the mask), or SIGTERM could land on one of them and kill
    // the process without a clean stop.
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    if (!opt.once && !opt.dryRun) sigprocmask(SIG_BLOCK, &mask, nullptr);

    Service service(env, hostName(), envFiles(env), bus.get());
    service.setWatchEnabled(!opt.once && !opt.dryRun);
    if (auto st = service.start(); !st) {
        log::error(st.error().message);
        return 1;
    }

    if (opt.dryRun || opt.once) {
        const ReconcileReport& r = service.resync(opt.dryRun);
        std::cout << renderReport(r) << std::flush;
        log::info("Reconciled " + std::to_string(r.containers.size()) + " containers from " + r.source + ": " +
                  std::to_string(r.changed) + (opt.dryRun ? " to change, " : " changed, ") +
                  std::to_string(r.unchanged) + " unchanged, " + std::to_string(r.excluded) + " excluded, " +
                  std::to_string(r.missing) + " without cgroup, " + std::to_string(r.failed) + " failed");
        return r.failed ? 3 : 0;
    }

    // Long-running: one loop thread for signals, timers, the bus and every state change.
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        log::error(std::string("Failed to create signalfd: ") + std::strerror(errno));
        return 1;
    }
    EventLoop loop;
    StatsSampler stats(loop, [&] {
        return sampleContainers(service.last().containers, service.cgroups(), service.devices());
    });
    std::unique_ptr<MetricsServer> metrics;
    // METRICS_ADDRESS, at start and after a reload: (re)bind when it changed. A failure to bind
    // is logged and leaves enforcement alone.
    auto updateMetrics = [&] {
        const auto& want = service.config().metrics;
        if (metrics && want && metrics->address() == *want) return;
        if (metrics) {
            metrics.reset();
            log::info("Stopped the metrics endpoint");
        }
        if (!want) return;
        auto m = MetricsServer::start(*want, [&] { return renderMetrics(service); });
        if (!m) {
            log::error(m.error().message + "; running without metrics");
            return;
        }
        metrics = std::move(m).value();
        log::info("Serving metrics at http://" + metrics->address().str() + "/metrics" +
                  (metrics->address().loopback() ? "" : " (not loopback: reachable from the network)"));
    };
    loop.addDynamic({[&](int& fd, short& events, int& timeoutMs) {
                         fd = metrics ? metrics->fd() : -1;
                         events = POLLIN;
                         timeoutMs = metrics ? metrics->timeoutMs() : -1;
                     },
                     [&] { if (metrics) metrics->dispatch(); }});
    std::unique_ptr<ManagerObject> api;

    auto status = [&] { sd_notifyf(0, "STATUS=%s", service.statusLine().c_str()); };
    auto resync = [&]() -> std::string {
        const ReconcileReport& r = service.resync(false);
        status();
        return r.podsFresh || r.source == "fallback" ? std::string() : "no pod source reachable: " +
                                                                           (r.errors.empty() ? "" : r.errors.front());
    };
    auto reload = [&]() -> std::string {
        sd_notify(0, "RELOADING=1");
        auto st = service.reload();
        updateMetrics();
        resync();
        sd_notify(0, "READY=1");
        status();
        return st ? std::string() : st.error().message;
    };
    service.onApplied = [&](const ContainerStatus& s) { if (api) api->emitApplied(s); };
    service.onFailed = [&](const ContainerStatus& s) { if (api) api->emitFailed(s); };
    service.onStateChanged = [&] { if (api) api->emitStateChanged(); };

    // A container the pod data does not know yet: fetch soon, once for a burst of them.
    bool fetchPending = false;
    service.onUnknownContainer = [&] {
        if (fetchPending) return;
        fetchPending = true;
        loop.addTimer(std::chrono::milliseconds(250), [&] {
            fetchPending = false;
            service.requestResync();  // on the fetch thread: new containers keep being limited meanwhile
        });
    };
    loop.addDynamic({[&](int& fd, short& events, int& timeoutMs) {
                         fd = service.watchFd();
                         events = POLLIN;
                         timeoutMs = -1;
                     },
                     [&] { service.dispatchWatch(); }});

    loop.addFd(service.fetchFd(), POLLIN, [&] {
        service.dispatchFetch();
        status();
    });
    loop.addFd(service.podWatchFd(), POLLIN, [&] {
        service.dispatchPodWatch();
        status();
    });

    std::function<void()> tick;
    tick = [&] {
        service.requestResync();
        loop.addTimer(std::chrono::seconds(service.config().checkIntervalSec), tick);
    };
    loop.addFd(sfd, POLLIN, [&] {
        signalfd_siginfo si;
        while (::read(sfd, &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGHUP) {
                log::info("Reload requested by SIGHUP");
                reload();
            } else {
                log::info(std::string("Stopping on ") + strsignal(static_cast<int>(si.ssi_signo)));
                sd_notify(0, "STOPPING=1");
                loop.stop();
            }
        }
    });
    if (bus) {
        api = std::make_unique<ManagerObject>(*bus, service, resync, reload,
                                              [&](StatsSampler::Reply r) { stats.request(std::move(r)); });
        loop.addDynamic({[&](int& fd, short& events, int& timeoutMs) {
                             auto pd = bus->getEventLoopPollData();
                             fd = pd.fd;
                             events = pd.events;
                             timeoutMs = pd.getPollTimeout();
                         },
                         [&] {
                             try {
                                 while (bus->processPendingRequest()) {
                                 }
                             } catch (const sdbus::Error& e) {
                                 log::error(std::string("Failed to process D-Bus messages: ") + e.what());
                             }
                         }});
    }
    uint64_t watchdogUsec = 0;
    std::function<void()> feed;
    if (sd_watchdog_enabled(0, &watchdogUsec) > 0) {
        // Fed from the loop itself: a stuck loop starves the watchdog, as it should.
        auto every = std::chrono::milliseconds(std::max<uint64_t>(watchdogUsec / 2000, 1));
        feed = [&loop, &feed, every] {
            sd_notify(0, "WATCHDOG=1");
            loop.addTimer(every, feed);
        };
        loop.addTimer(every, feed);
    }

    resync();
    updateMetrics();
    if (bus) {
        try {
            bus->requestName(kBusName);
        } catch (const sdbus::Error& e) {
            log::error(std::string("Failed to acquire the bus name ") + kBusName + ": " + e.getMessage() +
                       "; limits are still enforced, the D-Bus API is unavailable");
        }
    }
    sd_notify(0, "READY=1");
    status();
    log::info("Started: checking every " + std::to_string(service.config().checkIntervalSec) + " s");
    loop.addTimer(std::chrono::seconds(service.config().checkIntervalSec), tick);
    loop.run();
    api.reset();
    ::close(sfd);
    return 0;
}

}  // namespace iopslimit::daemon
