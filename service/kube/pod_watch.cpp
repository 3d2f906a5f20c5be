#include "kube/pod_watch.h"

#include <random>

#include "kube/pod_sources.h"

namespace iopslimit::kube {

PodWatch::PodWatch(const core::Config& cfg, HttpGetter& http, std::function<void()> wake)
    : nodeName_(cfg.nodeName), wake_(std::move(wake)), http_(http), stallSec_(cfg.watchStallSec) {
    listUrl_ = cfg.apiServer.server + "/api/v1/pods?fieldSelector=" + urlEncode("spec.nodeName=" + cfg.nodeName);
    base_.tokenPath = cfg.apiServer.tokenPath;
    base_.token = cfg.apiServer.token;
    base_.tls = apiServerTls(cfg.apiServer);
    base_.connectTimeoutMs = cfg.httpConnectTimeoutMs;
    base_.timeoutMs = cfg.httpTimeoutMs;
    base_.abort = [this] { return stopping_.load(); };
}

PodWatch::~PodWatch() { stop(); }

void PodWatch::start() {
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void PodWatch::stop() {
    stopping_ = true;
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::vector<WatchUpdate> PodWatch::drain() {
    std::lock_guard l(m_);
    return std::exchange(queue_, {});
}

std::string PodWatch::state() const {
    std::lock_guard l(m_);
    return state_;
}

void PodWatch::setState(std::string s) {
    std::lock_guard l(m_);
    state_ = std::move(s);
}

void PodWatch::push(WatchUpdate u) {
    {
        std::lock_guard l(m_);
        // Bound the queue: a snapshot supersedes everything before it.
        if (u.snapshot) queue_.clear();
        queue_.push_back(std::move(u));
    }
    wake_();
}

bool PodWatch::sleepFor(std::chrono::milliseconds d) {
    std::unique_lock l(m_);
    return !cv_.wait_for(l, d, [this] { return stopping_.load(); });
}

bool PodWatch::listOnce() {
    HttpRequest req = base_;
    req.url = listUrl_;
    auto list = fetchPodList(http_, req);
    if (!list) {
        setState("list failed: " + list.error().message);
        return false;
    }
    std::erase_if(list.value().pods, [&](const core::Pod& p) { return !p.nodeName.empty() && p.nodeName != nodeName_; });
    rv_ = list->resourceVersion;
    WatchUpdate u;
    u.snapshot = true;
    u.pods = std::move(list.value().pods);
    push(std::move(u));
    return true;
}

bool PodWatch::watchOnce() {
    HttpRequest req = base_;
    req.url = listUrl_ + "&watch=1&allowWatchBookmarks=true&timeoutSeconds=300" +
              (rv_.empty() ? "" : "&resourceVersion=" + urlEncode(rv_));
    req.timeoutMs = 0;  // a stream: only silence ends it (bookmarks arrive about once a minute)
    req.lowSpeedTimeSec = stallSec_;
    std::string partial;
    bool gone = false, bad = false;
    std::string badWhy;
    req.onBody = [&](std::string_view chunk) {
        partial.append(chunk);
        size_t start = 0, nl;
        while ((nl = partial.find('\n', start)) != std::string::npos) {
            std::string_view line(partial.data() + start, nl - start);
            start = nl + 1;
            if (line.empty()) continue;
            auto ev = core::decodeWatchEvent(line);
            if (!ev) {
                bad = true;
                badWhy = ev.error().message;
                return false;
            }
            if (ev->type == core::WatchEvent::Type::Error) {
                if (ev->code == 410) gone = true;
                else {
                    bad = true;
                    badWhy = "ERROR event " + std::to_string(ev->code) + ": " + ev->message;
                }
                return false;
            }
            if (!ev->resourceVersion.empty()) rv_ = ev->resourceVersion;
            if (ev->type == core::WatchEvent::Type::Bookmark) continue;
            if (!ev->pod.nodeName.empty() && ev->pod.nodeName != nodeName_) continue;
            WatchUpdate u;
            u.events.push_back(std::move(ev).value());
            push(std::move(u));
        }
        partial.erase(0, start);
        if (partial.size() > (64u << 20)) {
            bad = true;
            badWhy = "watch event larger than 64 MiB";
            return false;
        }
        if (failures_) {
            failures_ = 0;  // data flows again
        }
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

void PodWatch::run() {
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

size_t WatchedPods::apply(std::vector<WatchUpdate> updates) {
    size_t events = 0;
    for (auto& u : updates) {
        if (u.snapshot) {
            byUid_.clear();
            for (auto& p : u.pods) byUid_[p.uid] = std::move(p);
        }
        for (auto& ev : u.events) {
            ++events;
            if (ev.type == core::WatchEvent::Type::Deleted) byUid_.erase(ev.pod.uid);
            else byUid_[ev.pod.uid] = std::move(ev.pod);
        }
    }
    return events;
}

core::PodList WatchedPods::list() const {
    core::PodList list;
    list.pods.reserve(byUid_.size());
    for (const auto& [uid, p] : byUid_) list.pods.push_back(p);
    return list;
}

}  // namespace iopslimit::kube
