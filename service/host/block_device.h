#pragma once
// DATA_MOUNT -> the whole disk to throttle: /proc/self/mountinfo -> MAJ:MIN -> /sys/dev/block.
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/result.h"

namespace iopslimit::host {

struct BlockDevice {
    std::string mountPoint;
    core::DevNum dev;         // the whole disk (v2 rejects partitions)
    std::string name;         // kernel name, e.g. "nvme0n1"; "/dev/<name>" for systemd
    core::DevNum fsDev;       // what the file system sits on (a partition, dm, …)
    std::string fsDevName;
};

core::Result<BlockDevice> resolveDataMount(const std::string& mountPoint, const std::string& procRoot,
                                           const std::string& sysRoot);

// Resolves every mount; devices shared by several mounts appear once. Errors name the mount.
core::Result<std::vector<BlockDevice>> resolveDataMounts(const std::vector<std::string>& mounts,
                                                         const std::string& procRoot, const std::string& sysRoot);

}  // namespace iopslimit::host
