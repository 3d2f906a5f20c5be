#include "daemon/stats_sampler.h"

namespace iopslimit::daemon {

StatsSampler::~StatsSampler() {
    if (timer_) loop_.cancelTimer(timer_);
}

void StatsSampler::request(Reply reply) {
    if (timer_) {  // a window is being measured: answer with it
        pending_.push_back(std::move(reply));
        return;
    }
    auto now = RateTracker::Clock::now();
    auto last = tracker_.lastSample();
    if (last && haveCached_ && now - *last < kMinWindow) {
        reply(cached_, tracker_.window());
        return;
    }
    if (last && now - *last <= kMaxWindow) {
        cached_ = tracker_.update(sample_(), now);
        haveCached_ = true;
        reply(cached_, tracker_.window());
        return;
    }
    tracker_.update(sample_(), now);  // the baseline
    haveCached_ = false;
    pending_.push_back(std::move(reply));
    timer_ = loop_.addTimer(kFreshWindow, [this] {
        timer_ = 0;
        finish();
    });
}

void StatsSampler::finish() {
    cached_ = tracker_.update(sample_(), RateTracker::Clock::now());
    haveCached_ = true;
    auto replies = std::move(pending_);
    pending_.clear();
    for (auto& r : replies) r(cached_, tracker_.window());
}

}  // namespace iopslimit::daemon
