#pragma once
// Adaptive limits, the daemon's side (core/adaptive.h decides): once per window it reads the
// kernel's counters and compares them with the window's start: the pods' IO stall time (PSI full
// total= of the kubepods cgroup on cgroup v2, else /proc/pressure/io), each data disk's busy time
// (/sys/block/<disk>/stat io_ticks), every container's IO on them (io.stat / blkio counters) and
// its own stall time (io.pressure some total=, v2); then one decision step. Counters, not PSI's
// avg10: the share of exactly this window, as PSI's own triggers measure, without avg10's lag.
// Changes are re-planned at once by the daemon. Nothing runs while ADAPTIVE_LIMITS is off.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/adaptive.h"
#include "daemon/clock.h"
#include "daemon/engine.h"
#include "daemon/event_loop.h"
#include "daemon/io_sampler.h"

namespace iopslimit::daemon {

class AdaptiveController {
public:
    using Changed = std::function<void(const std::vector<core::AdaptiveChange>&)>;
    AdaptiveController(EventLoop& loop, Engine& engine, const Clock& clock, Changed changed)
        : loop_(loop), engine_(engine), clock_(clock), changed_(std::move(changed)) {}
    ~AdaptiveController() { stop(); }
    // At start and after a reload: runs while the setup's ADAPTIVE_LIMITS is on.
    void configure(const Setup& setup);
    void stop();
    // Per data disk, the last complete window (for the metrics).
    const std::vector<core::DiskWindow>& disks() const { return latest_; }
    bool running() const { return timer_ != 0; }

private:
    void endWindow();
    std::optional<core::Pressure> pressure(std::string& of) const;

    EventLoop& loop_;
    Engine& engine_;
    const Clock& clock_;
    Changed changed_;
    const Setup* setup_ = nullptr;
    core::AdaptiveConfig cfg_;
    uint64_t timer_ = 0;
    Clock::Steady::time_point windowStart_{};
    // At the window's start:
    std::optional<std::pair<std::string, uint64_t>> fullUsec_;  // whose PSI ("kubepods", "system"), full total=
    std::map<core::DevNum, uint64_t> busyMs_;                    // io_ticks per data disk
    std::map<std::string, std::map<core::DevNum, core::IoCounters>> counters_;  // by container ID
    std::map<std::string, uint64_t> someUsec_;                   // by container ID: its io.pressure some total=
    std::vector<core::DiskWindow> latest_;
    bool pressureKnown_ = true;
};

}  // namespace iopslimit::daemon
