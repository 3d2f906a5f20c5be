#include "daemon/manager_bus.h"

#include "core/quantity.h"
#include "iopslimit_version.h"

namespace iopslimit::daemon {

namespace {

constexpr const char* kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
constexpr const char* kFailed = "org.freedesktop.DBus.Error.Failed";

// A Kubernetes namespace or pod name: DNS-1123 subdomain, at most 253 characters.
bool validName(const std::string& s) {
    if (s.empty() || s.size() > 253) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
    return true;
}

}  // namespace

ManagerObject::ManagerObject(sdbus::IConnection& bus, Service& service, std::function<std::string()> resync,
                             std::function<std::string()> reload, std::function<void(StatsSampler::Reply)> stats)
    : AdaptorInterfaces(bus, kObjectPath), service_(service), resync_(std::move(resync)), reload_(std::move(reload)),
      stats_(std::move(stats)) {
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

std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string, std::string, uint64_t, uint64_t,
                          uint64_t, uint64_t, std::string, std::string>>
ManagerObject::ListContainers() {
    std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string, std::string, uint64_t,
                              uint64_t, uint64_t, uint64_t, std::string, std::string>>
        out;
    for (const auto& c : service_.last().containers) {
        const auto& e = c.entry;
        std::string target = c.cgroup.empty() ? e.cgroup : c.cgroup;
        auto leaf = target.substr(target.rfind('/') + 1);
        if (service_.backend() == "systemd" && leaf.size() > 6 && leaf.ends_with(".scope")) target = leaf;
        out.emplace_back(e.ns, e.pod, e.container, e.containerId.id, target, std::string(core::sourceName(e.source)),
                         e.limits.readIops, e.limits.writeIops, e.limits.readBps, e.limits.writeBps,
                         std::string(publicStateName(c.state)), c.message);
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
    if (!validName(ns) || !validName(pod)) throw sdbus::Error(kInvalidArgs, "namespace and pod must be Kubernetes names");
    return service_.explain(ns, pod);
}

void ManagerObject::SetPodOverride(const std::string& ns, const std::string& pod, const uint64_t& readIops,
                                   const uint64_t& writeIops, const uint64_t& readBps, const uint64_t& writeBps) {
    requireRoot("SetPodOverride");
    if (!validName(ns) || !validName(pod)) throw sdbus::Error(kInvalidArgs, "namespace and pod must be Kubernetes names");
    for (uint64_t v : {readIops, writeIops, readBps, writeBps})
        if (v > core::kMaxLimitValue) throw sdbus::Error(kInvalidArgs, "limit " + std::to_string(v) + " is too large");
    auto st = service_.setOverride(ns, pod, core::Limits{readIops, writeIops, readBps, writeBps});
    if (!st) throw sdbus::Error(kFailed, "Failed to save override: " + st.error().message);
    if (auto err = resync_(); !err.empty()) throw sdbus::Error(kFailed, "Override saved, but reconcile failed: " + err);
}

void ManagerObject::ClearPodOverride(const std::string& ns, const std::string& pod) {
    requireRoot("ClearPodOverride");
    if (!validName(ns) || !validName(pod)) throw sdbus::Error(kInvalidArgs, "namespace and pod must be Kubernetes names");
    auto r = service_.clearOverride(ns, pod);
    if (!r) throw sdbus::Error(kFailed, "Failed to save overrides: " + r.error().message);
    if (!*r) throw sdbus::Error(kInvalidArgs, "no override for pod " + ns + "/" + pod);
    if (auto err = resync_(); !err.empty()) throw sdbus::Error(kFailed, "Override cleared, but reconcile failed: " + err);
}

std::vector<sdbus::Struct<std::string, std::string, uint64_t, uint64_t, uint64_t, uint64_t>> ManagerObject::ListOverrides() {
    std::vector<sdbus::Struct<std::string, std::string, uint64_t, uint64_t, uint64_t, uint64_t>> out;
    for (const auto& [key, l] : service_.overrides()) {
        auto slash = key.find('/');
        out.emplace_back(key.substr(0, slash), key.substr(slash + 1), l.readIops, l.writeIops, l.readBps, l.writeBps);
    }
    return out;
}

void ManagerObject::Resync() {
    requireRoot("Resync");
    if (auto err = resync_(); !err.empty()) throw sdbus::Error(kFailed, err);
}

void ManagerObject::Reload() {
    requireRoot("Reload");
    if (auto err = reload_(); !err.empty()) throw sdbus::Error(kFailed, err);
}

std::string ManagerObject::Version() { return IOPSLIMIT_VERSION; }
std::string ManagerObject::NodeName() { return service_.config().nodeName; }
std::string ManagerObject::CgroupVersion() { return std::string(core::versionName(service_.cgroups().version)); }
std::string ManagerObject::CgroupDriver() { return std::string(core::driverName(service_.cgroups().layout.driver)); }
std::string ManagerObject::Backend() { return service_.backend(); }
std::string ManagerObject::Runtime() { return service_.config().containerRuntime; }

std::vector<sdbus::Struct<std::string, std::string, std::string>> ManagerObject::Devices() {
    std::vector<sdbus::Struct<std::string, std::string, std::string>> out;
    for (const auto& d : service_.devices()) out.emplace_back(d.mountPoint, "/dev/" + d.name, d.dev.str());
    return out;
}

sdbus::Struct<uint64_t, uint64_t, uint64_t, uint64_t> ManagerObject::DefaultLimits() {
    const auto& l = service_.config().defaults;
    return {l.readIops, l.writeIops, l.readBps, l.writeBps};
}

std::string ManagerObject::PodSource() { return service_.podSource(); }
uint64_t ManagerObject::LastSyncUSec() { return service_.lastSyncUsec(); }
uint32_t ManagerObject::ManagedContainers() { return service_.managedContainers(); }

void ManagerObject::emitApplied(const ContainerStatus& s) {
    const auto& e = s.entry;
    emitLimitApplied(e.ns, e.pod, e.container, e.containerId.id, s.cgroup, e.limits.readIops, e.limits.writeIops,
                     e.limits.readBps, e.limits.writeBps);
}

void ManagerObject::emitFailed(const ContainerStatus& s) {
    const auto& e = s.entry;
    emitLimitFailed(e.ns, e.pod, e.container, e.containerId.id, s.message);
}

void ManagerObject::emitStateChanged() {
    std::vector<std::string> changed;
    if (service_.podSource() != lastPodSource_) changed.push_back("PodSource");
    if (service_.lastSyncUsec() != lastSync_) changed.push_back("LastSyncUSec");
    if (service_.managedContainers() != lastManaged_) changed.push_back("ManagedContainers");
    lastPodSource_ = service_.podSource();
    lastSync_ = service_.lastSyncUsec();
    lastManaged_ = service_.managedContainers();
    if (!changed.empty()) emitPropertiesChangedSignal(io::iopslimit1::Manager_adaptor::INTERFACE_NAME, changed);
}

}  // namespace iopslimit::daemon
