#pragma once
// API-server list + watch of this node's pods (kube/list_watch.h does the watching). It only
// produces updates into a queue and wakes the event loop; all state is applied on the loop.
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
#include "kube/list_watch.h"

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
    void start() { watch_.start(); }
    void stop() { watch_.stop(); }

    std::vector<WatchUpdate> drain();
    std::string state() const { return watch_.state(); }  // "connecting" | "watching" | "retrying in …"
    unsigned restarts() const { return watch_.restarts(); }

private:
    void push(WatchUpdate u);

    std::string nodeName_;
    std::function<void()> wake_;
    std::mutex m_;
    std::vector<WatchUpdate> queue_;
    ListWatch watch_;  // last: its thread stops before the queue goes
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
