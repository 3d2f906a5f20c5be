#pragma once
// The cluster's Namespaces and their iops-limit/* annotations (the cluster admin's namespace
// policy), listed and watched like pods (kube/list_watch.h). Needs get/list/watch on namespaces;
// a 403 shows in state() and the last namespace policy known stays in force.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/namespace.h"
#include "kube/http_client.h"
#include "kube/list_watch.h"

namespace iopslimit::kube {

class NamespaceWatch {
public:
    using Annotations = std::map<std::string, std::map<std::string, std::string>>;  // namespace -> iops-limit/*
    // wake() is called from the watch thread when something changed.
    NamespaceWatch(const core::Config& cfg, HttpGetter& http, std::function<void()> wake);
    void start() { watch_.start(); }
    void stop() { watch_.stop(); }
    // Every namespace's iops-limit/* annotations, when they changed since the last call.
    std::optional<Annotations> takeChanges();
    std::string state() const { return watch_.state(); }
    unsigned restarts() const { return watch_.restarts(); }

private:
    void changed();

    std::function<void()> wake_;
    std::mutex m_;
    Annotations current_;
    bool dirty_ = false;
    ListWatch watch_;  // last: its thread stops before the map goes
};

}  // namespace iopslimit::kube
