#pragma once
// inotify on the kubepods tree: reports container cgroups the moment their directories appear
// (any driver, v1 or v2; systemd creates scope cgroups with mkdir too), so a limit is in force
// within a millisecond of the container's cgroup existing instead of at the next poll.
#include <functional>
#include <map>
#include <set>
#include <string>

#include "host/cgroup_fs.h"

namespace iopslimit::host {

class CgroupWatcher {
public:
    // onContainer(relative cgroup path) for each container cgroup that appears. While the layout
    // is only assumed (setup.driverDetected false: no kubepods tree at start), onLayout() runs
    // when a kubepods tree of either driver appears at the top or one level down (a kubelet
    // --cgroup-root): the caller re-detects the layout and arms a watcher for it.
    // reportExisting: whether the containers already there are reported too (false before the
    // first full pass, which handles them).
    CgroupWatcher(const CgroupSetup& setup, std::function<void(const std::string&)> onContainer,
                  std::function<void()> onLayout = nullptr, bool reportExisting = true);
    ~CgroupWatcher();
    CgroupWatcher(const CgroupWatcher&) = delete;
    CgroupWatcher& operator=(const CgroupWatcher&) = delete;

    int fd() const { return fd_; }
    // Reads and handles pending events; call when fd() is readable.
    void dispatch();
    // (Re)arms watches from the hierarchy root down to the pod level; safe to call repeatedly.
    // Containers found on the way are reported unless report is false.
    void rescan(bool report = true);
    size_t watches() const { return paths_.size(); }
    // Directories that could not be watched for a reason other than being gone (ENOSPC: the
    // fs.inotify.max_user_watches limit; ENOMEM): their new containers wait for the next poll.
    unsigned long unwatched() const { return unwatched_; }
    // Called once per distinct failure cause with a message naming the remedy.
    std::function<void(const std::string&)> onWatchError;

private:
    enum class Level { Root, Ancestor, Top, Kubepods, Qos, Pod };  // Top: below the root, while guessing
    void watchDir(const std::string& rel, Level level);
    void handleNewDir(const std::string& parentRel, Level parentLevel, const std::string& name);

    CgroupSetup setup_;
    std::function<void(const std::string&)> onContainer_;
    std::function<void()> onLayout_;
    int fd_ = -1;
    std::map<int, std::pair<std::string, Level>> paths_;  // wd -> (relative path, level)
    std::string kubepods_;
    bool reporting_ = true;
    unsigned long unwatched_ = 0;
    std::set<int> reportedErrnos_;
};

}  // namespace iopslimit::host
