#pragma once
// On-demand IO rates for the D-Bus API: a request reads every container's counters and answers
// with the rates since the previous read. Nothing is sampled while nobody asks; after a long
// pause the first request measures a fresh 1 s window on a loop timer (the loop keeps running
// meanwhile; the kernel's throttling works in 100 ms slices, so shorter windows of a throttled
// container read up to ±40 % off), and requests within 250 ms of each other share one answer.
#include <chrono>
#include <functional>
#include <vector>

#include "daemon/event_loop.h"
#include "daemon/io_sampler.h"

namespace iopslimit::daemon {

class StatsSampler {
public:
    using Rows = std::vector<RateTracker::Row>;
    using Reply = std::function<void(const Rows&, std::chrono::microseconds window)>;
    static constexpr std::chrono::milliseconds kMinWindow{250};
    static constexpr std::chrono::milliseconds kFreshWindow{1000};
    static constexpr std::chrono::seconds kMaxWindow{10};

    StatsSampler(EventLoop& loop, std::function<std::vector<ContainerIo>()> sample)
        : loop_(loop), sample_(std::move(sample)) {}
    ~StatsSampler();
    void request(Reply reply);

private:
    void finish();

    EventLoop& loop_;
    std::function<std::vector<ContainerIo>()> sample_;
    RateTracker tracker_;
    Rows cached_;
    bool haveCached_ = false;
    std::vector<Reply> pending_;
    uint64_t timer_ = 0;
};

}  // namespace iopslimit::daemon
