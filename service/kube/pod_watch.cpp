#include "kube/pod_watch.h"


#include "kube/pod_sources.h"

namespace iopslimit::kube {

PodWatch::PodWatch(const core::Config& cfg, HttpGetter& http, std::function<void()> wake)
    : nodeName_(cfg.nodeName),
      wake_(std::move(wake)),
      watch_(cfg, http,
             ListWatch::Hooks{
                 cfg.apiServer.server + "/api/v1/pods?fieldSelector=" + urlEncode("spec.nodeName=" + cfg.nodeName),
                 [this](HttpGetter& h, const HttpRequest& req) -> core::Result<std::string> {
                     auto list = fetchPodList(h, req);
                     if (!list) return list.error();
                     // Defence in depth: never act on another node's pods, even if the server
                     // ignores the selector.
                     std::erase_if(list.value().pods, [&](const core::Pod& p) {
                         return !p.nodeName.empty() && p.nodeName != nodeName_;
                     });
                     WatchUpdate u;
                     u.snapshot = true;
                     u.pods = std::move(list.value().pods);
                     push(std::move(u));
                     return list->resourceVersion;
                 },
                 [this](std::string_view text) {
                     auto ev = core::decodeWatchEvent(text);
                     if (!ev) return ListWatch::Line{ListWatch::Line::Kind::Error, "", ev.error().message};
                     auto line = ListWatch::Line::of(ev->type, ev->code, ev->message, ev->resourceVersion);
                     if (line.kind == ListWatch::Line::Kind::Event &&
                         (ev->pod.nodeName.empty() || ev->pod.nodeName == nodeName_)) {
                         WatchUpdate u;
                         u.events.push_back(std::move(ev).value());
                         push(std::move(u));
                     }
                     return line;
                 }}) {}

std::vector<WatchUpdate> PodWatch::drain() {
    std::lock_guard l(m_);
    return std::exchange(queue_, {});
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
