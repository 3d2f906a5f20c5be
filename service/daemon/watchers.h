#pragma once
// New container cgroups the moment they appear: inotify on the kubepods tree (any driver, v1 or
// v2) and, with the systemd backend, systemd's UnitNew/JobRemoved as a second path for whatever
// inotify misses (a watch limit, a queue overflow). Armed in one place, arm(), which the daemon
// calls after every full pass: it (re)arms when the setup or the cgroup layout changed (the
// kubepods tree appeared after start, or turned out to be the other driver).
#include <functional>
#include <memory>
#include <string>

#include "host/cgroup_fs.h"
#include "host/cgroup_watcher.h"
#include "host/systemd_manager.h"

namespace iopslimit::daemon {

class ContainerWatchers {
public:
    using OnCgroup = std::function<void(const std::string& cgroup)>;   // relative to the hierarchy
    using Locate = std::function<std::string(const std::string& unit)>;  // a scope's cgroup, or ""

    // onLayout: a kubepods tree appeared while the layout was only assumed; called from inside
    // dispatch(), so the caller re-detects and re-arms later, not from the callback.
    ContainerWatchers(OnCgroup onCgroup, Locate locate, std::function<void()> onLayout)
        : onCgroup_(std::move(onCgroup)), locate_(std::move(locate)), onLayout_(std::move(onLayout)) {}

    // generation: changes whenever setup's layout does (Engine::layoutGeneration). reportExisting:
    // false before the first full pass (it handles the containers already there).
    void arm(const host::CgroupSetup& setup, unsigned generation, host::SystemdManager* systemd, bool inotify,
             bool reportExisting = true);
    // Reports every container cgroup there is (the engine skips what is ours already).
    void rescan() {
        if (inotify_) inotify_->rescan(true);
    }
    void disarm();
    int fd() const { return inotify_ ? inotify_->fd() : -1; }
    void dispatch() {
        if (inotify_) inotify_->dispatch();
    }

private:
    OnCgroup onCgroup_;
    Locate locate_;
    std::function<void()> onLayout_;
    std::unique_ptr<host::CgroupWatcher> inotify_;
    unsigned generation_ = 0;
    host::SystemdManager* subscribed_ = nullptr;
};

}  // namespace iopslimit::daemon
