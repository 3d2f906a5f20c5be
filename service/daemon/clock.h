#pragma once
// The clock port: monotonic time for durations and deadlines, wall time for what is shown to
// people (LastSyncUSec, metrics timestamps). Tests use a fake that they move by hand.
#include <chrono>

namespace iopslimit::daemon {

class Clock {
public:
    using Steady = std::chrono::steady_clock;
    using Wall = std::chrono::system_clock;
    virtual ~Clock() = default;
    virtual Steady::time_point now() const = 0;
    virtual Wall::time_point wallNow() const = 0;
};

class SystemClock : public Clock {
public:
    Steady::time_point now() const override { return Steady::now(); }
    Wall::time_point wallNow() const override { return Wall::now(); }
};

inline double secondsBetween(Clock::Steady::time_point a, Clock::Steady::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

inline double unixSeconds(Clock::Wall::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace iopslimit::daemon
