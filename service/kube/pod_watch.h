#pragma once
// API-server list + watch of this node's pods, on a thread of its own (libcurl blocks). It only
// produces updates into a queue and wakes the event loop; all state is applied on the loop.
// 410 (either wording: keyed on the code) relists; broken, truncated or silent streams
// reconnect with capped exponential backoff and jitter; bookmarks keep the resourceVersion fresh.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/pod.h"
#include "kube/http_client.h"

namespace iopslimit::kube {

struct WatchUpdate {
    bool snapshot = false;          // a fresh list: replaces every pod
    std::vector<core::Pod> pods;    // snapshot content
    std::vector<core::WatchEvent> events;
};

class PodWatch {
public:
    // wake() is called from the watch thread whenever updates are queued. http must be safe to
    // use from the watch thread and outlive the watch.
    PodWatch(const core::Config& cfg, HttpGetter& http, std::function<void()> wake);
    ~PodWatch();
    void start();
    void stop();

    std::vector<WatchUpdate> drain();
    std::string state() const;  // "connecting" | "watching" | "retrying in Ns: <error>"
    unsigned restarts() const { return restarts_; }

private:
    void run();
    bool listOnce();
    // Returns true to watch again from the current resourceVersion, false to relist.
    bool watchOnce();
    void push(WatchUpdate u);
    void setState(std::string s);
    bool sleepFor(std::chrono::milliseconds d);

    HttpRequest base_;
    std::string listUrl_, nodeName_;
    std::function<void()> wake_;
    HttpGetter& http_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<unsigned> restarts_{0};
    mutable std::mutex m_;
    std::condition_variable cv_;
    std::vector<WatchUpdate> queue_;
    std::string state_ = "connecting";
    std::string rv_;
    unsigned failures_ = 0;
    long stallSec_;
};

// The node's pods as the watch told them: a snapshot replaces everything, events add, change
// and delete (loop thread).
class WatchedPods {
public:
    // Returns the number of events among the updates.
    size_t apply(std::vector<WatchUpdate> updates);
    core::PodList list() const;
    void clear() { byUid_.clear(); }

private:
    std::map<std::string, core::Pod> byUid_;
};

}  // namespace iopslimit::kube
