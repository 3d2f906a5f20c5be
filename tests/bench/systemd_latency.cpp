// Start latency through systemd: time from a container scope being created to its limit being in
// force, as far as systemd reports it, p50/p99 over many containers. Run by systemd_latency.sh
// against a systemd-testhost (DBUS_SYSTEM_BUS_ADDRESS = its bus), once per mode:
//
//   daemon  iops-limitd runs (on the same bus); its LimitApplied signal and then systemd's
//           IOReadIOPSMax on the unit mark "applied"
//   poller  the comparison, as in latency.cpp: list the container cgroups every second and limit
//           what is new, with the daemon's own Engine and SystemdUnitWriter
//   runc    as daemon, but each scope is made by real runc (systemd cgroup driver) starting a
//           container, PARALLEL at a time: STARTER ID SLICE runs `runc create` + `runc start`; the
//           container's entrypoint writes CLOCK_MONOTONIC (ns) to STAMP_DIR/ID as its first action.
//           Also: cgroup appears -> the entrypoint runs, and the margin between that and systemd
//           reporting our limit, per container.
//
// Each container is a transient scope cri-containerd-<id>.scope in its own pod slice
// (kubepods-besteffort-pod<uid>.slice, started first and waited for, as the kubelet makes the
// pod's slice before its containers), made with StartTransientUnit around a process that is
// already running in the testhost (PIDs from a file: one per container). Times, per container:
//   created   the scope's cgroup directory appears (polled every 0.2 ms on the host's view);
//   returned  StartTransientUnit's reply arrives;
//   active    systemd has the scope active (its ActiveEnterTimestampMonotonic, read afterwards);
//   applied   LimitApplied received (daemon) / the Engine reports it applied (poller);
//   reported  systemd answers IOReadIOPSMax with the limit (Get, right after "applied");
//   entry     (runc) the container's entrypoint ran.
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "daemon/engine.h"
#include "host/block_device.h"
#include "host/cgroup_fs.h"
#include "host/limit_writers.h"
#include "host/systemd_manager.h"

using namespace iopslimit;
using Clock = std::chrono::steady_clock;

namespace {

struct Container {
    std::string id, unit, slice, dir;
    uint32_t pid = 0;
    Clock::time_point call;
    std::atomic<int64_t> created{0}, returned{0}, active{0}, applied{0}, reported{0}, entry{0};  // ns since t0; 0 = not yet
};

Clock::time_point t0;
int64_t now() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count() + 1; }

std::string hex(std::mt19937_64& rng, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) s += d[rng() % 16];
    return s;
}

double pct(std::vector<double> v, double p) {
    if (v.empty()) return -1;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

using Event = std::atomic<int64_t> Container::*;

// Milliseconds from FROM to TO of every container that saw both (negative: TO came first).
std::vector<double> spans(const std::vector<Container>& cs, Event from, Event to) {
    std::vector<double> ms;
    for (const auto& c : cs) {
        int64_t a = (c.*from).load(), b = (c.*to).load();
        if (a && b) ms.push_back((b - a) / 1e6);
    }
    return ms;
}

void print(const std::string& what, const std::vector<Container>& cs, Event from, Event to) {
    std::vector<double> ms = spans(cs, from, to);
    for (auto& v : ms) v = std::max(0.0, v);
    size_t missed = cs.size() - ms.size();
    std::printf("  %-58s p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f ms  (%zu%s)\n", what.c_str(), pct(ms, 0.5),
                pct(ms, 0.9), pct(ms, 0.99), pct(ms, 1.0), ms.size(),
                missed ? (", " + std::to_string(missed) + " never").c_str() : "");
}

void printWithMin(const std::string& what, const std::vector<Container>& cs, Event from, Event to) {
    std::vector<double> ms = spans(cs, from, to);
    for (auto& v : ms) v = std::max(0.0, v);
    std::printf("  %-58s p50 %7.2f  p99 %7.2f  min %7.2f  max %7.2f ms  (%zu of %zu)\n", what.c_str(), pct(ms, 0.5),
                pct(ms, 0.99), pct(ms, 0.0), pct(ms, 1.0), ms.size(), cs.size());
}

// The room between two events per container: TO - FROM (negative: TO came first), p50, the 1st
// percentile (99 % of the containers had more room) and the least.
void printMargin(const std::string& what, const std::vector<Container>& cs, Event from, Event to) {
    std::vector<double> ms = spans(cs, from, to);
    size_t negative = std::count_if(ms.begin(), ms.end(), [](double v) { return v < 0; });
    std::printf("  %-58s p50 %7.2f  p1 %7.2f  min %7.2f ms  (%zu; %zu negative)\n", what.c_str(), pct(ms, 0.5),
                pct(ms, 0.01), pct(ms, 0.0), ms.size(), negative);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    const bool runc = mode == "runc";
    auto number = [](const char* s) {
        std::string v = s;
        return !v.empty() && v.size() < 10 && v.find_first_not_of("0123456789") == std::string::npos;
    };
    if (argc != (runc ? 9 : 8) || !number(argv[2]) || !number(argv[3]) || !number(argv[7]) ||
        (mode != "daemon" && mode != "poller" && !runc)) {
        std::fprintf(stderr,
                     "usage: %s daemon|poller COUNT INTERVAL_MS PIDS_FILE CGROUP_ROOT DATA_MOUNT LIMIT\n"
                     "       %s runc COUNT PARALLEL STARTER CGROUP_ROOT DATA_MOUNT LIMIT STAMP_DIR\n"
                     "  CGROUP_ROOT: the testhost's cgroup as the host sees it; LIMIT: the IOPS expected\n",
                     argv[0], argv[0]);
        return 2;
    }
    const int n = std::stoi(argv[2]);
    const auto interval = std::chrono::milliseconds(runc ? 0 : std::stoi(argv[3]));
    const int parallel = runc ? std::max(1, std::stoi(argv[3])) : 1;
    const std::string starter = runc ? argv[4] : "", stampDir = runc ? argv[8] : "";
    const std::string cgroupRoot = argv[5], dataMount = argv[6];
    const uint64_t limit = std::stoull(argv[7]);
    const bool poller = mode == "poller";

    std::vector<uint32_t> pids;
    if (!runc) {
        std::ifstream f(argv[4]);
        for (uint32_t p; f >> p;) pids.push_back(p);
        if (static_cast<int>(pids.size()) < n) {
            std::fprintf(stderr, "%zu pids in %s, need %d\n", pids.size(), argv[4], n);
            return 2;
        }
    }

    auto cfg = core::parseConfig({{"NODE_NAME", "bench"}, {"CGROUP_ROOT", cgroupRoot}, {"CGROUP_VERSION", "v2"},
                                  {"CGROUP_DRIVER", "systemd"}, {"DATA_MOUNT", dataMount},
                                  {"CONTAINER_IOPS_LIMIT", std::to_string(limit)}},
                                 "bench");
    if (!cfg) {
        std::fprintf(stderr, "config: %s\n", cfg.error().message.c_str());
        return 2;
    }
    auto mounts = host::resolveDataMounts(cfg->dataMounts, {cfg->procRoot, cfg->sysRoot, cfg->fsRoot});
    if (mounts.devices.empty()) {
        std::fprintf(stderr, "DATA_MOUNT %s: %s\n", dataMount.c_str(),
                     mounts.waiting.empty() ? "no device" : mounts.waiting.front().second.c_str());
        return 2;
    }
    const auto* devices = &mounts.devices;
    const std::string devPath = cfg->devRoot + "/" + devices->front().name;

    std::mt19937_64 rng(std::random_device{}());
    std::vector<Container> cs(n);
    for (int i = 0; i < n; ++i) {
        std::string uid = hex(rng, 8) + "_" + hex(rng, 4) + "_4" + hex(rng, 3) + "_8" + hex(rng, 3) + "_" + hex(rng, 12);
        cs[i].id = hex(rng, 64);
        cs[i].unit = "cri-containerd-" + cs[i].id + ".scope";
        cs[i].slice = "kubepods-besteffort-pod" + uid + ".slice";
        cs[i].dir = cgroupRoot + "/kubepods.slice/kubepods-besteffort.slice/" + cs[i].slice + "/" + cs[i].unit;
        if (!runc) cs[i].pid = pids[i];
    }
    std::map<std::string, Container*> byId, byDir;
    for (auto& c : cs) byId[c.id] = &c, byDir[c.dir.substr(cgroupRoot.size())] = &c;
    t0 = Clock::now();
    std::atomic<int> started{0};
    std::atomic<bool> stop{false};

    // created: poll for the directories of the scopes started so far
    std::thread dirs([&] {
        int next = 0;  // containers before it have their directory
        while (!stop && next < n) {
            int s = started.load();
            for (int i = next; i < s; ++i) {
                if (cs[i].created) continue;
                struct stat st;
                if (::stat(cs[i].dir.c_str(), &st) == 0) cs[i].created = now();
            }
            while (next < s && cs[next].created) ++next;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });

    // reported: Get IOReadIOPSMax once "applied", again every ms until it shows the limit
    auto checkBus = sdbus::createSystemBusConnection();
    host::SdbusSystemdManager checker(*checkBus);
    std::thread reports([&] {
        int done = 0;
        auto deadline = Clock::time_point::max();
        while (done < n && Clock::now() < deadline) {
            if (started == n && deadline == Clock::time_point::max())
                deadline = Clock::now() + (poller ? std::chrono::seconds(5) : std::chrono::seconds(3));
            bool waiting = false;
            for (auto& c : cs) {
                if (c.reported || !c.applied) continue;
                auto l = checker.unitLimits(c.unit, devPath);
                if (l && l->readIops == limit) {
                    c.reported = now();
                    ++done;
                } else {
                    waiting = true;
                }
            }
            std::this_thread::sleep_for(std::chrono::microseconds(waiting ? 1000 : 200));
        }
    });

    // applied
    std::unique_ptr<sdbus::IConnection> signalBus;
    std::unique_ptr<sdbus::IProxy> signalProxy;
    std::unique_ptr<sdbus::IConnection> pollBus;
    std::thread pollThread;
    std::unique_ptr<daemon::Setup> parts;
    daemon::Telemetry telemetry;
    daemon::SystemClock clock;
    daemon::Engine engine(telemetry, clock);
    if (!poller) {
        signalBus = sdbus::createSystemBusConnection();
        signalProxy = sdbus::createProxy(*signalBus, "io.iopslimit1", "/io/iopslimit1");
        signalProxy->uponSignal("LimitApplied")
            .onInterface("io.iopslimit1.Manager")
            .call([&](const std::string&, const std::string&, const std::string&, const std::string& id,
                      const std::string&, uint64_t readIops, uint64_t, uint64_t, uint64_t) {
                auto it = byId.find(id);
                if (it != byId.end() && readIops == limit && !it->second->applied) it->second->applied = now();
            });
        signalProxy->finishRegistration();
        signalBus->enterEventLoopAsync();
    } else {
        auto setup = host::detectCgroups(*cfg);
        if (!setup) {
            std::fprintf(stderr, "cgroups: %s\n", setup.error().message.c_str());
            return 2;
        }
        pollBus = sdbus::createSystemBusConnection();
        auto mgr = std::make_unique<host::SdbusSystemdManager>(*pollBus);
        std::map<core::DevNum, std::string> paths;
        for (const auto& d : *devices) paths[d.dev] = cfg->devRoot + "/" + d.name;
        auto writer = std::make_unique<host::SystemdUnitWriter>(*mgr, host::makeRawWriter(setup->version, setup->hierarchy),
                                                                std::move(paths));
        parts = daemon::setupFromParts(*cfg, *setup, *devices, std::move(writer), std::move(mgr));
        engine.use(*parts);
        // no pods known: every new container gets the default
        engine.apply(daemon::Update::fresh(core::PodList{}, core::PodSourceKind::Kubelet));
        engine.onApplied = [&](const core::ContainerStatus& s) {
            std::string cg = s.cgroup;
            auto slash = cg.rfind('/');
            std::string leaf = slash == std::string::npos ? cg : cg.substr(slash + 1);
            auto it = byId.find(leaf.substr(std::string("cri-containerd-").size(), 64));
            if (leaf.rfind("cri-containerd-", 0) == 0 && it != byId.end() && !it->second->applied)
                it->second->applied = now();
        };
        pollThread = std::thread([&, setup = *setup] {
            while (!stop) {
                for (const auto& cg : host::listContainerCgroups(setup)) engine.apply(daemon::Update::appeared({cg}));
                for (int i = 0; i < 100 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        });
    }

    // create the scopes, one every INTERVAL
    auto callBus = sdbus::createSystemBusConnection();
    auto systemd = sdbus::createProxy(*callBus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1");
    using Props = std::vector<sdbus::Struct<std::string, sdbus::Variant>>;
    using Aux = std::vector<sdbus::Struct<std::string, Props>>;
    size_t failedStarts = 0;
    std::string firstError;
    auto activeState = [&](const std::string& unit) {
        try {
            auto proxy = sdbus::createProxy(*callBus, "org.freedesktop.systemd1", host::unitObjectPath(unit));
            return proxy->getProperty("ActiveState").onInterface("org.freedesktop.systemd1.Unit").get<std::string>();
        } catch (const sdbus::Error&) {
            return std::string();
        }
    };
    auto startSlice = [&](const Container& c) {
        try {  // the pod's slice first, as the kubelet does, and wait till it is active
            sdbus::ObjectPath job;
            systemd->callMethod("StartTransientUnit")
                .onInterface("org.freedesktop.systemd1.Manager")
                .withArguments(c.slice, std::string("fail"), Props{}, Aux{})
                .storeResultsTo(job);
            for (int k = 0; k < 2000 && activeState(c.slice) != "active"; ++k)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        } catch (const sdbus::Error& e) {
            if (!failedStarts++) firstError = e.getName() + ": " + e.getMessage();
        }
    };
    // runc: PARALLEL containers at a time, as pod workers start them; "returned" = the starter exited
    for (int b = 0; runc && b < n; b += parallel) {
        int end = std::min(n, b + parallel);
        for (int i = b; i < end; ++i) startSlice(cs[i]);
        started = end;
        std::map<pid_t, Container*> running;
        for (int i = b; i < end; ++i) {
            std::vector<std::string> args{starter, cs[i].id, cs[i].slice};
            std::vector<char*> av;
            for (auto& a : args) av.push_back(a.data());
            av.push_back(nullptr);
            pid_t pid;
            if (posix_spawnp(&pid, starter.c_str(), nullptr, nullptr, av.data(), environ) == 0) running[pid] = &cs[i];
            else if (!failedStarts++) firstError = "posix_spawn " + starter;
        }
        while (!running.empty()) {
            int status = 0;
            pid_t pid = ::waitpid(-1, &status, 0);
            auto it = running.find(pid);
            if (it == running.end()) continue;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) it->second->returned = now();
            else if (!failedStarts++) firstError = "starter exited with status " + std::to_string(status);
            running.erase(it);
        }
    }
    for (int i = 0; !runc && i < n; ++i) {
        Container& c = cs[i];
        startSlice(c);
        Props props{{"PIDs", sdbus::Variant(std::vector<uint32_t>{c.pid})}, {"Slice", sdbus::Variant(c.slice)}};
        started = i + 1;
        try {
            sdbus::ObjectPath job;
            systemd->callMethod("StartTransientUnit")
                .onInterface("org.freedesktop.systemd1.Manager")
                .withArguments(c.unit, std::string("fail"), props, Aux{})
                .storeResultsTo(job);
            c.returned = now();
        } catch (const sdbus::Error& e) {
            if (!failedStarts++) firstError = e.getName() + ": " + e.getMessage();
        }
        std::this_thread::sleep_for(interval);
    }
    reports.join();
    stop = true;
    dirs.join();
    if (pollThread.joinable()) pollThread.join();
    if (signalBus) signalBus->leaveEventLoop();

    // systemd's own time to start each scope, from the unit's monotonic timestamp (same clock)
    const int64_t t0ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count();
    for (auto& c : cs) {
        try {
            auto proxy = sdbus::createProxy(*callBus, "org.freedesktop.systemd1", host::unitObjectPath(c.unit));
            auto us = proxy->getProperty("ActiveEnterTimestampMonotonic").onInterface("org.freedesktop.systemd1.Unit").get<uint64_t>();
            if (us) c.active = static_cast<int64_t>(us) * 1000 - t0ns + 1;
        } catch (const sdbus::Error&) {
        }
    }

    for (auto& c : cs) {  // the entrypoints' CLOCK_MONOTONIC (steady_clock's clock)
        std::ifstream f(stampDir.empty() ? std::string() : stampDir + "/" + c.id);
        int64_t ns = 0;
        if (f >> ns && ns > t0ns) c.entry = ns - t0ns + 1;
    }

    if (failedStarts)
        std::printf("  %zu of %d starts failed (first: %s)\n", failedStarts, n, firstError.c_str());
    if (runc) {
        printWithMin("runc: cgroup appears -> LimitApplied received", cs, &Container::created, &Container::applied);
        printWithMin("runc: cgroup appears -> systemd reports IOReadIOPSMax", cs, &Container::created,
                     &Container::reported);
        printWithMin("runc: cgroup appears -> the container's entrypoint runs", cs, &Container::created, &Container::entry);
        printMargin("margin: LimitApplied received .. the entrypoint runs", cs, &Container::applied, &Container::entry);
        printMargin("margin: systemd reports the limit .. the entrypoint runs", cs, &Container::reported, &Container::entry);
        print("  (cgroup appears -> systemd has the scope active)", cs, &Container::created, &Container::active);
        print("  (cgroup appears -> runc start returns)", cs, &Container::created, &Container::returned);
    } else if (poller) {
        print("plain 1 s poller: cgroup appears -> applied", cs, &Container::created, &Container::applied);
        print("plain 1 s poller: cgroup appears -> systemd reports", cs, &Container::created, &Container::reported);
    } else {
        print("iops-limitd: cgroup appears -> LimitApplied received", cs, &Container::created, &Container::applied);
        print("iops-limitd: cgroup appears -> systemd reports IOReadIOPSMax", cs, &Container::created,
              &Container::reported);
        print("iops-limitd: StartTransientUnit returns -> systemd reports", cs, &Container::returned,
              &Container::reported);
    }
    if (!runc) {
        print("  (StartTransientUnit returns -> cgroup appears)", cs, &Container::returned, &Container::created);
        print("  (cgroup appears -> systemd has the scope active)", cs, &Container::created, &Container::active);
        print(poller ? "  (scope active -> applied)" : "  (scope active -> LimitApplied received)", cs,
              &Container::active, &Container::applied);
    }

    // Stop the scopes (their processes with them) and slices, so the next run starts on a calm systemd.
    for (auto& c : cs)
        for (const auto& unit : {c.unit, c.slice}) {
            try {
                sdbus::ObjectPath job;
                systemd->callMethod("StopUnit")
                    .onInterface("org.freedesktop.systemd1.Manager")
                    .withArguments(unit, std::string("replace"))
                    .storeResultsTo(job);
            } catch (const sdbus::Error&) {
            }
        }
    return 0;
}
