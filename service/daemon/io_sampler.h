#pragma once
// Per-container IO: counters from io.stat (v2) or blkio.throttle.io_serviced/io_service_bytes
// (v1) on the throttled devices, and io.pressure (v2), for every running container of the last
// reconcile. Read on demand (a scrape, a D-Bus call): nothing runs while nobody asks.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/io_stats.h"
#include "core/reconcile.h"
#include "host/block_device.h"
#include "host/cgroup_fs.h"

namespace iopslimit::daemon {

struct ContainerIo {
    std::string ns, pod, container, id;
    core::LimitSource source = core::LimitSource::Default;
    core::Limits limits;                          // what we decided (0 = unlimited)
    std::map<core::DevNum, core::IoCounters> devices;  // the throttled devices only
    core::IoCounters total;                       // summed over them
    std::optional<core::Pressure> pressure;       // v2 only
    std::string error;                            // why the counters could not be read
};

// Reads every container of `containers` that has a cgroup (found, or derivable and present).
std::vector<ContainerIo> sampleContainers(const std::vector<core::ContainerStatus>& containers,
                                          const host::CgroupSetup& setup,
                                          const std::vector<host::BlockDevice>& devices);

// Rates between consecutive samples of the same containers.
class RateTracker {
public:
    using Clock = std::chrono::steady_clock;
    struct Row {
        ContainerIo io;
        std::optional<core::IoRates> rates;  // nullopt: no earlier sample of this container
    };
    // Feeds a sample taken at `now`; rates are over [previous sample, now].
    std::vector<Row> update(std::vector<ContainerIo> sample, Clock::time_point now);
    std::optional<Clock::time_point> lastSample() const { return last_; }
    std::chrono::microseconds window() const { return window_; }

private:
    std::map<std::string, core::IoCounters> prev_;  // container ID -> counters
    std::optional<Clock::time_point> last_;
    std::chrono::microseconds window_{0};
};

}  // namespace iopslimit::daemon
