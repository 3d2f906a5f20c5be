#include "host/mount_watcher.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <climits>

namespace iopslimit::host {

MountWatcher::MountWatcher(std::string mountinfoPath) : path_(std::move(mountinfoPath)) {
    struct statfs fs{};
    if (::statfs(path_.c_str(), &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC) {
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        events_ = POLLPRI;
        changed();  // read it once: poll reports changes after the last read
        return;
    }
    auto slash = path_.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash);
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ >= 0 && inotify_add_watch(fd_, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
        ::close(fd_);
        fd_ = -1;
    }
    events_ = POLLIN;
    inotify_ = true;
}

MountWatcher::~MountWatcher() {
    if (fd_ >= 0) ::close(fd_);
}

bool MountWatcher::changed() {
    if (fd_ < 0) return false;
    char buf[8192];
    if (!inotify_) {
        ::lseek(fd_, 0, SEEK_SET);
        while (::read(fd_, buf, sizeof buf) > 0) {
        }
        return true;
    }
    bool any = false;
    ssize_t n;
    while ((n = ::read(fd_, buf, sizeof buf)) > 0) any = true;
    return any;
}

}  // namespace iopslimit::host
