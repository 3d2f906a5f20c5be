#pragma once
// Names of the kernel interface files we touch, in one place (STYLE.md rule 5). Names only:
// core parses their formats, host reads and writes them.
namespace iopslimit::core::files {

inline constexpr const char* kIoMax = "io.max";
inline constexpr const char* kCgroupControllers = "cgroup.controllers";
inline constexpr const char* kCgroupProcs = "cgroup.procs";
inline constexpr const char* kBlkioReadIops = "blkio.throttle.read_iops_device";
inline constexpr const char* kBlkioWriteIops = "blkio.throttle.write_iops_device";
inline constexpr const char* kBlkioReadBps = "blkio.throttle.read_bps_device";
inline constexpr const char* kBlkioWriteBps = "blkio.throttle.write_bps_device";
inline constexpr const char* kIoStat = "io.stat";          // v2 counters per device
inline constexpr const char* kIoPressure = "io.pressure";  // v2 PSI of the cgroup
inline constexpr const char* kBlkioServiced = "blkio.throttle.io_serviced";          // v1 IOs per device
inline constexpr const char* kBlkioServiceBytes = "blkio.throttle.io_service_bytes";  // v1 bytes per device
inline constexpr const char* kMountInfo = "self/mountinfo";  // under /proc
inline constexpr const char* kStatm = "self/statm";          // under /proc
inline constexpr const char* kSysDevBlock = "dev/block";     // under /sys
inline constexpr const char* kPartition = "partition";
inline constexpr const char* kDev = "dev";

}  // namespace iopslimit::core::files
