#pragma once
// A small poll(2) loop: file descriptors and one-shot timers, all handled on one thread, so the
// core state needs no locks. The bus connection and signalfd plug in as fds.
#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace iopslimit::daemon {

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    using Handler = std::function<void()>;

    void addFd(int fd, short events, Handler h);
    void removeFd(int fd);
    uint64_t addTimer(std::chrono::milliseconds delay, Handler h);
    void cancelTimer(uint64_t id);
    // Extra poll sources whose fd/events/timeout change between iterations (sd-bus).
    struct Dynamic {
        std::function<void(int& fd, short& events, int& timeoutMs)> prepare;
        Handler dispatch;
    };
    void addDynamic(Dynamic d) { dynamic_.push_back(std::move(d)); }

    void run();
    void stop() { stopped_ = true; }
    bool stopped() const { return stopped_; }

private:
    struct Timer {
        Clock::time_point due;
        Handler h;
    };
    std::map<int, std::pair<short, Handler>> fds_;
    std::map<uint64_t, Timer> timers_;
    std::vector<Dynamic> dynamic_;
    uint64_t nextTimer_ = 1;
    bool stopped_ = false;
};

}  // namespace iopslimit::daemon
