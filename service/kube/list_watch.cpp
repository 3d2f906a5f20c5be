#include "kube/list_watch.h"

#include <random>

#include "kube/pod_sources.h"

namespace iopslimit::kube {

HttpRequest apiServerRequest(const core::Config& cfg) {
    HttpRequest r;
    r.tokenPath = cfg.apiServer.tokenPath;
    r.token = cfg.apiServer.token;
    r.tls = apiServerTls(cfg.apiServer);
    r.connectTimeoutMs = cfg.httpConnectTimeoutMs;
    r.timeoutMs = cfg.httpTimeoutMs;
    return r;
}

ListWatch::Line ListWatch::Line::of(core::WatchEvent::Type type, int code, const std::string& message,
                                    std::string resourceVersion) {
    Line line;
    if (type == core::WatchEvent::Type::Error) {
        if (code == 410) line.kind = Kind::Gone;
        else line.error = "ERROR event " + std::to_string(code) + ": " + message;
        return line;
    }
    line.resourceVersion = std::move(resourceVersion);
    line.kind = type == core::WatchEvent::Type::Bookmark ? Kind::Bookmark : Kind::Event;
    return line;
}

ListWatch::ListWatch(const core::Config& cfg, HttpGetter& http, Hooks hooks)
    : base_(apiServerRequest(cfg)), http_(http), hooks_(std::move(hooks)), stallSec_(cfg.watchStallSec) {
    base_.abort = [this] { return stopping_.load(); };
}

ListWatch::~ListWatch() { stop(); }

void ListWatch::start() {
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void ListWatch::stop() {
    stopping_ = true;
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::string ListWatch::state() const {
    std::lock_guard l(m_);
    return state_;
}

void ListWatch::setState(std::string s) {
    std::lock_guard l(m_);
    state_ = std::move(s);
}

bool ListWatch::sleepFor(std::chrono::milliseconds d) {
    std::unique_lock l(m_);
    return !cv_.wait_for(l, d, [this] { return stopping_.load(); });
}

bool ListWatch::listOnce() {
    HttpRequest req = base_;
    req.url = hooks_.url;
    auto rv = hooks_.list(http_, req);
    if (!rv) {
        setState("list failed: " + rv.error().message);
        return false;
    }
    rv_ = *rv;
    return true;
}

bool ListWatch::watchOnce() {
    HttpRequest req = base_;
    req.url = hooks_.url + (hooks_.url.find('?') == std::string::npos ? "?" : "&") +
              "watch=1&allowWatchBookmarks=true&timeoutSeconds=300" + (rv_.empty() ? "" : "&resourceVersion=" + urlEncode(rv_));
    req.timeoutMs = 0;  // a stream: only silence ends it (bookmarks arrive about once a minute)
    req.lowSpeedTimeSec = stallSec_;
    std::string partial;
    bool gone = false, bad = false;
    std::string badWhy;
    req.onBody = [&](std::string_view chunk) {
        partial.append(chunk);
        size_t start = 0, nl;
        while ((nl = partial.find('\n', start)) != std::string::npos) {
            std::string_view text(partial.data() + start, nl - start);
            start = nl + 1;
            if (text.empty()) continue;
            Line line = hooks_.line(text);
            if (line.kind == Line::Kind::Gone) {
                gone = true;
                return false;
            }
            if (line.kind == Line::Kind::Error) {
                bad = true;
                badWhy = line.error;
                return false;
            }
            if (!line.resourceVersion.empty()) rv_ = line.resourceVersion;
        }
        partial.erase(0, start);
        if (partial.size() > (64u << 20)) {
            bad = true;
            badWhy = "watch event larger than 64 MiB";
            return false;
        }
        failures_ = 0;  // data flows again
        setState("watching");
        return true;
    };
    setState("watching");
    auto resp = http_.get(req);
    if (stopping_) return true;
    ++restarts_;
    if (gone) {
        setState("relisting: resourceVersion too old (410)");
        return false;
    }
    if (bad) {
        setState("reconnecting: " + badWhy);
        ++failures_;
        return false;
    }
    if (!resp) {
        setState("reconnecting: " + resp.error().message);
        ++failures_;
        return false;
    }
    if (resp->status < 200 || resp->status > 299) {
        setState("reconnecting: " + describeHttpError(*resp));
        ++failures_;
        return false;
    }
    if (!partial.empty()) {
        setState("reconnecting: stream ended inside an event (truncated)");
        ++failures_;
        return false;
    }
    return true;  // the server closed the stream normally (timeoutSeconds): watch again
}

void ListWatch::run() {
    std::mt19937 rng(std::random_device{}());
    bool needList = true;
    while (!stopping_) {
        if (needList) {
            if (!listOnce()) {
                ++failures_;
            } else {
                needList = false;
            }
        }
        if (!needList) {
            if (watchOnce()) continue;
            needList = true;
            if (failures_ == 0) continue;  // a 410: relist at once
        }
        // Capped exponential backoff with jitter: 0.5 s, 1 s, 2 s … 30 s, each ±25 %.
        unsigned n = std::min(failures_, 7u);
        long base = std::min(500L << (n ? n - 1 : 0), 30000L);
        std::uniform_int_distribution<long> jitter(-base / 4, base / 4);
        long delay = base + jitter(rng);
        std::string prev = state();
        setState("retrying in " + std::to_string(delay) + " ms: " + prev);
        if (!sleepFor(std::chrono::milliseconds(delay))) return;
    }
}

}  // namespace iopslimit::kube
