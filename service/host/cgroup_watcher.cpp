#include "host/cgroup_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace iopslimit::host {


CgroupWatcher::CgroupWatcher(const CgroupSetup& setup, std::function<void(const std::string&)> onContainer,
                             std::function<void()> onLayout, bool reportExisting)
    : setup_(setup),
      onContainer_(std::move(onContainer)),
      onLayout_(std::move(onLayout)),
      kubepods_(core::kubepodsCgroup(setup.layout)) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    // Containers that appeared between the last reconcile and now are reported too; the
    // receiver skips what it already limited.
    rescan(reportExisting);
}

CgroupWatcher::~CgroupWatcher() {
    if (fd_ >= 0) ::close(fd_);
}

void CgroupWatcher::watchDir(const std::string& rel, Level level) {
    if (fd_ < 0) return;
    std::string abs = setup_.hierarchy + (rel.empty() ? "" : "/" + rel);
    int wd = inotify_add_watch(fd_, abs.c_str(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW);
    if (wd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) return;  // gone already, or not a directory
        ++unwatched_;
        if (onWatchError && reportedErrnos_.insert(e).second)
            onWatchError("Failed to watch " + abs + " for new containers: " + std::strerror(e) +
                         (e == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "") +
                         "; containers there get their limit at the next poll");
        return;
    }
    paths_[wd] = {rel, level};
}

void CgroupWatcher::rescan(bool report) {
    bool saved = reporting_;
    reporting_ = report;
    struct Restore {
        bool& flag;
        bool value;
        ~Restore() { flag = value; }
    } restore{reporting_, saved};
    // Ancestors of kubepods (the kubelet's cgroup root) so kubepods itself is seen appearing.
    std::string prefix;
    watchDir("", Level::Root);
    size_t pos = 0;
    while ((pos = kubepods_.find('/', pos)) != std::string::npos) {
        watchDir(kubepods_.substr(0, pos), Level::Ancestor);
        ++pos;
    }
    if (!setup_.driverDetected && onLayout_) {
        // The layout is a guess: a kubepods tree of the other driver, or under a kubelet root,
        // may be the one that appears.
        for (const auto& top : listSubdirs(setup_.hierarchy)) {
            if (core::kubepodsDriverOf(top)) return onLayout_();
            watchDir(top, Level::Top);
            for (const auto& sub : listSubdirs(setup_.hierarchy + "/" + top))
                if (core::kubepodsDriverOf(sub)) return onLayout_();
        }
    }
    if (!isDirectory(setup_.hierarchy + "/" + kubepods_)) return;
    watchDir(kubepods_, Level::Kubepods);
    for (const auto& child : listSubdirs(setup_.hierarchy + "/" + kubepods_))
        handleNewDir(kubepods_, Level::Kubepods, child);
}

void CgroupWatcher::handleNewDir(const std::string& parentRel, Level parentLevel, const std::string& name) {
    std::string rel = parentRel.empty() ? name : parentRel + "/" + name;
    switch (parentLevel) {
        case Level::Root:
        case Level::Ancestor:
        case Level::Top:
            if (!setup_.driverDetected && onLayout_ && core::kubepodsDriverOf(name)) {
                onLayout_();  // the caller replaces this watcher: nothing more to do here
                return;
            }
            if (kubepods_ == rel || kubepods_.rfind(rel + "/", 0) == 0) {
                rescan();
            } else if (parentLevel == Level::Root && !setup_.driverDetected && onLayout_) {
                // A kubelet root (kubelet.slice) may come with its kubepods inside already.
                watchDir(rel, Level::Top);
                for (const auto& sub : listSubdirs(setup_.hierarchy + "/" + rel))
                    if (core::kubepodsDriverOf(sub)) return onLayout_();
            }
            return;
        case Level::Kubepods:
            if (core::isQosCgroupName(name)) {
                watchDir(rel, Level::Qos);
                for (const auto& c : listSubdirs(setup_.hierarchy + "/" + rel)) handleNewDir(rel, Level::Qos, c);
                return;
            }
            [[fallthrough]];
        case Level::Qos:
            if (core::podUidFromCgroupName(name)) {
                // Watch first, then list: a container created in between is seen either way.
                watchDir(rel, Level::Pod);
                for (const auto& c : listSubdirs(setup_.hierarchy + "/" + rel)) handleNewDir(rel, Level::Pod, c);
            }
            return;
        case Level::Pod:
            if (reporting_ && core::containerIdFromLeaf(name)) onContainer_(rel);
            return;
    }
}

void CgroupWatcher::dispatch() {
    alignas(inotify_event) char buf[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
    for (;;) {
        ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) return;
        for (char* p = buf; p < buf + n;) {
            auto* ev = reinterpret_cast<inotify_event*>(p);
            p += sizeof(inotify_event) + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                rescan();  // events were lost: the periodic resync covers the rest
                continue;
            }
            if (ev->mask & IN_IGNORED) {
                paths_.erase(ev->wd);
                continue;
            }
            if (!(ev->mask & IN_ISDIR) || ev->len == 0) continue;
            auto it = paths_.find(ev->wd);
            if (it == paths_.end()) continue;
            auto [rel, level] = it->second;
            handleNewDir(rel, level, ev->name);
        }
    }
}

}  // namespace iopslimit::host
