#pragma once
// An API-server list + watch on a thread of its own (libcurl blocks), for any kind: the caller's
// hooks decode and queue what arrives, the loop here does the rest. 410 (either wording: keyed on
// the code) relists; broken, truncated or silent streams reconnect with capped exponential backoff
// and jitter (0.5 s … 30 s, ±25 %); bookmarks keep the resourceVersion fresh.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/config.h"
#include "core/pod.h"
#include "core/result.h"
#include "kube/http_client.h"

namespace iopslimit::kube {

class ListWatch {
public:
    // What one line of the watch stream was.
    struct Line {
        enum class Kind { Event, Bookmark, Gone, Error } kind = Kind::Error;
        std::string resourceVersion;  // Event, Bookmark
        std::string error;            // Error: why the stream is dropped
        // What a decoded watch line means, whatever its kind of object: an ERROR (410: relist;
        // anything else: drop the stream), a BOOKMARK, or an event to hand over.
        static Line of(core::WatchEvent::Type type, int code, const std::string& message, std::string resourceVersion);
    };
    struct Hooks {
        std::string url;  // the list URL; the watch adds &watch=1…
        // Lists (a fresh snapshot for the caller); returns the list's resourceVersion.
        std::function<core::Result<std::string>(HttpGetter& http, const HttpRequest& req)> list;
        // Decodes one line and hands an event to the caller.
        std::function<Line(std::string_view line)> line;
    };
    // http must be safe to use from the watch thread and outlive the watch.
    ListWatch(const core::Config& cfg, HttpGetter& http, Hooks hooks);
    ~ListWatch();
    ListWatch(const ListWatch&) = delete;
    ListWatch& operator=(const ListWatch&) = delete;
    void start();
    void stop();
    std::string state() const;  // "connecting" | "watching" | "retrying in N ms: <why>" | …
    unsigned restarts() const { return restarts_; }

private:
    void run();
    bool listOnce();
    bool watchOnce();  // true: watch again from the resourceVersion; false: relist
    void setState(std::string s);
    bool sleepFor(std::chrono::milliseconds d);

    HttpRequest base_;
    HttpGetter& http_;
    Hooks hooks_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<unsigned> restarts_{0};
    mutable std::mutex m_;
    std::condition_variable cv_;
    std::string state_ = "connecting";
    std::string rv_;
    unsigned failures_ = 0;
    long stallSec_;
};

// The base request for the API server of cfg (TLS, token, timeouts).
HttpRequest apiServerRequest(const core::Config& cfg);

}  // namespace iopslimit::kube
