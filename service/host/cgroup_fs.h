#pragma once
// The cgroup file system: version/driver/kubelet-root detection, file IO with errno results,
// and finding a container's cgroup when the derived name is not there.
#include <string>
#include <vector>

#include "core/cgroup_path.h"
#include "core/config.h"
#include "core/planner.h"
#include "core/result.h"

namespace iopslimit::host {

// Small file helpers; errors carry errno.
core::Result<std::string> readFile(const std::string& path);
core::Status writeFile(const std::string& path, const std::string& content);
bool isDirectory(const std::string& path);
std::vector<std::string> listSubdirs(const std::string& path);  // symlinks to directories count (/sys/block)

struct CgroupSetup {
    core::CgroupVersion version = core::CgroupVersion::V2;
    std::string hierarchy;  // absolute: the v2 mount, or the v1 blkio hierarchy
    core::CgroupLayout layout;
    bool driverDetected = false;  // false: assumed, retry detection later
    std::string note;             // how it was decided, for the startup log
};

// Decides version (statfs, then tell-tale files for test trees), driver and kubelet root.
core::Result<CgroupSetup> detectCgroups(const core::Config& cfg);
// Looks for the kubepods tree again (driver and kubelet root), e.g. after the kubelet started.
bool redetectLayout(CgroupSetup& setup);

// The container's cgroup (relative to the hierarchy): the derived path if it exists, else the
// pod's cgroup (any QoS level when the pod's class is unknown) searched for a child named after
// the container ID. Never returns CRI-O's conmon scope.
core::Result<std::string> findContainerCgroup(const CgroupSetup& setup, const core::PlanEntry& e);

// Container cgroups under kubepods (for the no-pod-source fallback): relative paths.
std::vector<std::string> listContainerCgroups(const CgroupSetup& setup);

}  // namespace iopslimit::host
