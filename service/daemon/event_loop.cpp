#include "daemon/event_loop.h"

#include <cerrno>
#include <climits>

namespace iopslimit::daemon {

void EventLoop::addFd(int fd, short events, Handler h) { fds_[fd] = {events, std::move(h)}; }
void EventLoop::removeFd(int fd) { fds_.erase(fd); }

uint64_t EventLoop::addTimer(std::chrono::milliseconds delay, Handler h) {
    uint64_t id = nextTimer_++;
    timers_[id] = Timer{Clock::now() + delay, std::move(h)};
    return id;
}

void EventLoop::cancelTimer(uint64_t id) { timers_.erase(id); }

void EventLoop::run() {
    while (!stopped_) {
        std::vector<pollfd> pfds;
        std::vector<int> kinds;  // -1: static fd, >=0: index into dynamic_
        for (const auto& [fd, v] : fds_) {
            pfds.push_back({fd, v.first, 0});
            kinds.push_back(-1);
        }
        int timeout = -1;
        auto now = Clock::now();
        for (const auto& [id, t] : timers_) {
            auto ms = std::chrono::ceil<std::chrono::milliseconds>(t.due - now).count();
            int m = ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
            if (timeout < 0 || m < timeout) timeout = m;
        }
        for (size_t i = 0; i < dynamic_.size(); ++i) {
            int fd = -1, t = -1;
            short ev = 0;
            dynamic_[i].prepare(fd, ev, t);
            if (fd >= 0) {
                pfds.push_back({fd, ev, 0});
                kinds.push_back(static_cast<int>(i));
            }
            if (t >= 0 && (timeout < 0 || t < timeout)) timeout = t;
        }
        int n = ::poll(pfds.data(), pfds.size(), timeout);
        if (n < 0 && errno != EINTR) return;
        // Dynamic sources dispatch every turn: sd-bus may hold buffered messages or expired timeouts.
        std::vector<bool> dynamicRan(dynamic_.size(), false);
        for (size_t i = 0; n > 0 && i < pfds.size() && !stopped_; ++i) {
            if (!pfds[i].revents) continue;
            if (kinds[i] < 0) {
                auto it = fds_.find(pfds[i].fd);
                if (it != fds_.end()) {
                    Handler h = it->second.second;  // copy: the handler may remove itself
                    h();
                }
            } else if (!dynamicRan[kinds[i]]) {
                dynamicRan[kinds[i]] = true;
                dynamic_[kinds[i]].dispatch();
            }
        }
        for (size_t i = 0; i < dynamic_.size() && !stopped_; ++i)
            if (!dynamicRan[i]) dynamic_[i].dispatch();
        now = Clock::now();
        std::vector<uint64_t> due;
        for (const auto& [id, t] : timers_)
            if (t.due <= now) due.push_back(id);
        for (uint64_t id : due) {
            if (stopped_) break;
            auto it = timers_.find(id);
            if (it == timers_.end()) continue;
            Handler h = std::move(it->second.h);
            timers_.erase(it);
            h();
        }
    }
}

}  // namespace iopslimit::daemon
