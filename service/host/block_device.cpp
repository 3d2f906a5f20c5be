#include "host/block_device.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <climits>
#include <cstdlib>

#include "core/io_lines.h"
#include "core/mountinfo.h"
#include "host/cgroup_fs.h"
#include "core/kernel_files.h"

namespace iopslimit::host {

namespace files = core::files;

using core::makeError;
using core::Result;

namespace {

std::string realPath(const std::string& p) {
    char buf[PATH_MAX];
    if (!::realpath(p.c_str(), buf)) return {};
    return buf;
}

std::string baseName(const std::string& p) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string dirName(const std::string& p) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? std::string(".") : p.substr(0, slash);
}

std::string trimNl(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

}  // namespace

Result<BlockDevice> resolveDataMount(const std::string& mountPoint, const std::string& procRoot,
                                     const std::string& sysRoot) {
    auto text = readFile(procRoot + "/" + files::kMountInfo);
    if (!text) return makeError("Failed to read mount table: " + text.error().message);
    auto mounts = core::parseMountInfo(*text);
    if (!mounts) return makeError("Failed to parse mount table: " + mounts.error().message);
    auto m = core::findMount(*mounts, mountPoint);
    if (!m) return makeError("DATA_MOUNT " + mountPoint + " is not a mount point (not in " + procRoot + "/self/mountinfo)");

    BlockDevice bd;
    bd.mountPoint = m->mountPoint;
    core::DevNum dev = m->dev;
    if (dev.major == 0) {
        // Anonymous device numbers (btrfs, overlay, zfs): the mount source may still name a disk.
        struct stat st;
        if (m->source.rfind("/dev/", 0) == 0 && ::stat(m->source.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
            dev = {major(st.st_rdev), minor(st.st_rdev)};
        } else {
            return makeError("DATA_MOUNT " + mountPoint + " (" + m->fsType + " on " + m->source +
                             ") is not backed by a block device");
        }
    }
    std::string sysPath = sysRoot + "/" + files::kSysDevBlock + "/" + dev.str();
    std::string real = realPath(sysPath);
    if (real.empty()) return makeError("DATA_MOUNT " + mountPoint + ": block device " + dev.str() + " not found in " + sysRoot + "/dev/block");
    bd.fsDev = dev;
    bd.fsDevName = baseName(real);
    bd.dev = dev;
    bd.name = bd.fsDevName;
    if (::access((real + "/" + files::kPartition).c_str(), F_OK) == 0) {
        // A partition: throttle its whole disk, the parent directory in sysfs.
        std::string parent = dirName(real);
        auto devText = readFile(parent + "/" + files::kDev);
        if (!devText) return makeError("DATA_MOUNT " + mountPoint + ": cannot find the disk of partition " + bd.fsDevName);
        auto whole = core::parseDevNum(trimNl(*devText));
        if (!whole) return makeError("DATA_MOUNT " + mountPoint + ": " + whole.error().message);
        bd.dev = *whole;
        bd.name = baseName(parent);
    }
    return bd;
}

Result<std::vector<BlockDevice>> resolveDataMounts(const std::vector<std::string>& mounts, const std::string& procRoot,
                                                   const std::string& sysRoot) {
    std::vector<BlockDevice> out;
    for (const auto& mp : mounts) {
        auto bd = resolveDataMount(mp, procRoot, sysRoot);
        if (!bd) return bd.error();
        bool dup = false;
        for (const auto& o : out) dup = dup || o.dev == bd->dev;
        if (!dup) out.push_back(std::move(bd).value());
    }
    return out;
}

}  // namespace iopslimit::host
