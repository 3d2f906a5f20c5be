#pragma once
// DATA_MOUNT -> the whole disk to throttle, resolved the way df(1) does it: the path with its
// symlinks followed, the mount that contains it (/proc/self/mountinfo), that mount's device
// (a bind mount is its file system's device; an overlay is its upper directory's; btrfs and other
// anonymous devices are their source's), and a partition's whole disk (/sys/dev/block), since
// cgroup v2 rejects partitions.
#include <string>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "core/result.h"

namespace iopslimit::host {

struct BlockDevice {
    std::string mountPoint;   // the DATA_MOUNT as configured
    std::string mountedAt;    // the mount that holds it (equal to mountPoint for a mount point)
    std::string fsType, source;
    core::DevNum dev;         // the whole disk (v2 rejects partitions)
    std::string name;         // kernel name, e.g. "nvme0n1"; "/dev/<name>" for systemd
    core::DevNum fsDev;       // what the file system sits on (a partition, dm, …)
    std::string fsDevName;
    // "/data: xfs on /dev/nvme1n1p1 mounted at /data -> disk nvme1n1 (259:0)" for the journal.
    std::string describe() const;
};

// Where to look: procRoot/self/mountinfo, sysRoot/dev/block and sysRoot/class/block, and fsRoot
// in front of the path when following its symlinks (tests give each a temp tree; "" and the real
// /proc and /sys otherwise).
struct HostRoots {
    std::string proc = "/proc", sys = "/sys", fs;
};

// Errors: ENOENT when the path (or its mount's device) does not exist yet, EINVAL when the file
// system there has no block device (tmpfs, nfs), EIO for an unreadable mount table.
core::Result<BlockDevice> resolveDataMount(const std::string& path, const HostRoots& roots);

// Every DATA_MOUNT: the distinct disks found, and the mount points not resolvable (yet), with why.
struct DataMounts {
    std::vector<BlockDevice> devices;
    std::vector<std::pair<std::string, std::string>> waiting;  // mount point, reason
    bool operator==(const DataMounts& o) const;
};
DataMounts resolveDataMounts(const std::vector<std::string>& paths, const HostRoots& roots);

}  // namespace iopslimit::host
