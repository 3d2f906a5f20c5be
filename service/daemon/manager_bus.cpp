#include "daemon/manager_bus.h"

#include "core/quantity.h"
#include "daemon/daemon.h"
#include "iopslimit_version.h"

namespace iopslimit::daemon {

namespace {

constexpr const char* kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
constexpr const char* kFailed = "org.freedesktop.DBus.Error.Failed";

}  // namespace

ManagerObject::ManagerObject(sdbus::IConnection& bus, Daemon& daemon, std::function<void(StatsSampler::Reply)> stats)
    : AdaptorInterfaces(bus, kObjectPath), daemon_(daemon), stats_(std::move(stats)) {
    registerAdaptor();
}

ManagerObject::~ManagerObject() { unregisterAdaptor(); }

void ManagerObject::requireRoot(const char* method) {
    // The bus policy already restricts these; check again so a loose policy cannot open them.
    const sdbus::Message* msg = getObject().getCurrentlyProcessedMessage();
    // The effective uid the bus itself vouches for: no /proc lookup of the sender's PID, which
    // fails (or finds another process) when the bus sits in another PID namespace.
    uid_t uid;
    try {
        uid = msg->getCredsEuid();
    } catch (const sdbus::Error&) {
        throw sdbus::Error(kAccessDenied, std::string(method) + ": cannot determine the caller's uid");
    }
    if (uid != 0) throw sdbus::Error(kAccessDenied, std::string(method) + " is allowed for root only (caller uid " + std::to_string(uid) + ")");
}

std::vector<ManagerObject::ContainerRow> ManagerObject::ListContainers() {
    std::vector<ContainerRow> out;
    for (const auto& c : daemon_.engine().last().containers) {
        const auto& e = c.entry;
        std::string target = c.cgroup.empty() ? e.cgroup : c.cgroup;
        auto leaf = target.substr(target.rfind('/') + 1);
        if (daemon_.setup().systemdBackend() && leaf.size() > 6 && leaf.ends_with(".scope")) target = leaf;
        std::string policy;
        for (const auto& cl : e.clamps) policy += (policy.empty() ? "" : "; ") + cl.describe();
        if (!e.adaptiveReason.empty()) policy += (policy.empty() ? "adaptive: " : "; adaptive: ") + e.adaptiveReason;
        out.emplace_back(e.ns, e.pod, e.container, e.containerId.id, target, std::string(core::sourceName(e.source)),
                         e.limits.readIops, e.limits.writeIops, e.limits.readBps, e.limits.writeBps,
                         std::string(core::publicStateName(c.state)), c.message, policy);
    }
    return out;
}

void ManagerObject::ListContainerStats(sdbus::Result<std::vector<StatsRow>, uint64_t>&& result) {
    // Moved into the reply callback, which may run on a later loop iteration.
    auto pending = std::make_shared<sdbus::Result<std::vector<StatsRow>, uint64_t>>(std::move(result));
    stats_([pending](const StatsSampler::Rows& rows, std::chrono::microseconds window) {
        std::vector<StatsRow> out;
        out.reserve(rows.size());
        for (const auto& r : rows) {
            const auto& io = r.io;
            double ri = -1, wi = -1, rb = -1, wb = -1;
            if (r.rates) ri = r.rates->readIops, wi = r.rates->writeIops, rb = r.rates->readBps, wb = r.rates->writeBps;
            out.emplace_back(io.ns, io.pod, io.container, io.id, ri, wi, rb, wb,
                             io.pressure ? io.pressure->someAvg10 : -1.0, io.limits.readIops, io.limits.writeIops,
                             io.limits.readBps, io.limits.writeBps);
        }
        try {
            pending->returnResults(out, static_cast<uint64_t>(window.count()));
        } catch (const sdbus::Error&) {
            // the caller went away
        }
    });
}

std::string ManagerObject::Explain(const std::string& ns, const std::string& pod) {
    if (!core::isDnsSubdomain(ns) || !core::isDnsSubdomain(pod)) throw sdbus::Error(kInvalidArgs, "namespace and pod must be Kubernetes names");
    return daemon_.engine().explain(ns, pod);
}

void ManagerObject::SetPodOverride(const std::string& ns, const std::string& pod, const uint64_t& readIops,
                                   const uint64_t& writeIops, const uint64_t& readBps, const uint64_t& writeBps) {
    requireRoot("SetPodOverride");
    if (!core::isDnsSubdomain(ns) || !core::isDnsSubdomain(pod)) throw sdbus::Error(kInvalidArgs, "namespace and pod must be Kubernetes names");
    for (uint64_t v : {readIops, writeIops, readBps, writeBps})
        if (v > core::kMaxLimitValue) throw sdbus::Error(kInvalidArgs, "limit " + std::to_string(v) + " is too large");
    auto st = daemon_.setOverride(ns, pod, core::Limits{readIops, writeIops, readBps, writeBps});
    if (!st) throw sdbus::Error(kFailed, "Failed to save override: " + st.error().message);
    daemon_.replan();  // in force on the pods known now; no fetch (a hung kubelet cannot delay it)
}

void ManagerObject::ClearPodOverride(const std::string& ns, const std::string& pod) {
    requireRoot("ClearPodOverride");
    if (!core::isDnsSubdomain(ns) || !core::isDnsSubdomain(pod)) throw sdbus::Error(kInvalidArgs, "namespace and pod must be Kubernetes names");
    auto r = daemon_.clearOverride(ns, pod);
    if (!r) throw sdbus::Error(kFailed, "Failed to save overrides: " + r.error().message);
    if (!*r) throw sdbus::Error(kInvalidArgs, "no override for pod " + ns + "/" + pod);
    daemon_.replan();
}

std::vector<sdbus::Struct<std::string, std::string, uint64_t, uint64_t, uint64_t, uint64_t>> ManagerObject::ListOverrides() {
    std::vector<sdbus::Struct<std::string, std::string, uint64_t, uint64_t, uint64_t, uint64_t>> out;
    for (const auto& [key, l] : daemon_.overrides()) {
        auto slash = key.find('/');
        out.emplace_back(key.substr(0, slash), key.substr(slash + 1), l.readIops, l.writeIops, l.readBps, l.writeBps);
    }
    return out;
}

void ManagerObject::Resync(sdbus::Result<>&& result) {
    requireRoot("Resync");
    // Answered once a fetch that starts after this call has been applied; the loop, the bus and
    // new containers carry on meanwhile.
    auto pending = std::make_shared<sdbus::Result<>>(std::move(result));
    daemon_.requestResync([pending](const std::string& error) {
        try {
            if (error.empty()) pending->returnResults();
            else pending->returnError(sdbus::Error(kFailed, error));
        } catch (const sdbus::Error&) {
            // the caller went away
        }
    });
}

void ManagerObject::Reload() {
    requireRoot("Reload");
    if (auto err = daemon_.reload(); !err.empty()) throw sdbus::Error(kFailed, err);
}

std::string ManagerObject::Version() { return IOPSLIMIT_VERSION; }
std::string ManagerObject::NodeName() { return daemon_.setup().cfg.nodeName; }
std::string ManagerObject::CgroupVersion() { return std::string(core::versionName(daemon_.setup().cgroups.version)); }
std::string ManagerObject::CgroupDriver() { return std::string(core::driverName(daemon_.setup().cgroups.layout.driver)); }
std::string ManagerObject::Backend() { return std::string(core::backendName(daemon_.setup().backend)); }
std::string ManagerObject::Runtime() { return daemon_.setup().cfg.containerRuntime; }

std::vector<sdbus::Struct<std::string, std::string, std::string>> ManagerObject::Devices() {
    std::vector<sdbus::Struct<std::string, std::string, std::string>> out;
    for (const auto& d : daemon_.setup().devices) out.emplace_back(d.mountPoint, "/dev/" + d.name, d.dev.str());
    return out;
}

std::vector<sdbus::Struct<std::string, std::string>> ManagerObject::WaitingFor() {
    std::vector<sdbus::Struct<std::string, std::string>> out;
    for (const auto& [mount, why] : daemon_.setup().waiting) out.emplace_back(mount, why);
    return out;
}

void ManagerObject::emitAdaptive(const core::AdaptiveChange& c, const core::PlanEntry* e) {
    emitAdaptiveLimitChanged(e ? e->ns : "", e ? e->pod : "", e ? e->container : "", c.id,
                             std::string(core::adaptiveKindName(c.kind)), c.after.readIops, c.after.writeIops,
                             c.after.readBps, c.after.writeBps, c.reason);
}

void ManagerObject::emitDisksChanged() {
    emitPropertiesChangedSignal(io::iopslimit1::Manager_adaptor::INTERFACE_NAME, {"Devices", "WaitingFor"});
}

sdbus::Struct<uint64_t, uint64_t, uint64_t, uint64_t> ManagerObject::DefaultLimits() {
    const auto& l = daemon_.setup().cfg.defaults;
    return {l.readIops, l.writeIops, l.readBps, l.writeBps};
}

sdbus::Struct<uint64_t, uint64_t, uint64_t, uint64_t> ManagerObject::PodMaxLimits() {
    const auto& l = daemon_.setup().cfg.policy.bounds.max;
    return {l.readIops, l.writeIops, l.readBps, l.writeBps};
}

sdbus::Struct<uint64_t, uint64_t, uint64_t, uint64_t> ManagerObject::PodMinLimits() {
    const auto& l = daemon_.setup().cfg.policy.bounds.min;
    return {l.readIops, l.writeIops, l.readBps, l.writeBps};
}

std::vector<std::string> ManagerObject::TrustedNamespaces() {
    const auto& t = daemon_.setup().cfg.policy.trustedNamespaces;
    return {t.begin(), t.end()};
}

std::string ManagerObject::NamespacePolicy() { return daemon_.namespacePolicyState(); }

std::string ManagerObject::PodSource() { return std::string(core::podSourceName(daemon_.engine().podSource())); }
uint64_t ManagerObject::LastSyncUSec() { return daemon_.engine().lastSyncUsec(); }
uint32_t ManagerObject::ManagedContainers() { return daemon_.engine().managedContainers(); }

void ManagerObject::emitApplied(const core::ContainerStatus& s) {
    const auto& e = s.entry;
    emitLimitApplied(e.ns, e.pod, e.container, e.containerId.id, s.cgroup, e.limits.readIops, e.limits.writeIops,
                     e.limits.readBps, e.limits.writeBps);
}

void ManagerObject::emitFailed(const core::ContainerStatus& s) {
    const auto& e = s.entry;
    emitLimitFailed(e.ns, e.pod, e.container, e.containerId.id, s.message);
}

void ManagerObject::emitStateChanged() {
    std::vector<std::string> changed;
    const Engine& e = daemon_.engine();
    std::string source(core::podSourceName(e.podSource()));
    if (source != lastPodSource_) changed.push_back("PodSource");
    if (e.lastSyncUsec() != lastSync_) changed.push_back("LastSyncUSec");
    if (e.managedContainers() != lastManaged_) changed.push_back("ManagedContainers");
    lastPodSource_ = source;
    lastSync_ = e.lastSyncUsec();
    lastManaged_ = e.managedContainers();
    if (!changed.empty()) emitPropertiesChangedSignal(io::iopslimit1::Manager_adaptor::INTERFACE_NAME, changed);
}

}  // namespace iopslimit::daemon
