#include "daemon/pod_fetcher.h"

namespace iopslimit::daemon {

PodFetcher::PodFetcher(std::function<kube::FetchResult()> fetch, std::function<void()> wake)
    : fetch_(std::move(fetch)), wake_(std::move(wake)), thread_([this] { run(); }) {}

PodFetcher::~PodFetcher() {
    {
        std::lock_guard l(m_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

uint64_t PodFetcher::request() {
    uint64_t next;
    {
        std::lock_guard l(m_);
        requested_ = true;
        next = started_ + 1;
    }
    cv_.notify_all();
    return next;
}

std::optional<PodFetcher::Fetched> PodFetcher::take() {
    std::lock_guard l(m_);
    std::optional<Fetched> r = std::move(result_);
    result_.reset();
    return r;
}

bool PodFetcher::busy() const {
    std::lock_guard l(m_);
    return running_ || requested_;
}

bool PodFetcher::abortRequested() const {
    std::lock_guard l(m_);
    return stopping_;
}

void PodFetcher::run() {
    std::unique_lock l(m_);
    for (;;) {
        cv_.wait(l, [this] { return requested_ || stopping_; });
        if (stopping_) return;
        requested_ = false;
        running_ = true;
        uint64_t number = ++started_;
        l.unlock();
        kube::FetchResult r = fetch_();
        l.lock();
        running_ = false;
        if (stopping_) return;
        result_ = Fetched{number, std::move(r)};  // a newer result replaces one not taken yet
        l.unlock();
        wake_();
        l.lock();
    }
}

}  // namespace iopslimit::daemon
