#include "daemon/watchers.h"

#include "daemon/log.h"

namespace iopslimit::daemon {

void ContainerWatchers::arm(const host::CgroupSetup& setup, unsigned generation, host::SystemdManager* systemd,
                            bool inotify, bool reportExisting) {
    if (systemd && systemd != subscribed_) {
        subscribed_ = systemd;
        // The handler asks systemd nothing: any call about a unit that is gone loads a placeholder
        // for it, which is announced with UnitNew again. Usually inotify was first and this is a
        // map lookup.
        auto st = systemd->watchUnits([this](const std::string& unit) {
            if (!unit.ends_with(".scope")) return;
            std::string rel = locate_(unit);
            if (rel.empty()) return;  // not a container scope, or no cgroup (yet)
            log::debug("Container scope " + unit + " announced by systemd");
            onCgroup_(rel);
        });
        if (!st) log::warning(st.error().message + "; new container scopes are found by inotify and the poll only");
    }
    if (!inotify || (inotify_ && generation == generation_)) return;
    if (inotify_) log::info("Cgroup layout changed: watching " + core::kubepodsCgroup(setup.layout) + " for new containers");
    generation_ = generation;
    // Containers that appeared meanwhile are reported too; the engine skips what it already limited.
    inotify_ = std::make_unique<host::CgroupWatcher>(setup, onCgroup_, onLayout_, reportExisting);
    inotify_->onWatchError = [](const std::string& m) { log::warning(m); };
    if (inotify_->fd() < 0)
        log::warning("Failed to set up inotify on the cgroup tree (fs.inotify.max_user_instances?); new containers "
                     "get their limit at the next poll");
    else if (inotify_->unwatched())
        log::warning(std::to_string(inotify_->unwatched()) + " cgroup directories could not be watched for new containers "
                     "(raise fs.inotify.max_user_watches); those get their limit at the next poll");
}

void ContainerWatchers::disarm() {
    inotify_.reset();
    subscribed_ = nullptr;
}

}  // namespace iopslimit::daemon
