#pragma once
// Everything a configuration decides about this node, built in one place: the data disks, the
// cgroup hierarchy and layout, how limits are written (systemd or cgroup files) and where pods
// come from. Built at start and again on reload; a reload whose build fails keeps the old one.
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "host/block_device.h"
#include "host/cgroup_fs.h"
#include "host/limit_writers.h"
#include "host/systemd_manager.h"
#include "kube/http_client.h"
#include "kube/pod_sources.h"

namespace sdbus {
class IConnection;
}

namespace iopslimit::daemon {

struct Setup {
    core::Config cfg;
    std::vector<host::BlockDevice> devices;                    // the disks limits go to
    std::vector<std::pair<std::string, std::string>> waiting;  // DATA_MOUNTs not resolvable yet, and why
    host::CgroupSetup cgroups;
    core::Backend backend = core::Backend::Cgroupfs;  // Systemd or Cgroupfs, never Auto
    std::unique_ptr<host::SystemdManager> systemd;    // with the systemd backend
    std::unique_ptr<host::LimitWriter> writer;
    std::unique_ptr<kube::HttpGetter> http;            // shared by the fetches and the watch
    std::unique_ptr<kube::KubeletPodSource> kubelet;
    std::unique_ptr<kube::ApiServerPodSource> apiserver;  // when the API server is configured
    std::unique_ptr<kube::PodSourceChain> sources;

    bool systemdBackend() const { return backend == core::Backend::Systemd; }
    host::HostRoots roots() const { return {cfg.procRoot, cfg.sysRoot, cfg.fsRoot}; }
    host::DataMounts dataMounts() const { return {devices, waiting}; }
    // The disks changed (a late mount, a mount point now on another disk): the writer follows.
    void setDataMounts(host::DataMounts m);
    // "cgroup v2 files" / "systemd": how limits are written, for the status line.
    std::string writerName() const;
};

// env: the environment to read the configuration from; bus: the system bus (null: no systemd
// backend). Errors say what is wrong ("Invalid configuration: …", "Failed to resolve DATA_MOUNT: …").
core::Result<std::unique_ptr<Setup>> buildSetup(const core::Environment& env, const std::string& hostname,
                                                sdbus::IConnection* bus);

// A setup from parts at hand (tests, benchmarks): no pod sources; systemd only if given. Inline,
// so what uses only this does not link libcurl and sd-bus through buildSetup.
inline std::unique_ptr<Setup> setupFromParts(core::Config cfg, host::CgroupSetup cgroups,
                                             std::vector<host::BlockDevice> devices,
                                             std::unique_ptr<host::LimitWriter> writer,
                                             std::unique_ptr<host::SystemdManager> systemd = nullptr) {
    auto s = std::make_unique<Setup>();
    s->cfg = std::move(cfg);
    s->cgroups = std::move(cgroups);
    s->devices = std::move(devices);
    s->writer = std::move(writer);
    s->backend = systemd ? core::Backend::Systemd : core::Backend::Cgroupfs;
    s->systemd = std::move(systemd);
    return s;
}

// "Data disk nvme1n1 (259:0) for /data …" and a warning where it is the root file system's.
void logDataDisk(const host::BlockDevice& d);

// The startup lines: node name, data disks, cgroups, backend.
void logSetup(const Setup& s);

}  // namespace iopslimit::daemon
