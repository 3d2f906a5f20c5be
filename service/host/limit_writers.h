#pragma once
// Raw cgroup limit writers. One writer owns a (cgroup, device) pair; each reads what is in force
// first and the caller writes only what differs.
#include <map>
#include <memory>
#include <string>

#include "core/cgroup_path.h"
#include "core/limits.h"
#include "core/result.h"

namespace iopslimit::host {

class LimitWriter {
public:
    virtual ~LimitWriter() = default;
    // What is in force for dev in the cgroup (relative to the hierarchy). ENOENT: the cgroup is gone.
    virtual core::Result<core::Limits> read(const std::string& cgroup, core::DevNum dev) = 0;
    // Makes want be in force; have is what read() returned.
    virtual core::Status write(const std::string& cgroup, core::DevNum dev, const core::Limits& want,
                               const core::Limits& have) = 0;
    virtual std::string describe(const std::string& cgroup) const = 0;  // absolute path for logs
};

// v2: one full io.max line ("max" for unlimited; the kernel keeps keys left out).
class IoMaxWriter : public LimitWriter {
public:
    explicit IoMaxWriter(std::string hierarchy) : h_(std::move(hierarchy)) {}
    core::Result<core::Limits> read(const std::string& cgroup, core::DevNum dev) override;
    core::Status write(const std::string& cgroup, core::DevNum dev, const core::Limits& want,
                       const core::Limits& have) override;
    std::string describe(const std::string& cgroup) const override { return h_ + "/" + cgroup; }

private:
    std::string h_;
};

// v1: blkio.throttle.{read,write}_{iops,bps}_device, "MAJ:MIN 0" removes.
class BlkioThrottleWriter : public LimitWriter {
public:
    explicit BlkioThrottleWriter(std::string hierarchy) : h_(std::move(hierarchy)) {}
    core::Result<core::Limits> read(const std::string& cgroup, core::DevNum dev) override;
    core::Status write(const std::string& cgroup, core::DevNum dev, const core::Limits& want,
                       const core::Limits& have) override;
    std::string describe(const std::string& cgroup) const override { return h_ + "/" + cgroup; }

private:
    std::string h_;
};

std::unique_ptr<LimitWriter> makeRawWriter(core::CgroupVersion v, const std::string& hierarchy);

}  // namespace iopslimit::host

namespace iopslimit::host {

class SystemdManager;

// systemd owns the cgroups of its units: limits go through SetUnitProperties on the container's
// scope, never into its io.max (systemd would rewrite the line). Cgroups that are not units
// (cgroupfs driver) go to the raw writer.
class SystemdUnitWriter : public LimitWriter {
public:
    SystemdUnitWriter(SystemdManager& manager, std::unique_ptr<LimitWriter> raw,
                      std::map<core::DevNum, std::string> devicePaths);
    core::Result<core::Limits> read(const std::string& cgroup, core::DevNum dev) override;
    core::Status write(const std::string& cgroup, core::DevNum dev, const core::Limits& want,
                       const core::Limits& have) override;
    std::string describe(const std::string& cgroup) const override;

    static bool isUnitName(const std::string& leaf);

private:
    SystemdManager& manager_;
    std::unique_ptr<LimitWriter> raw_;
    std::map<core::DevNum, std::string> devicePaths_;
};

}  // namespace iopslimit::host
