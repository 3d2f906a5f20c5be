#pragma once
// Adaptive limits, the daemon's side (core/adaptive.h decides): every second the data disks' IO
// pressure (PSI full avg10 of the kubepods cgroup on cgroup v2, else /proc/pressure/io) and
// utilisation (/sys/block/<disk>/stat); at the end of each window every container's IO on them
// (io.stat / blkio counters), then one decision step. Changes are re-planned at once by the
// daemon. Nothing runs while ADAPTIVE_LIMITS is off.
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
    // The latest reading per data disk (for the metrics), including pressure between windows.
    const std::vector<core::DiskWindow>& disks() const { return latest_; }
    bool running() const { return timer_ != 0; }

private:
    void sample();
    void endWindow();
    std::optional<double> pressure(std::string& of) const;

    EventLoop& loop_;
    Engine& engine_;
    const Clock& clock_;
    Changed changed_;
    const Setup* setup_ = nullptr;
    core::AdaptiveConfig cfg_;
    uint64_t timer_ = 0;
    Clock::Steady::time_point windowStart_{};
    std::map<core::DevNum, double> minPressure_;   // over the window
    std::map<core::DevNum, std::pair<uint64_t, Clock::Steady::time_point>> busyMs_;  // io_ticks at the window start
    std::map<std::string, std::map<core::DevNum, core::IoCounters>> counters_;  // at the window start
    std::vector<core::DiskWindow> latest_;
    bool pressureKnown_ = true;
};

}  // namespace iopslimit::daemon
