#pragma once
// Pod fetches off the loop thread: the periodic poll and the fetch a new, unknown container
// triggers run on a worker, so a slow or hung kubelet (up to HTTP_TIMEOUT) never delays the
// limit of a new container, a D-Bus call or the watchdog. The result is handed back through
// wake() (an eventfd) and applied on the loop thread.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "kube/pod_sources.h"

namespace iopslimit::daemon {

class PodFetcher {
public:
    PodFetcher(std::function<kube::FetchResult()> fetch, std::function<void()> wake);
    ~PodFetcher();  // stops: a fetch in flight is aborted (see abortRequested) and joined
    PodFetcher(const PodFetcher&) = delete;
    PodFetcher& operator=(const PodFetcher&) = delete;

    // Asks for a fetch; requests while one runs coalesce into one more after it. Returns the
    // number of the fetch that will answer it: one started after this call.
    uint64_t request();
    struct Fetched {
        uint64_t number = 0;  // fetches are numbered from 1 in the order they start
        kube::FetchResult result;
    };
    // The latest finished fetch, if any (loop thread).
    std::optional<Fetched> take();
    bool busy() const;
    // For the pod sources' abort hook: true once the fetcher is stopping.
    bool abortRequested() const;

private:
    void run();

    std::function<kube::FetchResult()> fetch_;
    std::function<void()> wake_;
    mutable std::mutex m_;
    std::condition_variable cv_;
    bool requested_ = false, running_ = false, stopping_ = false;
    uint64_t started_ = 0;
    std::optional<Fetched> result_;
    std::thread thread_;
};

}  // namespace iopslimit::daemon
