#include "host/block_device.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "core/io_lines.h"
#include "core/kernel_files.h"
#include "core/mountinfo.h"
#include "host/cgroup_fs.h"

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

// The path with its symlinks followed, below roots.fs; "" when it does not exist.
std::string resolvePath(const std::string& path, const HostRoots& roots) {
    std::string real = realPath(roots.fs + path);
    if (real.empty() || roots.fs.empty()) return real;
    std::string fsRoot = realPath(roots.fs);
    if (real == fsRoot) return "/";
    return real.rfind(fsRoot + "/", 0) == 0 ? real.substr(fsRoot.size()) : std::string();
}

// A block device's number from its kernel name, through sysfs (no /dev needed: the unit has
// PrivateDevices=); /dev/mapper/NAME is the dm device whose dm/name is NAME.
Result<core::DevNum> devOfSource(const std::string& source, const HostRoots& roots) {
    if (source.rfind("/dev/", 0) != 0) return makeError("not a block device: " + source, EINVAL);
    std::string name = baseName(source);
    if (source.rfind("/dev/mapper/", 0) == 0)
        for (const auto& dm : listSubdirs(roots.sys + "/block"))
            if (auto n = readFile(roots.sys + "/block/" + dm + "/dm/name"); n && trimNl(*n) == name) name = dm;
    auto text = readFile(roots.sys + "/class/block/" + name + "/" + files::kDev);
    if (!text) return makeError("block device " + source + " not found in " + roots.sys + "/class/block", ENOENT);
    return core::parseDevNum(trimNl(*text));
}

// The mount holding the resolved path, and the device under it (overlays followed to their upper
// directory, at most a few levels deep).
Result<std::pair<core::MountEntry, core::DevNum>> deviceUnder(const std::vector<core::MountEntry>& mounts,
                                                              const std::string& path, const HostRoots& roots,
                                                              int depth) {
    auto m = core::findContainingMount(mounts, path);
    if (!m) return makeError("no mount holds " + path, ENOENT);
    if (m->dev.major != 0) return std::make_pair(*m, m->dev);
    if (m->fsType == "overlay" && depth < 4) {
        if (auto upper = core::mountOption(m->superOptions, "upperdir")) {
            auto under = deviceUnder(mounts, *upper, roots, depth + 1);
            if (under) return std::make_pair(*m, under->second);
        }
    }
    auto dev = devOfSource(m->source, roots);  // btrfs, zfs and other anonymous device numbers
    if (!dev)
        return makeError(m->fsType + " on " + m->source + " mounted at " + m->mountPoint + " is not backed by a block device",
                         EINVAL);
    return std::make_pair(*m, *dev);
}

}  // namespace

std::string BlockDevice::describe() const {
    std::string s = mountPoint + ": " + fsType + " on " + source;
    if (mountedAt != mountPoint) s += " mounted at " + mountedAt;
    s += " -> disk " + name + " (" + dev.str() + ")";
    if (fsDev != dev) s += ", file system on partition " + fsDevName;
    return s;
}

Result<BlockDevice> resolveDataMount(const std::string& path, const HostRoots& roots) {
    auto text = readFile(roots.proc + "/" + files::kMountInfo);
    if (!text) return makeError("Failed to read the mount table: " + text.error().message, EIO);
    auto mounts = core::parseMountInfo(*text);
    if (!mounts) return makeError("Failed to parse the mount table: " + mounts.error().message, EIO);
    // A mount point listed as such needs no lookup (and works where its path is not visible to
    // us, as in tests with their own mount table); anything else is resolved as df does.
    std::string resolved = core::findMount(*mounts, path) ? path : resolvePath(path, roots);
    if (resolved.empty()) return makeError(path + " does not exist", ENOENT);
    auto under = deviceUnder(*mounts, resolved, roots, 0);
    if (!under) return under.error();
    const auto& [m, dev] = *under;

    BlockDevice bd;
    bd.mountPoint = path;
    bd.mountedAt = m.mountPoint;
    bd.fsType = m.fsType;
    bd.source = m.source;
    std::string real = realPath(roots.sys + "/" + files::kSysDevBlock + "/" + dev.str());
    if (real.empty()) return makeError("block device " + dev.str() + " not found in " + roots.sys + "/dev/block", ENOENT);
    bd.fsDev = dev;
    bd.fsDevName = baseName(real);
    bd.dev = dev;
    bd.name = bd.fsDevName;
    if (::access((real + "/" + files::kPartition).c_str(), F_OK) == 0) {
        // A partition: throttle its whole disk, the parent directory in sysfs.
        std::string parent = dirName(real);
        auto devText = readFile(parent + "/" + files::kDev);
        if (!devText) return makeError("cannot find the disk of partition " + bd.fsDevName, ENOENT);
        auto whole = core::parseDevNum(trimNl(*devText));
        if (!whole) return makeError(whole.error().message, EINVAL);
        bd.dev = *whole;
        bd.name = baseName(parent);
    }
    return bd;
}

bool DataMounts::operator==(const DataMounts& o) const {
    if (waiting != o.waiting || devices.size() != o.devices.size()) return false;
    for (size_t i = 0; i < devices.size(); ++i)
        if (devices[i].dev != o.devices[i].dev || devices[i].mountedAt != o.devices[i].mountedAt) return false;
    return true;
}

DataMounts resolveDataMounts(const std::vector<std::string>& paths, const HostRoots& roots) {
    DataMounts out;
    for (const auto& p : paths) {
        auto bd = resolveDataMount(p, roots);
        if (!bd) {
            out.waiting.emplace_back(p, bd.error().message);
            continue;
        }
        bool dup = false;
        for (const auto& o : out.devices) dup = dup || o.dev == bd->dev;
        if (!dup) out.devices.push_back(std::move(bd).value());
    }
    return out;
}

}  // namespace iopslimit::host
