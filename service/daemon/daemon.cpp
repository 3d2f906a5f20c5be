#include "daemon/daemon.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "core/config.h"
#include "daemon/event_loop.h"
#include "daemon/log.h"
#include "daemon/reconciler.h"
#include "host/block_device.h"
#include "host/cgroup_fs.h"
#include "host/limit_writers.h"
#include "iopslimit_version.h"
#include "kube/http_client.h"
#include "kube/pod_sources.h"

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
           "Configuration comes from the environment:\n";
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

std::string statusLine(const ReconcileReport& r, const Reconciler& rec) {
    const auto& d = rec.devices();
    std::string devs;
    for (const auto& b : d) devs += (devs.empty() ? "" : ", ") + b.name + " (" + b.dev.str() + ")";
    size_t limited = r.changed + r.unchanged;
    std::string s = "Limiting " + std::to_string(limited) + " container" + (limited == 1 ? "" : "s") + " on " + devs +
                    " via " + std::string(core::versionName(rec.setup().version)) + " files; pods from " + r.source;
    if (r.failed) s += "; " + std::to_string(r.failed) + " failed";
    return s;
}

}  // namespace

int runDaemon(int argc, char** argv) {
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

    auto cfgResult = core::parseConfig(readEnvironment(), hostName());
    if (!cfgResult) {
        log::error("Invalid configuration: " + cfgResult.error().message);
        return 1;
    }
    const core::Config cfg = std::move(cfgResult).value();
    if (cfg.nodeNameFromHostname) log::info("NODE_NAME not set, using the hostname: " + cfg.nodeName);
    if (cfg.kubelet.skipVerify)
        log::warning("KUBELET_SKIP_VERIFY is set: the kubelet's certificate is not verified");

    auto devices = host::resolveDataMounts(cfg.dataMounts, cfg.procRoot, cfg.sysRoot);
    if (!devices) {
        log::error("Failed to resolve DATA_MOUNT: " + devices.error().message);
        return 1;
    }
    auto setup = host::detectCgroups(cfg);
    if (!setup) {
        log::error("Failed to detect cgroups: " + setup.error().message);
        return 1;
    }
    for (const auto& d : *devices)
        log::info("Data disk " + d.name + " (" + d.dev.str() + ") for " + d.mountPoint +
                      (d.fsDev == d.dev ? "" : " (file system on partition " + d.fsDevName + ")"),
                  {{"DEVICE", d.dev.str()}});
    log::info("Using " + setup->note + " at " + setup->hierarchy + ", " +
              std::string(core::driverName(setup->layout.driver)) + " cgroup driver" +
              (setup->layout.kubeletRoot.empty() ? "" : ", kubelet cgroup root /" + setup->layout.kubeletRoot.front()));
    if (cfg.backend == core::Backend::Systemd)
        log::warning("LIMIT_BACKEND=systemd is not available in this build; writing cgroup files");

    auto writer = host::makeRawWriter(setup->version, setup->hierarchy);
    kube::CurlHttpGetter http;
    kube::KubeletPodSource kubelet(cfg, http);
    std::unique_ptr<kube::ApiServerPodSource> apiserver;
    if (!cfg.apiServer.server.empty()) apiserver = std::make_unique<kube::ApiServerPodSource>(cfg, http);
    Reconciler rec(cfg, std::move(setup).value(), std::move(devices).value(), *writer, &kubelet, apiserver.get());

    if (opt.dryRun || opt.once) {
        ReconcileReport r = rec.reconcile(opt.dryRun);
        std::cout << renderReport(r) << std::flush;
        log::info("Reconciled " + std::to_string(r.containers.size()) + " containers from " + r.source + ": " +
                  std::to_string(r.changed) + (opt.dryRun ? " to change, " : " changed, ") +
                  std::to_string(r.unchanged) + " unchanged, " + std::to_string(r.excluded) + " excluded, " +
                  std::to_string(r.missing) + " without cgroup, " + std::to_string(r.failed) + " failed");
        return r.failed ? 3 : 0;
    }

    // Long-running: signals through signalfd, everything on one thread.
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        log::error(std::string("Failed to create signalfd: ") + std::strerror(errno));
        return 1;
    }
    EventLoop loop;
    auto interval = std::chrono::seconds(cfg.checkIntervalSec);
    std::function<void()> tick;
    tick = [&] {
        ReconcileReport r = rec.reconcile(false);
        sd_notifyf(0, "STATUS=%s", statusLine(r, rec).c_str());
        loop.addTimer(interval, tick);
    };
    loop.addFd(sfd, POLLIN, [&] {
        signalfd_siginfo si;
        while (::read(sfd, &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGHUP) {
                log::info("Reload requested: reconciling now");
                sd_notify(0, "RELOADING=1");
                ReconcileReport r = rec.reconcile(false);
                sd_notifyf(0, "READY=1\nSTATUS=%s", statusLine(r, rec).c_str());
            } else {
                log::info("Stopping on signal " + std::to_string(si.ssi_signo));
                sd_notify(0, "STOPPING=1");
                loop.stop();
            }
        }
    });
    uint64_t watchdogUsec = 0;
    std::function<void()> feed;
    if (sd_watchdog_enabled(0, &watchdogUsec) > 0) {
        auto every = std::chrono::milliseconds(watchdogUsec / 2000);
        feed = [&loop, &feed, every] {
            sd_notify(0, "WATCHDOG=1");
            loop.addTimer(every, feed);
        };
        loop.addTimer(every, feed);
    }
    ReconcileReport first = rec.reconcile(false);
    sd_notifyf(0, "READY=1\nSTATUS=%s", statusLine(first, rec).c_str());
    log::info("Started: checking every " + std::to_string(cfg.checkIntervalSec) + " s");
    loop.addTimer(interval, tick);
    loop.run();
    ::close(sfd);
    return 0;
}

}  // namespace iopslimit::daemon
