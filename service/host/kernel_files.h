#pragma once
// Names of the kernel interface files we touch, in one place (STYLE.md rule 5).
namespace iopslimit::host::files {

inline constexpr const char* kIoMax = "io.max";
inline constexpr const char* kCgroupControllers = "cgroup.controllers";
inline constexpr const char* kCgroupProcs = "cgroup.procs";
inline constexpr const char* kBlkioReadIops = "blkio.throttle.read_iops_device";
inline constexpr const char* kBlkioWriteIops = "blkio.throttle.write_iops_device";
inline constexpr const char* kBlkioReadBps = "blkio.throttle.read_bps_device";
inline constexpr const char* kBlkioWriteBps = "blkio.throttle.write_bps_device";
inline constexpr const char* kMountInfo = "self/mountinfo";  // under /proc
inline constexpr const char* kSysDevBlock = "dev/block";     // under /sys
inline constexpr const char* kPartition = "partition";
inline constexpr const char* kDev = "dev";

}  // namespace iopslimit::host::files
