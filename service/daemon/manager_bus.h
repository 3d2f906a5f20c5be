#pragma once
// The io.iopslimit1.Manager object: the generated adaptor (from dbus/io.iopslimit1.Manager.xml)
// bound to the Daemon. Only the bus edge lives here: argument checks, the caller's uid, errors.
#include <sdbus-c++/sdbus-c++.h>

#include <functional>

#include "core/adaptive.h"
#include "core/reconcile.h"
#include "daemon/stats_sampler.h"
#include "iopslimit1_adaptor.h"

namespace iopslimit::daemon {

class Daemon;

inline constexpr const char* kBusName = "io.iopslimit1";
inline constexpr const char* kObjectPath = "/io/iopslimit1";

class ManagerObject : public sdbus::AdaptorInterfaces<io::iopslimit1::Manager_adaptor, sdbus::Properties_adaptor> {
public:
    // stats: hands a reply callback to the StatsSampler (answered now or after a short window).
    ManagerObject(sdbus::IConnection& bus, Daemon& daemon, std::function<void(StatsSampler::Reply)> stats);
    ~ManagerObject();

    void emitApplied(const core::ContainerStatus& s);
    void emitFailed(const core::ContainerStatus& s);
    void emitStateChanged();
    void emitDisksChanged();  // Devices, WaitingFor
    void emitAdaptive(const core::AdaptiveChange& c, const core::PlanEntry* e);

private:
    void requireRoot(const char* method);
    using ContainerRow = sdbus::Struct<std::string, std::string, std::string, std::string, std::string, std::string,
                                       uint64_t, uint64_t, uint64_t, uint64_t, std::string, std::string, std::string>;
    std::vector<ContainerRow> ListContainers() override;
    using StatsRow = sdbus::Struct<std::string, std::string, std::string, std::string, double, double, double, double,
                                   double, uint64_t, uint64_t, uint64_t, uint64_t>;
    void ListContainerStats(sdbus::Result<std::vector<StatsRow>, uint64_t>&& result) override;
    std::string Explain(const std::string& ns, const std::string& pod) override;
    void SetPodOverride(const std::string& ns, const std::string& pod, const uint64_t& readIops,
                        const uint64_t& writeIops, const uint64_t& readBps, const uint64_t& writeBps) override;
    void ClearPodOverride(const std::string& ns, const std::string& pod) override;
    std::vector<sdbus::Struct<std::string, std::string, uint64_t, uint64_t, uint64_t, uint64_t>> ListOverrides() override;
    void Resync(sdbus::Result<>&& result) override;
    void Reload() override;

    std::string Version() override;
    std::string NodeName() override;
    std::string CgroupVersion() override;
    std::string CgroupDriver() override;
    std::string Backend() override;
    std::string Runtime() override;
    std::vector<sdbus::Struct<std::string, std::string, std::string>> Devices() override;
    std::vector<sdbus::Struct<std::string, std::string>> WaitingFor() override;
    sdbus::Struct<uint64_t, uint64_t, uint64_t, uint64_t> DefaultLimits() override;
    std::string PodSource() override;
    uint64_t LastSyncUSec() override;
    uint32_t ManagedContainers() override;
    sdbus::Struct<uint64_t, uint64_t, uint64_t, uint64_t> PodMaxLimits() override;
    sdbus::Struct<uint64_t, uint64_t, uint64_t, uint64_t> PodMinLimits() override;
    std::vector<std::string> TrustedNamespaces() override;
    std::string NamespacePolicy() override;

    Daemon& daemon_;
    std::function<void(StatsSampler::Reply)> stats_;
    std::string lastPodSource_;
    uint64_t lastSync_ = 0;
    uint32_t lastManaged_ = 0;
};

}  // namespace iopslimit::daemon
