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
#include "daemon/log.h"
#include "daemon/reconciler.h"
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

template <typename F>
double medianMs(int runs, F&& f) {
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
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

std::string readAll(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
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

    // A v2 temp tree with one io.max per container.
    char tmpl[] = "/tmp/iops-limit-bench.XXXXXX";
    fs::path root = mkdtemp(tmpl);
    std::ofstream(root / "cgroup.controllers") << "io\n";
    auto list = decodeStreaming(file);
    std::vector<fs::path> ioMax;
    for (const auto& e : core::makePlan(list.pods, in).entries) {
        fs::create_directories(root / e.cgroup);
        ioMax.push_back(root / e.cgroup / "io.max");
        std::ofstream(ioMax.back());
    }
    auto envCfg = core::parseConfig({{"NODE_NAME", "bench"}, {"CGROUP_ROOT", root.string()}}, "bench").value();
    auto setup = host::detectCgroups(envCfg).value();
    host::BlockDevice disk;
    disk.dev = {259, 0};
    disk.name = "nvme0n1";
    host::IoMaxWriter writer(setup.hierarchy);
    daemon::log::setVerbose(false);
    // Silence the per-container log lines: they go to stderr, which is not what is measured.
    FILE* devnull = freopen("/dev/null", "w", stderr);
    daemon::Reconciler rec(envCfg, setup, {disk}, writer, nullptr, nullptr);
    size_t changed = 0, unchanged = 0;
    double allChanged = medianMs(runs, [&] {
        for (const auto& p : ioMax) std::ofstream(p, std::ios::trunc);  // (setup; a few ms, counted)
        changed = rec.apply(list, "bench", false).changed;
    });
    // Reset cost measured alone so it can be subtracted.
    double resetOnly = medianMs(runs, [&] {
        for (const auto& p : ioMax) std::ofstream(p, std::ios::trunc);
    });
    rec.apply(list, "bench", false);
    double noChange = medianMs(runs, [&] { unchanged = rec.apply(list, "bench", false).unchanged; });
    (void)devnull;
    fs::remove_all(root);

    std::printf("iops-limit benchmark: %zu pods, %zu running containers, median of %d runs\n", pods, containers, runs);
    std::printf("  parse + plan (PodList JSON -> limits)   %8.2f ms   (target <= 50 ms; parse alone %.2f ms)\n",
                parsePlan, parseOnly);
    std::printf("  reconcile, nothing changed (%zu read)   %8.2f ms   (target <= 20 ms)\n", unchanged, noChange);
    std::printf("  reconcile, all changed (%zu written)    %8.2f ms   (incl. %.2f ms test reset)\n", changed,
                allChanged, resetOnly);
    std::printf("  peak RSS of this measuring process      %8.2f MiB  (target <= 10 MiB; %.2f MiB before any work)\n",
                peakRssMiB(), baseline);
    std::printf("  PodList size                            %8.2f MiB\n", jsonBytes / 1048576.0);
    return 0;
}
