// Start latency: time from a container's cgroup directory appearing to its limit being in
// force, p50/p99 over many containers, for iops-limitd's inotify path and for a plain 1 s
// poller run the same way. Real cgroups when run as root on a host with v1 blkio or v2 io
// (a private kubepods tree under the hierarchy, removed afterwards), a temp tree otherwise.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "core/config.h"
#include "daemon/log.h"
#include "daemon/engine.h"
#include "host/cgroup_fs.h"
#include "host/cgroup_watcher.h"
#include "host/limit_writers.h"

namespace fs = std::filesystem;
using namespace iopslimit;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
    std::string hierarchy;  // absolute
    core::CgroupVersion version;
    bool real;
    fs::path tmp;
};

Target pickTarget() {
    if (geteuid() == 0 && fs::exists("/sys/fs/cgroup/blkio/blkio.throttle.read_iops_device"))
        return {"/sys/fs/cgroup/blkio", core::CgroupVersion::V1, true, {}};
    if (geteuid() == 0) {
        std::ifstream c("/sys/fs/cgroup/cgroup.subtree_control");
        std::string s((std::istreambuf_iterator<char>(c)), {});
        if (s.find("io") != std::string::npos) return {"/sys/fs/cgroup", core::CgroupVersion::V2, true, {}};
    }
    char tmpl[] = "/tmp/iops-limit-latency.XXXXXX";
    fs::path t = mkdtemp(tmpl);
    std::ofstream(t / "cgroup.controllers") << "io\n";
    return {t.string(), core::CgroupVersion::V2, false, t};
}

std::string limitFile(const Target& t) {
    return t.version == core::CgroupVersion::V1 ? "blkio.throttle.read_iops_device" : "io.max";
}

std::string hex(std::mt19937_64& rng, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) s += d[rng() % 16];
    return s;
}

// Makes the container's cgroup appear at once with its files (mkdir on a real hierarchy; a
// rename of a prepared directory on a temp tree).
void appear(const Target& t, const std::string& rel, const std::string& staging) {
    fs::path dst = fs::path(t.hierarchy) / rel;
    fs::create_directories(dst.parent_path());
    if (t.real) {
        fs::create_directory(dst);
        return;
    }
    fs::create_directories(staging);
    std::ofstream(fs::path(staging) / limitFile(t));
    fs::rename(staging, dst);
}

double pct(std::vector<double> v, double p) {
    if (v.empty()) return -1;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

struct Result {
    std::vector<double> ms;
    size_t missed = 0;
};

// Creates n containers ~interval apart; a checker records when each one's limit shows.
Result measure(const Target& t, const std::string& root, int n, std::chrono::microseconds interval,
               std::atomic<bool>& stop) {
    std::mt19937_64 rng(7);
    std::vector<std::pair<std::string, Clock::time_point>> made(n);
    std::vector<double> ms(n, -1);
    std::atomic<int> created{0};
    std::thread checker([&] {
        int done = 0;
        std::vector<bool> seen(n, false);
        auto deadline = Clock::time_point::max();
        while (done < n && Clock::now() < deadline) {
            int c = created.load();
            if (c == n && deadline == Clock::time_point::max()) deadline = Clock::now() + std::chrono::seconds(3);
            for (int i = 0; i < c; ++i) {
                if (seen[i]) continue;
                std::ifstream f(fs::path(t.hierarchy) / made[i].first / limitFile(t));
                std::string s((std::istreambuf_iterator<char>(f)), {});
                if (s.find(" 300") != std::string::npos || s.find("riops=300") != std::string::npos) {
                    ms[i] = std::max(0.0, std::chrono::duration<double, std::milli>(Clock::now() - made[i].second).count());
                    seen[i] = true;
                    ++done;
                }
            }
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    });
    for (int i = 0; i < n; ++i) {
        std::string uid = hex(rng, 8) + "-0000-4000-8000-" + hex(rng, 12);
        std::string rel = root + "/kubepods/besteffort/pod" + uid + "/" + hex(rng, 64);
        made[i].first = rel;
        appear(t, rel, (t.tmp / ("staging" + std::to_string(i))).string());
        made[i].second = Clock::now();  // created: the directory exists from here on
        created = i + 1;
        std::this_thread::sleep_for(interval);
    }
    checker.join();
    stop = true;
    Result r;
    for (double v : ms)
        if (v >= 0) r.ms.push_back(v);
        else ++r.missed;
    return r;
}

void removeTree(const Target& t, const std::string& root) {
    // Children first; cgroups without processes go with rmdir.
    std::vector<fs::path> dirs;
    fs::path top = fs::path(t.hierarchy) / root;
    if (!fs::exists(top)) return;
    for (auto it = fs::recursive_directory_iterator(top); it != fs::recursive_directory_iterator(); ++it)
        if (it->is_directory()) dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) { return a.string().size() > b.string().size(); });
    for (const auto& d : dirs) ::rmdir(d.c_str());
    ::rmdir(top.c_str());
}

void print(const char* what, const Result& r) {
    std::printf("  %-34s p50 %8.2f  p90 %8.2f  p99 %8.2f  max %8.2f ms  (%zu containers%s)\n", what, pct(r.ms, 0.5),
                pct(r.ms, 0.9), pct(r.ms, 0.99), pct(r.ms, 1.0), r.ms.size(),
                r.missed ? (", " + std::to_string(r.missed) + " never limited").c_str() : "");
}

}  // namespace

int main(int argc, char** argv) {
    std::string arg = argc > 1 ? argv[1] : "200";
    if (argc > 2 || arg.empty() || arg.size() > 6 || arg.find_first_not_of("0123456789") != std::string::npos || arg == "0") {
        std::fprintf(stderr, "usage: %s [CONTAINERS]   (default 200, a positive number)\n", argv[0]);
        return 2;
    }
    int n = std::stoi(arg);
    Target t = pickTarget();
    if (t.tmp.empty()) {
        char tmpl[] = "/tmp/iops-limit-latency-staging.XXXXXX";
        t.tmp = mkdtemp(tmpl);
    }
    FILE* quiet = freopen("/dev/null", "w", stderr);
    (void)quiet;
    std::printf("start latency: cgroup directory appears -> limit in force (%s, %s)\n",
                t.real ? "real cgroups" : "temp tree, not root or no io controller",
                t.version == core::CgroupVersion::V1 ? "cgroup v1 blkio" : "cgroup v2 io.max");

    auto run = [&](bool inotify, const std::string& root) {
        auto cfg = core::parseConfig({{"NODE_NAME", "bench"}, {"CGROUP_ROOT", t.version == core::CgroupVersion::V1 ? "/sys/fs/cgroup" : t.hierarchy},
                                      {"CGROUP_VERSION", t.version == core::CgroupVersion::V1 ? "v1" : "v2"},
                                      {"CGROUP_DRIVER", "cgroupfs"}, {"KUBELET_CGROUP_ROOT", "/" + root},
                                      {"CONTAINER_IOPS_LIMIT", "300"}},
                                     "bench")
                       .value();
        auto setup = host::detectCgroups(cfg).value();
        fs::create_directories(fs::path(t.hierarchy) / root / "kubepods/besteffort");
        host::BlockDevice disk;
        disk.dev = {7, 0};  // a loop device number; limits on empty cgroups touch no IO
        auto parts = daemon::setupFromParts(cfg, setup, {disk}, host::makeRawWriter(setup.version, setup.hierarchy));
        daemon::Telemetry telemetry;
        daemon::SystemClock clock;
        daemon::Engine engine(telemetry, clock);
        engine.use(*parts);
        // no pods known: every new container gets the default
        engine.apply(daemon::Update::fresh(core::PodList{}, core::PodSourceKind::Kubelet));
        auto appeared = [&](const std::string& cg) { engine.apply(daemon::Update::appeared({cg})); };
        std::atomic<bool> stop{false};
        std::thread daemonThread([&] {
            if (inotify) {
                host::CgroupWatcher w(setup, appeared);
                while (!stop) {
                    pollfd p{w.fd(), POLLIN, 0};
                    if (::poll(&p, 1, 20) > 0) w.dispatch();
                }
            } else {
                // The comparison: list the tree every second and limit what is new.
                while (!stop) {
                    for (const auto& cg : host::listContainerCgroups(setup)) appeared(cg);
                    for (int i = 0; i < 100 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
                }
            }
        });
        Result r = measure(t, root, n, std::chrono::microseconds(inotify ? 5000 : 10000), stop);
        daemonThread.join();
        removeTree(t, root);
        return r;
    };
    Result fast = run(true, "iops-limit-bench-inotify");
    print("iops-limitd (inotify, raw write)", fast);
    Result slow = run(false, "iops-limit-bench-poller");
    print("plain 1 s poller", slow);
    std::printf("  targets: p99 <= 5 ms raw (<= 20 ms through systemd, see MEASUREMENTS.md)\n");
    if (!t.real) fs::remove_all(t.hierarchy);
    fs::remove_all(t.tmp);
    return 0;
}
