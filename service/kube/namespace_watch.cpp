#include "kube/namespace_watch.h"

namespace iopslimit::kube {

NamespaceWatch::NamespaceWatch(const core::Config& cfg, HttpGetter& http, std::function<void()> wake)
    : wake_(std::move(wake)),
      watch_(cfg, http,
             ListWatch::Hooks{
                 cfg.apiServer.server + "/api/v1/namespaces",
                 [this](HttpGetter& h, const HttpRequest& req) -> core::Result<std::string> {
                     auto resp = h.get(req);  // a few KiB: no streaming needed
                     if (!resp) return resp.error();
                     if (resp->status < 200 || resp->status > 299)
                         return core::makeError(describeHttpError(*resp), static_cast<int>(resp->status));
                     auto list = core::decodeNamespaceList(resp->body);
                     if (!list) return core::makeError("bad response: " + list.error().message);
                     {
                         std::lock_guard l(m_);
                         current_.clear();
                         for (auto& ns : list.value().items)
                             if (!ns.annotations.empty()) current_[ns.name] = std::move(ns.annotations);
                     }
                     changed();
                     return list->resourceVersion;
                 },
                 [this](std::string_view text) {
                     auto ev = core::decodeNamespaceEvent(text);
                     if (!ev) return ListWatch::Line{ListWatch::Line::Kind::Error, "", ev.error().message};
                     auto line = ListWatch::Line::of(ev->type, ev->code, ev->message, ev->resourceVersion);
                     if (line.kind != ListWatch::Line::Kind::Event) return line;
                     bool changedNow = false;
                     {
                         std::lock_guard l(m_);
                         auto it = current_.find(ev->ns.name);
                         bool gone = ev->type == core::WatchEvent::Type::Deleted || ev->ns.annotations.empty();
                         if (gone && it != current_.end()) {
                             current_.erase(it);
                             changedNow = true;
                         } else if (!gone && (it == current_.end() || it->second != ev->ns.annotations)) {
                             current_[ev->ns.name] = std::move(ev.value().ns.annotations);
                             changedNow = true;
                         }
                     }
                     if (changedNow) changed();
                     return line;
                 }}) {}

void NamespaceWatch::changed() {
    {
        std::lock_guard l(m_);
        dirty_ = true;
    }
    wake_();
}

std::optional<NamespaceWatch::Annotations> NamespaceWatch::takeChanges() {
    std::lock_guard l(m_);
    if (!dirty_) return std::nullopt;
    dirty_ = false;
    return current_;
}

}  // namespace iopslimit::kube
