// Parse + plan of a 1000-pod PodList and full reconciles of its containers on a temp cgroup
// tree: medians over repeated runs, and the process's peak RSS. Prints numbers with targets.
#include <json/json.h>
#include <stdlib.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/config.h"
#include "core/planner.h"
#include "core/podlist_decoder.h"
#include "core/prometheus.h"
#include "daemon/io_sampler.h"
#include "daemon/log.h"
#include "daemon/engine.h"
#include "host/cgroup_fs.h"
#include "host/limit_writers.h"

extern char** environ;
namespace fs = std::filesystem;
using namespace iopslimit;

namespace {

std::string hex(std::mt19937_64& rng, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) s += digits[rng() % 16];
    return s;
}

// 1000 pods cloned from the real 1.35 PodList, each with a fresh UID and container IDs, every
// fifth one annotated.
std::string makePodList(size_t count) {
    Json::Value src;
    std::ifstream(std::string(IOPSLIMIT_TEST_DATA) + "/nri-kubernetes_1_35_kubelet_pods.json") >> src;
    std::vector<Json::Value> templates;
    for (const auto& p : src["items"])
        if (p["metadata"]["namespace"].asString() != "kube-system") templates.push_back(p);
    std::mt19937_64 rng(42);
    Json::Value out;
    out["kind"] = "PodList";
    out["apiVersion"] = "v1";
    out["items"] = Json::arrayValue;
    for (size_t i = 0; i < count; ++i) {
        Json::Value p = templates[i % templates.size()];
        p["metadata"]["uid"] = hex(rng, 8) + "-" + hex(rng, 4) + "-" + hex(rng, 4) + "-" + hex(rng, 4) + "-" + hex(rng, 12);
        p["metadata"]["name"] = p["metadata"]["name"].asString() + "-" + std::to_string(i);
        if (i % 5 == 0) p["metadata"]["annotations"]["iops-limit/limit"] = "200";
        for (auto& c : p["status"]["containerStatuses"]) {
            c["containerID"] = "containerd://" + hex(rng, 64);
            c["state"] = Json::Value(Json::objectValue);
            c["state"]["running"]["startedAt"] = "2026-01-01T00:00:00Z";
        }
        out["items"].append(p);
    }
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    return Json::writeString(w, out);
}

template <typename F, typename Before = void (*)()>
double medianMs(int runs, F&& f, Before before = [] {}) {
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        before();  // not timed
        auto a = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

double currentRssMiB() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return -1;
}

// VmHWM: this process image's own peak (ru_maxrss would carry the generator's peak over exec).
double peakRssMiB() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return -1;
}

}  // namespace

int measure(const std::string& file, size_t pods, int runs);

// Generates the PodList in this process, then measures in a fresh process image so the peak
// RSS printed is that of parse + plan + reconcile alone.
int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--measure")
        return measure(argv[2], std::stoul(argv[3]), std::stoi(argv[4]));
    std::string pods = argc > 1 ? argv[1] : "1000";
    std::string runs = argc > 2 ? argv[2] : "21";
    auto count = [](const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 7; };
    if (argc > 3 || !count(pods) || !count(runs) || pods == "0" || runs == "0") {
        std::fprintf(stderr, "usage: %s [PODS [RUNS]]   (defaults 1000 pods, 21 runs; both positive numbers)\n", argv[0]);
        return 2;
    }
    char tmpl[] = "/tmp/iops-limit-bench-pods.XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return 1;
    close(fd);
    std::ofstream(tmpl) << makePodList(std::stoul(pods));
    std::string self = fs::read_symlink("/proc/self/exe");
    std::vector<std::string> args = {self, "--measure", tmpl, pods, runs};
    std::vector<char*> argvv;
    for (auto& a : args) argvv.push_back(a.data());
    argvv.push_back(nullptr);
    pid_t pid;
    if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argvv.data(), environ) != 0) return 1;
    int status = 0;
    waitpid(pid, &status, 0);
    fs::remove(tmpl);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// Feeds the decoder 16 KiB at a time from the file, as libcurl hands the body over: the
// PodList is never held whole.
core::PodList decodeStreaming(const std::string& file) {
    core::PodListDecoder decoder;
    std::ifstream in(file, std::ios::binary);
    char chunk[16384];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0)
        if (!decoder.feed(std::string_view(chunk, static_cast<size_t>(in.gcount())))) break;
    return decoder.finish().value();
}

int measure(const std::string& file, size_t pods, int runs) {
    const size_t jsonBytes = fs::file_size(file);
    const double baseline = currentRssMiB();

    auto cfg = core::parseConfig({{"NODE_NAME", "bench"}}, "bench").value();
    auto filter = core::Filter::create(cfg.filter).value();
    core::PlanInput in{cfg.defaults, &filter, core::CgroupLayout{}, nullptr};
    size_t containers = 0;
    double parseOnly = medianMs(runs, [&] { decodeStreaming(file); });
    double parsePlan = medianMs(runs, [&] {
        auto list = decodeStreaming(file);
        containers = core::makePlan(list.pods, in).entries.size();
    });

    // Reconcile on a v2 temp tree (one io.max file per container) and, when root on a host with
    // v1 blkio, on real cgroups too (a private kubepods tree, removed afterwards).
    struct Numbers {
        double allChanged = 0, resetOnly = 0, noChange = 0;
        size_t changed = 0, unchanged = 0;
        double sampleIo = 0, renderPage = 0;  // a metrics scrape's per-container work
        size_t pageBytes = 0, sampled = 0;
    };
    FILE* devnull = freopen("/dev/null", "w", stderr);  // per-container log lines are not measured
    (void)devnull;
    daemon::log::setVerbose(false);
    auto list = decodeStreaming(file);
    auto reconcileOn = [&](bool real) {
        const std::string benchRoot = "iops-limit-bench";
        fs::path root;
        core::Environment env = {{"NODE_NAME", "bench"}};
        if (real) {
            root = "/sys/fs/cgroup/blkio";
            env.insert({{"CGROUP_ROOT", "/sys/fs/cgroup"}, {"CGROUP_VERSION", "v1"}, {"CGROUP_DRIVER", "cgroupfs"},
                        {"KUBELET_CGROUP_ROOT", "/" + benchRoot}});
        } else {
            // tmpfs: what a cgroup file system costs is not a disk file system's truncate.
            std::string tmpl = fs::exists("/dev/shm") ? "/dev/shm/iops-limit-bench.XXXXXX" : "/tmp/iops-limit-bench.XXXXXX";
            root = mkdtemp(tmpl.data());
            std::ofstream(root / "cgroup.controllers") << "io\n";
            env.insert({{"CGROUP_ROOT", root.string()}, {"CGROUP_DRIVER", "systemd"}});
        }
        auto envCfg = core::parseConfig(env, "bench").value();
        auto setup = host::detectCgroups(envCfg).value();
        core::PlanInput layoutIn{cfg.defaults, &filter, setup.layout, nullptr};
        std::vector<fs::path> dirs;
        for (const auto& e : core::makePlan(list.pods, layoutIn).entries) {
            fs::create_directories(root / e.cgroup);
            dirs.push_back(root / e.cgroup);
            if (!real) {
                std::ofstream(dirs.back() / "io.max");
                std::ofstream(dirs.back() / "io.stat") << "259:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=0 dios=0\n";
                std::ofstream(dirs.back() / "io.pressure") << "some avg10=1.25 avg60=0.40 avg300=0.10 total=4500000\n"
                                                              "full avg10=0.50 avg60=0.10 avg300=0.02 total=1500000\n";
            }
        }
        host::BlockDevice disk;
        disk.dev = real ? core::DevNum{7, 0} : core::DevNum{259, 0};  // no IO goes through these cgroups
        auto parts = daemon::setupFromParts(envCfg, setup, {disk}, host::makeRawWriter(setup.version, setup.hierarchy));
        daemon::Telemetry telemetry;
        daemon::SystemClock clock;
        daemon::Engine engine(telemetry, clock);
        engine.use(*parts);
        // Each pass gets its own copy of the list, moved in as the daemon moves a fresh fetch in;
        // the copy is made before the clock starts.
        core::PodList next;
        auto copyList = [&] { next = list; };
        auto pass = [&]() -> const daemon::ReconcileReport& {
            return engine.apply(daemon::Update::fresh(std::move(next), core::PodSourceKind::Kubelet));
        };
        auto reset = [&] {
            for (const auto& d : dirs) {
                if (real) {
                    std::ofstream(d / "blkio.throttle.read_iops_device") << "7:0 0\n";
                    std::ofstream(d / "blkio.throttle.write_iops_device") << "7:0 0\n";
                } else {
                    std::ofstream(d / "io.max", std::ios::trunc);
                }
            }
        };
        Numbers n;
        n.allChanged = medianMs(
            runs,
            [&] {
                reset();  // counted here, measured alone below
                n.changed = pass().changed;
            },
            copyList);
        n.resetOnly = medianMs(runs, reset);
        copyList();
        pass();
        n.noChange = medianMs(runs, [&] { n.unchanged = pass().unchanged; }, copyList);
        if (!real) {
            // What a Prometheus scrape adds per container: read io.stat + io.pressure, write the
            // limit, IO and pressure series (daemon/metrics.cpp writes these families).
            copyList();
            const auto& report = pass();  // the engine's, as the daemon's scrape reads it
            std::vector<daemon::ContainerIo> io;
            n.sampleIo = medianMs(runs, [&] { io = daemon::sampleContainers(report.containers, setup, {disk}); });
            n.sampled = io.size();
            n.renderPage = medianMs(runs, [&] {
                core::PromWriter w;
                w.family("iopslimit_container_limit", "gauge", "limits");
                for (const auto& c : report.containers)
                    for (const char* kind : {"read_iops", "write_iops"})
                        w.sample("iopslimit_container_limit", {{"namespace", c.entry.ns}, {"pod", c.entry.pod},
                                 {"container", c.entry.container}, {"limit", kind}}, 500);
                w.family("iopslimit_container_io_ops_total", "counter", "ops");
                for (const auto& c : io)
                    for (const auto& [dev, cnt] : c.devices) {
                        std::string d = dev.str();
                        for (const char* op : {"read", "write"})
                            w.sample("iopslimit_container_io_ops_total", {{"namespace", c.ns}, {"pod", c.pod},
                                     {"container", c.container}, {"device", d}, {"op", op}}, static_cast<double>(cnt.readIos));
                    }
                w.family("iopslimit_container_io_pressure_some_avg10", "gauge", "pressure");
                for (const auto& c : io)
                    if (c.pressure)
                        w.sample("iopslimit_container_io_pressure_some_avg10",
                                 {{"namespace", c.ns}, {"pod", c.pod}, {"container", c.container}}, c.pressure->someAvg10);
                n.pageBytes = w.text().size();
            });
        }
        if (real) {
            std::vector<fs::path> all;
            for (auto it = fs::recursive_directory_iterator(root / benchRoot); it != fs::recursive_directory_iterator(); ++it)
                if (it->is_directory()) all.push_back(it->path());
            std::sort(all.begin(), all.end(),
                      [](const fs::path& a, const fs::path& b) { return a.string().size() > b.string().size(); });
            for (const auto& d : all) ::rmdir(d.c_str());
            ::rmdir((root / benchRoot).c_str());
        } else {
            fs::remove_all(root);
        }
        return n;
    };
    Numbers tmp = reconcileOn(false);
    const bool real = geteuid() == 0 && fs::exists("/sys/fs/cgroup/blkio/blkio.throttle.read_iops_device");
    Numbers v1 = real ? reconcileOn(true) : Numbers{};

    std::printf("iops-limit benchmark: %zu pods, %zu running containers, median of %d runs\n", pods, containers, runs);
    std::printf("  parse + plan (PodList JSON -> limits)   %8.2f ms   (target <= 50 ms; parse alone %.2f ms)\n",
                parsePlan, parseOnly);
    std::printf("  reconcile on a temp tree (v2 io.max files on tmpfs):\n");
    std::printf("    nothing changed (%zu read)            %8.2f ms   (target <= 20 ms)\n", tmp.unchanged, tmp.noChange);
    std::printf("    all changed (%zu written)             %8.2f ms   (incl. %.2f ms test reset)\n", tmp.changed,
                tmp.allChanged, tmp.resetOnly);
    std::printf("  metrics scrape, per-container part (%zu containers):\n", tmp.sampled);
    std::printf("    read io.stat + io.pressure            %8.2f ms\n", tmp.sampleIo);
    std::printf("    write the series (%.0f KiB)            %8.2f ms\n", tmp.pageBytes / 1024.0, tmp.renderPage);
    if (real) {
        std::printf("  reconcile on real cgroup v1 blkio cgroups (4 throttle files each):\n");
        std::printf("    nothing changed (%zu read)            %8.2f ms\n", v1.unchanged, v1.noChange);
        std::printf("    all changed (%zu written)             %8.2f ms   (incl. %.2f ms test reset)\n", v1.changed,
                    v1.allChanged, v1.resetOnly);
    }
    std::printf("  peak RSS of this measuring process      %8.2f MiB  (target <= 10 MiB; %.2f MiB before any work)\n",
                peakRssMiB(), baseline);
    std::printf("  PodList size                            %8.2f MiB\n", jsonBytes / 1048576.0);
    return 0;
}
