#include "daemon/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <array>

#include "core/prometheus.h"
#include "daemon/adaptive_controller.h"
#include "daemon/daemon.h"
#include "daemon/io_sampler.h"
#include "host/cgroup_fs.h"
#include "core/kernel_files.h"
#include "iopslimit_version.h"

namespace iopslimit::daemon {

namespace {

using core::Labels;

constexpr std::array kSources = {core::LimitSource::Default, core::LimitSource::Namespace, core::LimitSource::Annotation,
                                 core::LimitSource::Override, core::LimitSource::Excluded};
constexpr std::array kCauses = {"permission", "controller", "invalid", "device", "systemd", "io", "other"};
constexpr std::array kPodSources = {"kubelet", "apiserver", "cache", "none"};

void processMetrics(core::PromWriter& w, double startTime) {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    w.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    w.sample("process_cpu_seconds_total", {}, cpu);
    if (auto statm = host::readFile(std::string("/proc/") + core::files::kStatm); statm) {
        unsigned long size = 0, resident = 0;
        if (std::sscanf(statm->c_str(), "%lu %lu", &size, &resident) == 2) {
            double page = static_cast<double>(sysconf(_SC_PAGESIZE));
            w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
            w.sample("process_resident_memory_bytes", {}, static_cast<double>(resident) * page);
            w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
            w.sample("process_virtual_memory_bytes", {}, static_cast<double>(size) * page);
        }
    }
    w.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    w.sample("process_start_time_seconds", {}, startTime);
}

}  // namespace

std::string renderMetrics(const Daemon& s) {
    core::PromWriter w;
    const Telemetry& t = s.telemetry();
    const Engine& engine = s.engine();
    const ReconcileReport& last = engine.last();

    w.family("iopslimit_build_info", "gauge", "Version of iops-limitd; always 1.");
    w.sample("iopslimit_build_info", {{"version", IOPSLIMIT_VERSION}, {"backend", core::backendName(s.setup().backend)},
                                      {"cgroup_version", core::versionName(s.setup().cgroups.version)}}, 1);

    w.family("iopslimit_data_mount_ready", "gauge",
             "1 when the DATA_MOUNT resolves to a disk that gets limits, 0 while it is waited for (not mounted yet).");
    for (const auto& d : s.setup().devices)
        w.sample("iopslimit_data_mount_ready", {{"mount", d.mountPoint}, {"device", d.dev.str()}}, 1);
    for (const auto& [mount, why] : s.setup().waiting)
        w.sample("iopslimit_data_mount_ready", {{"mount", mount}, {"device", ""}}, 0);

    std::map<std::string, int> bySource, byState;
    for (auto src : kSources) bySource[std::string(core::sourceName(src))] = 0;
    for (const char* st : {"applied", "pending", "error", "excluded"}) byState[st] = 0;
    for (const auto& c : last.containers) {
        ++bySource[std::string(core::sourceName(c.entry.source))];
        ++byState[std::string(core::publicStateName(c.state))];
    }
    w.family("iopslimit_containers", "gauge", "Running containers of the node's pods at the last reconcile, by where their limit comes from.");
    for (const auto& [src, n] : bySource) w.sample("iopslimit_containers", {{"source", src}}, n);
    w.family("iopslimit_containers_by_state", "gauge", "Running containers at the last reconcile, by state.");
    for (const auto& [st, n] : byState) w.sample("iopslimit_containers_by_state", {{"state", st}}, n);
    w.family("iopslimit_managed_containers", "gauge", "Containers with a limit from iops-limit in force.");
    w.sample("iopslimit_managed_containers", {}, engine.managedContainers());

    w.family("iopslimit_container_limit", "gauge",
             "Limit in force per container: IOPS or bytes per second on each throttled disk; unlimited directions are not exported.");
    for (const auto& c : last.containers) {
        if (c.state != core::LimitState::Applied && c.state != core::LimitState::Unchanged) continue;
        const auto& e = c.entry;
        const std::pair<const char*, uint64_t> dirs[] = {{"read_iops", e.limits.readIops}, {"write_iops", e.limits.writeIops},
                                                         {"read_bps", e.limits.readBps}, {"write_bps", e.limits.writeBps}};
        for (const auto& [kind, v] : dirs)
            if (v) w.sample("iopslimit_container_limit",
                            {{"namespace", e.ns}, {"pod", e.pod}, {"container", e.container}, {"limit", kind}},
                            static_cast<double>(v));
    }

    w.family("iopslimit_limits_applied_total", "counter", "Limits written (changed), by source.");
    for (auto src : {"default", "namespace", "annotation", "override"}) {
        auto it = t.limitsApplied.find(src);
        w.sample("iopslimit_limits_applied_total", {{"source", src}}, it == t.limitsApplied.end() ? 0 : it->second);
    }
    w.family("iopslimit_policy_clamps_total", "counter",
             "Pod annotation requests the policy changed, by what bounded them (POD_MAX_IOPS, POD_MIN_READ_BPS, …, "
             "namespace); counted once per container and change.");
    for (const auto& [reason, n] : t.clamps) w.sample("iopslimit_policy_clamps_total", {{"reason", reason}}, n);
    int clamped = 0;
    for (const auto& c : last.containers) clamped += !c.entry.clamps.empty();
    w.family("iopslimit_clamped_containers", "gauge", "Containers whose limit the policy bounds, at the last pass.");
    w.sample("iopslimit_clamped_containers", {}, clamped);
    w.family("iopslimit_adaptive_limits", "gauge",
             "Adaptive limits in force per container (tighter than its static limit while its disk is contended).");
    for (const auto& c : last.containers) {
        const auto& e = c.entry;
        if (e.source != core::LimitSource::Adaptive) continue;
        static constexpr const char* kinds[] = {"read_iops", "write_iops", "read_bps", "write_bps"};
        for (int d = 0; d < 4; ++d) {
            uint64_t v = core::limitOf(e.limits, static_cast<core::Direction>(d));
            if (v && v != core::limitOf(e.staticLimits, static_cast<core::Direction>(d)))
                w.sample("iopslimit_adaptive_limits",
                         {{"namespace", e.ns}, {"pod", e.pod}, {"container", e.container}, {"limit", kinds[d]}}, static_cast<double>(v));
        }
    }
    w.family("iopslimit_adaptive_actions_total", "counter", "Adaptive limit changes, by kind: tighten, loosen, release, forget.");
    for (const char* k : {"tighten", "loosen", "release", "forget"}) {
        auto it = t.adaptiveActions.find(k);
        w.sample("iopslimit_adaptive_actions_total", {{"kind", k}}, it == t.adaptiveActions.end() ? 0 : it->second);
    }
    if (s.adaptive() && s.adaptive()->running()) {
        w.family("iopslimit_disk_pressure", "gauge",
                 "PSI full over the last adaptive window (percent of it) that decides whether a data disk is contended: "
                 "the kubepods cgroup's, or the system's.");
        w.family("iopslimit_disk_busy_percent", "gauge", "Share of the last adaptive window the data disk had IO in flight.");
        for (const auto& d : s.adaptive()->disks()) {
            if (d.pressureKnown)
                w.sample("iopslimit_disk_pressure", {{"device", d.dev.str()}, {"disk", d.name}, {"of", d.pressureOf}}, d.pressure);
            w.sample("iopslimit_disk_busy_percent", {{"device", d.dev.str()}, {"disk", d.name}}, d.utilisation);
        }
    }
    w.family("iopslimit_apply_errors_total", "counter", "Limits that could not be read or written, by cause.");
    for (const char* cause : kCauses) {
        auto it = t.applyErrors.find(cause);
        w.sample("iopslimit_apply_errors_total", {{"cause", cause}}, it == t.applyErrors.end() ? 0 : it->second);
    }
    w.family("iopslimit_reconcile_duration_seconds", "histogram",
             "Time of a full reconcile: fetching the pods (when polled) and applying the plan.");
    w.histogram("iopslimit_reconcile_duration_seconds", {}, t.reconcileSeconds);

    w.family("iopslimit_new_containers_total", "counter",
             "Container cgroups seen appearing (inotify), by whether the pod data knew the container.");
    for (const char* k : {"known", "unknown"}) {
        auto it = t.newContainers.find(k);
        w.sample("iopslimit_new_containers_total", {{"pod_data", k}}, it == t.newContainers.end() ? 0 : it->second);
    }
    w.family("iopslimit_new_container_apply_duration_seconds", "histogram",
             "From reading a new container cgroup's inotify event to its limit written (the daemon's share of the start latency).");
    w.histogram("iopslimit_new_container_apply_duration_seconds", {}, t.newContainerSeconds);

    w.family("iopslimit_pod_source", "gauge", "Where the last pod data came from: 1 for the live source.");
    for (const char* src : kPodSources) w.sample("iopslimit_pod_source", {{"source", src}}, core::podSourceName(engine.podSource()) == src ? 1 : 0);
    w.family("iopslimit_pod_source_last_success_timestamp_seconds", "gauge",
             "Unix time of the last pod list or watch update from each source.");
    for (const auto& [src, when] : t.sourceLastSuccess)
        w.sample("iopslimit_pod_source_last_success_timestamp_seconds", {{"source", src}}, when);
    w.family("iopslimit_pod_source_failures_total", "counter", "Failed pod fetches, by source.");
    for (const char* src : {"kubelet", "apiserver"}) {
        auto it = t.sourceFailures.find(src);
        w.sample("iopslimit_pod_source_failures_total", {{"source", src}}, it == t.sourceFailures.end() ? 0 : it->second);
    }
    if (s.watching()) {
        w.family("iopslimit_watch_up", "gauge", "1 while the API-server watch stream is open.");
        w.sample("iopslimit_watch_up", {}, s.podWatchState() == "watching" ? 1 : 0);
    }
    w.family("iopslimit_watch_restarts_total", "counter", "API-server watch streams re-opened (410 relists, broken or stalled streams).");
    w.sample("iopslimit_watch_restarts_total", {}, s.watchRestarts());

    // Per-container IO, read now. Counters: let Prometheus take the rate.
    auto io = sampleContainers(last.containers, s.setup().cgroups, s.setup().devices);
    const bool v2 = s.setup().cgroups.version == core::CgroupVersion::V2;
    w.family("iopslimit_container_io_ops_total", "counter",
             v2 ? "IOs completed per container on each throttled disk (io.stat rios/wios)."
                : "IOs per container on each throttled disk (blkio.throttle.io_serviced).");
    for (const auto& c : io)
        for (const auto& [dev, cnt] : c.devices) {
            std::string d = dev.str();
            Labels l{{"namespace", c.ns}, {"pod", c.pod}, {"container", c.container}, {"device", d}};
            l.emplace_back("op", "read");
            w.sample("iopslimit_container_io_ops_total", l, static_cast<double>(cnt.readIos));
            l.back().second = "write";
            w.sample("iopslimit_container_io_ops_total", l, static_cast<double>(cnt.writeIos));
        }
    w.family("iopslimit_container_io_bytes_total", "counter", "Bytes per container on each throttled disk.");
    for (const auto& c : io)
        for (const auto& [dev, cnt] : c.devices) {
            std::string d = dev.str();
            Labels l{{"namespace", c.ns}, {"pod", c.pod}, {"container", c.container}, {"device", d}};
            l.emplace_back("op", "read");
            w.sample("iopslimit_container_io_bytes_total", l, static_cast<double>(cnt.readBytes));
            l.back().second = "write";
            w.sample("iopslimit_container_io_bytes_total", l, static_cast<double>(cnt.writeBytes));
        }
    if (v2) {
        w.family("iopslimit_container_io_pressure_some_avg10", "gauge",
                 "Share of the last 10 s (percent) in which some task of the container waited for IO (io.pressure).");
        for (const auto& c : io)
            if (c.pressure)
                w.sample("iopslimit_container_io_pressure_some_avg10",
                         {{"namespace", c.ns}, {"pod", c.pod}, {"container", c.container}}, c.pressure->someAvg10);
        w.family("iopslimit_container_io_pressure_some_seconds_total", "counter",
                 "Total time some task of the container waited for IO (io.pressure some total).");
        for (const auto& c : io)
            if (c.pressure)
                w.sample("iopslimit_container_io_pressure_some_seconds_total",
                         {{"namespace", c.ns}, {"pod", c.pod}, {"container", c.container}},
                         static_cast<double>(c.pressure->someTotalUsec) / 1e6);
        w.family("iopslimit_container_io_pressure_full_seconds_total", "counter",
                 "Total time all tasks of the container waited for IO (io.pressure full total).");
        for (const auto& c : io)
            if (c.pressure)
                w.sample("iopslimit_container_io_pressure_full_seconds_total",
                         {{"namespace", c.ns}, {"pod", c.pod}, {"container", c.container}},
                         static_cast<double>(c.pressure->fullTotalUsec) / 1e6);
    }
    int unreadable = 0;
    for (const auto& c : io) unreadable += !c.error.empty();
    w.family("iopslimit_container_io_unreadable", "gauge", "Containers whose IO counters could not be read at this scrape.");
    w.sample("iopslimit_container_io_unreadable", {}, unreadable);

    processMetrics(w, t.startTime);
    return w.text();
}

}  // namespace iopslimit::daemon
