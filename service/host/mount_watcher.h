#pragma once
// Tells when the mount table changes, without polling: /proc/self/mountinfo is pollable
// (POLLPRI after a mount or unmount, proc(5)); a mount table that is a plain file (a test's
// IOPS_LIMIT_PROC_ROOT) is watched with inotify instead.
#include <string>

namespace iopslimit::host {

class MountWatcher {
public:
    explicit MountWatcher(std::string mountinfoPath);
    ~MountWatcher();
    MountWatcher(const MountWatcher&) = delete;
    MountWatcher& operator=(const MountWatcher&) = delete;

    int fd() const { return fd_; }          // -1 when it could not be set up
    short events() const { return events_; }  // what to poll fd() for
    // After fd() became ready: re-arms, and true when the table may have changed.
    bool changed();

private:
    std::string path_;
    int fd_ = -1;
    short events_ = 0;
    bool inotify_ = false;
};

}  // namespace iopslimit::host
