#pragma once
// Cgroup limit writers: raw cgroup files, and systemd's unit properties for the cgroups of units.
// One writer owns a (cgroup, device) pair; each reads what is in force first and the caller writes
// only what differs.
#include <map>
#include <memory>
#include <string>

#include "core/cgroup_path.h"
#include "core/limits.h"
#include "core/result.h"

namespace iopslimit::host {

// Where the container's runtime is with its cgroup.
//   Starting: it may still be setting the cgroup up: the cgroup has just appeared (inotify,
//             systemd's UnitNew), and the kubelet lists the container as created at most, not
//             running. runc, for one, attaches its device filter (BPF_PROG_ATTACH with
//             BPF_F_REPLACE on the program systemd attached) only after it asked systemd to start
//             the scope.
//   Started:  the kubelet lists the container running: the runtime is done with the cgroup.
enum class Stage { Starting, Started };

// What is in force for one device.
struct Reading {
    core::Limits limits;
    // The limit is in the kernel's file only: the cgroup's owner (systemd, for the cgroup of a
    // unit) has none configured for the device. Writing the same limits again hands them to it.
    bool kernelOnly = false;
};

class LimitWriter {
public:
    virtual ~LimitWriter() = default;
    // What is in force for dev in the cgroup (relative to the hierarchy). Errors: ENOENT the
    // cgroup is gone; ENOTSUP its controller is not enabled there; EAGAIN the owner cannot answer
    // now (systemd reexecuting); EINVAL an unreadable file; EIO anything else.
    virtual core::Result<Reading> read(const std::string& cgroup, core::DevNum dev, Stage stage) = 0;
    // Makes want be in force; have is what read() returned for the same stage. Errors as read().
    virtual core::Status write(const std::string& cgroup, core::DevNum dev, const core::Limits& want,
                               const core::Limits& have, Stage stage) = 0;
    virtual std::string describe(const std::string& cgroup) const = 0;  // absolute path for logs
};

// v2: one full io.max line ("max" for unlimited; the kernel keeps keys left out).
class IoMaxWriter : public LimitWriter {
public:
    explicit IoMaxWriter(std::string hierarchy) : h_(std::move(hierarchy)) {}
    // The stage makes no difference to a cgroup file.
    core::Result<Reading> read(const std::string& cgroup, core::DevNum dev, Stage) override;
    core::Status write(const std::string& cgroup, core::DevNum dev, const core::Limits& want,
                       const core::Limits& have, Stage) override;
    std::string describe(const std::string& cgroup) const override { return h_ + "/" + cgroup; }

private:
    std::string h_;
};

// v1: blkio.throttle.{read,write}_{iops,bps}_device, "MAJ:MIN 0" removes.
class BlkioThrottleWriter : public LimitWriter {
public:
    explicit BlkioThrottleWriter(std::string hierarchy) : h_(std::move(hierarchy)) {}
    // The stage makes no difference to a cgroup file.
    core::Result<Reading> read(const std::string& cgroup, core::DevNum dev, Stage) override;
    core::Status write(const std::string& cgroup, core::DevNum dev, const core::Limits& want,
                       const core::Limits& have, Stage) override;
    std::string describe(const std::string& cgroup) const override { return h_ + "/" + cgroup; }

private:
    std::string h_;
};

std::unique_ptr<LimitWriter> makeRawWriter(core::CgroupVersion v, const std::string& hierarchy);

}  // namespace iopslimit::host

namespace iopslimit::host {

class SystemdManager;

// systemd owns the cgroups of its units: a started container's limits go through
// SetUnitProperties on its scope, and systemd writes the io.max line (and writes it again after
// daemon-reload and whenever it re-applies the unit's cgroup settings).
//
// Not while the container is Starting: each SetUnitProperties makes systemd re-apply all of the
// unit's cgroup settings, its device filter included (attach a new BPF program, detach the old
// one); if runc has just listed the attached program to replace it, runc's BPF_PROG_ATTACH fails
// and so does the container's start ("failed to call BPF_PROG_ATTACH (BPF_CGROUP_DEVICE,
// BPF_F_ALLOW_MULTI)": 1 of 40 starts in a vm tier run, 13 of 1,050 on the testhost). A starting
// container's limit is written raw into io.max instead: the same full line systemd writes, in
// force within a millisecond, and systemd, holding no IO limit for the unit, leaves the line
// alone. Once the container runs, read() reports such a line as kernelOnly and the engine hands
// it to systemd by writing it again. Where io.max does not exist (the io controller is not
// enabled for the unit's cgroup: ENOTSUP) a starting container goes through systemd too.
// Cgroups that are not units (cgroupfs driver) always go to the raw writer.
class SystemdUnitWriter : public LimitWriter {
public:
    SystemdUnitWriter(SystemdManager& manager, std::unique_ptr<LimitWriter> raw,
                      std::map<core::DevNum, std::string> devicePaths);
    // Started: systemd's limits for the unit if it holds any for dev; else what io.max has
    // (kernelOnly when that is a limit). Starting: io.max.
    core::Result<Reading> read(const std::string& cgroup, core::DevNum dev, Stage stage) override;
    // Started: SetUnitProperties (all four properties). Starting: the io.max line.
    core::Status write(const std::string& cgroup, core::DevNum dev, const core::Limits& want,
                       const core::Limits& have, Stage stage) override;
    std::string describe(const std::string& cgroup) const override;

    static bool isUnitName(const std::string& leaf);

private:
    SystemdManager& manager_;
    std::unique_ptr<LimitWriter> raw_;
    std::map<core::DevNum, std::string> devicePaths_;
};

}  // namespace iopslimit::host
