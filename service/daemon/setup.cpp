#include "daemon/setup.h"

#include "core/kubeconfig.h"
#include "core/quantity.h"
#include "daemon/log.h"

namespace iopslimit::daemon {

using core::makeError;

void Setup::setDataMounts(host::DataMounts m) {
    devices = std::move(m.devices);
    waiting = std::move(m.waiting);
    if (!systemdBackend()) return;  // cgroup files name the device in each line
    std::map<core::DevNum, std::string> paths;
    for (const auto& d : devices) paths[d.dev] = cfg.devRoot + "/" + d.name;
    writer = std::make_unique<host::SystemdUnitWriter>(*systemd, host::makeRawWriter(cgroups.version, cgroups.hierarchy),
                                                       std::move(paths));
}

std::string Setup::writerName() const {
    return systemdBackend() ? "systemd" : "cgroup " + std::string(core::versionName(cgroups.version)) + " files";
}

namespace {

// The API server from a kubeconfig, e.g. the kubelet's own (client certificate included).
core::Status readKubeconfig(core::Config& c) {
    if (!c.apiServer.server.empty() || c.kubeconfigPath.empty()) return core::okStatus();
    const std::string& path = c.kubeconfigPath;
    auto text = host::readFile(path);
    if (!text) {
        std::string hint = core::protectHomeHint(path);
        return makeError("Invalid configuration: KUBECONFIG=" + path + ": " + text.error().message +
                         (hint.empty() ? "" : "; " + hint));
    }
    auto slash = path.rfind('/');
    auto kc = core::parseKubeconfig(*text, slash == std::string::npos ? std::string() : path.substr(0, slash));
    if (!kc) return makeError("Invalid configuration: KUBECONFIG=" + path + ": " + kc.error().message);
    c.apiServer = *kc;
    return core::okStatus();
}

}  // namespace

core::Result<std::unique_ptr<Setup>> buildSetup(const core::Environment& env, const std::string& hostname,
                                                sdbus::IConnection* bus) {
    auto s = std::make_unique<Setup>();
    auto cfg = core::parseConfig(env, hostname);
    if (!cfg) return makeError("Invalid configuration: " + cfg.error().message);
    s->cfg = std::move(cfg).value();
    if (auto st = readKubeconfig(s->cfg); !st) return st.error();
    const core::Config& c = s->cfg;

    // A DATA_MOUNT not there yet is waited for (the daemon watches the mount table), not an error.
    auto mounts = host::resolveDataMounts(c.dataMounts, s->roots());
    s->devices = std::move(mounts.devices);
    s->waiting = std::move(mounts.waiting);
    auto cgroups = host::detectCgroups(c);
    if (!cgroups) return makeError("Failed to detect cgroups: " + cgroups.error().message);
    s->cgroups = std::move(cgroups).value();

    auto raw = host::makeRawWriter(s->cgroups.version, s->cgroups.hierarchy);
    bool systemdPossible = s->cgroups.version == core::CgroupVersion::V2 &&
                           s->cgroups.layout.driver == core::CgroupDriver::Systemd && bus != nullptr;
    if (c.backend == core::Backend::Systemd && !systemdPossible)
        return makeError(std::string("LIMIT_BACKEND=systemd needs cgroup v2, the systemd cgroup driver and the system bus") +
                         (s->cgroups.version == core::CgroupVersion::V1 ? " (systemd writes no IOPS limits on cgroup v1)" : ""));
    if (c.backend != core::Backend::Cgroupfs && systemdPossible) {
        auto mgr = std::make_unique<host::SdbusSystemdManager>(*bus);
        if (mgr->available()) {
            std::map<core::DevNum, std::string> paths;
            for (const auto& d : s->devices) paths[d.dev] = c.devRoot + "/" + d.name;
            s->systemd = std::move(mgr);
            s->writer = std::make_unique<host::SystemdUnitWriter>(*s->systemd, std::move(raw), std::move(paths));
            s->backend = core::Backend::Systemd;
        } else if (c.backend == core::Backend::Systemd) {
            return makeError("LIMIT_BACKEND=systemd but org.freedesktop.systemd1 does not answer on the system bus");
        }
    }
    if (!s->writer) {
        s->writer = std::move(raw);
        s->backend = core::Backend::Cgroupfs;
    }
    s->http = std::make_unique<kube::CurlHttpGetter>();
    s->kubelet = std::make_unique<kube::KubeletPodSource>(c, *s->http);
    if (!c.apiServer.server.empty()) s->apiserver = std::make_unique<kube::ApiServerPodSource>(c, *s->http);
    s->sources = std::make_unique<kube::PodSourceChain>(s->kubelet.get(), s->apiserver.get());
    return s;
}

void logDataDisk(const host::BlockDevice& d) {
    log::info("Data disk " + d.name + " (" + d.dev.str() + ") for " + d.mountPoint +
                  (d.fsDev == d.dev ? "" : " (file system on partition " + d.fsDevName + ")") +
                  (d.mountedAt == d.mountPoint ? "" : ": " + d.describe()),
              {{"DEVICE", d.dev.str()}});
    if (d.mountedAt == "/" && d.mountPoint != "/")
        log::warning("DATA_MOUNT " + d.mountPoint + " is on the root file system: limits apply to the root disk " +
                     d.name + " until a file system is mounted there");
}

void logSetup(const Setup& s) {
    const core::Config& c = s.cfg;
    if (c.nodeNameFromHostname) log::info("NODE_NAME not set, using the hostname: " + c.nodeName);
    if (c.kubelet.skipVerify) log::warning("KUBELET_SKIP_VERIFY is set: the kubelet's certificate is not verified");
    const auto& pol = c.policy;
    if (pol.bounds.max.unlimited() && c.apiServer.server.empty())
        log::warning("No policy bounds Pod annotations: any pod may lift its own limit (iops-limit/limit: \"0\"); set "
                     "POD_MAX_IOPS / POD_MAX_BPS, or configure the API server for namespace ceilings");
    else if (pol.bounds.any())
        log::info("Policy: pod annotations at most read " + core::limitValueString(pol.bounds.max.readIops) + " / write " +
                  core::limitValueString(pol.bounds.max.writeIops) + " IOPS, read " + core::formatBytes(pol.bounds.max.readBps) +
                  " / write " + core::formatBytes(pol.bounds.max.writeBps) + " B/s" +
                  (pol.bounds.min.unlimited() ? "" : "; at least read " + core::limitValueString(pol.bounds.min.readIops) +
                                                         " / write " + core::limitValueString(pol.bounds.min.writeIops) + " IOPS, read " +
                                                         core::formatBytes(pol.bounds.min.readBps) + " / write " +
                                                         core::formatBytes(pol.bounds.min.writeBps) + " B/s") +
                  (pol.trustedNamespaces.empty() ? "" : "; trusted namespaces not bounded"));
    for (const auto& [var, path] : core::credentialFiles(c))
        if (auto f = host::readFile(path); !f) {  // said once here; every fetch will fail on it too
            std::string hint = core::protectHomeHint(path);
            log::warning(var + "=" + path + ": cannot read it: " + f.error().message.substr(path.size() + 2) +
                         (hint.empty() ? "" : "; " + hint));
        }
    for (const auto& d : s.devices) logDataDisk(d);
    for (const auto& [mount, why] : s.waiting)
        log::warning("Waiting for DATA_MOUNT " + mount + ": " + why +
                     "; containers get their limit as soon as it is mounted");
    const auto& g = s.cgroups;
    log::info("Using " + g.note + " at " + g.hierarchy + ", " + std::string(core::driverName(g.layout.driver)) +
              " cgroup driver" + (g.layout.kubeletRoot.empty() ? "" : ", kubelet cgroup root /" + g.layout.kubeletRoot.front()) +
              "; limits via " + (s.systemdBackend() ? "systemd (SetUnitProperties)" : "cgroup files"));
}

}  // namespace iopslimit::daemon
