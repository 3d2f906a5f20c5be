#include "host/cgroup_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/kernel_files.h"

namespace iopslimit::host {

namespace files = core::files;

using core::CgroupDriver;
using core::CgroupVersion;
using core::makeError;
using core::Result;

Result<std::string> readFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return makeError(path + ": " + std::strerror(errno), errno);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            return makeError(path + ": " + std::strerror(e), e);
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > (16u << 20)) {
            ::close(fd);
            return makeError(path + ": file too large", EFBIG);
        }
    }
    ::close(fd);
    return out;
}

core::Status writeFile(const std::string& path, const std::string& content) {
    // No O_CREAT: cgroup files exist or the cgroup is gone.
    int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return makeError(path + ": " + std::strerror(errno), errno);
    ssize_t n;
    do n = ::write(fd, content.data(), content.size());
    while (n < 0 && errno == EINTR);
    int e = errno;
    ::close(fd);
    if (n < 0) return makeError("write " + path + ": " + std::strerror(e), e);
    if (static_cast<size_t>(n) != content.size()) return makeError("short write to " + path, EIO);
    return core::okStatus();
}

bool isDirectory(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> listSubdirs(const std::string& path) {
    std::vector<std::string> out;
    DIR* d = ::opendir(path.c_str());
    if (!d) return out;
    while (struct dirent* de = ::readdir(d)) {
        if (de->d_name[0] == '.') continue;
        if (de->d_type == DT_DIR || ((de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) && isDirectory(path + "/" + de->d_name)))
            out.emplace_back(de->d_name);
    }
    ::closedir(d);
    return out;
}

namespace {

bool fileExists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

bool isCgroup2(const std::string& p) {
    struct statfs fs;
    return ::statfs(p.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

// Finds the kubepods level: "kubepods.slice" / "kubepods" at the top or one level down
// (a kubelet --cgroup-root such as kind's /kubelet).
bool findKubepods(const std::string& hierarchy, const std::optional<CgroupDriver>& wantDriver, CgroupSetup& setup) {
    auto tryAt = [&](const std::string& prefix, const std::string& dir) -> bool {
        std::string base = hierarchy + (prefix.empty() ? "" : "/" + prefix);
        auto d = core::kubepodsDriverOf(dir);
        if (!d || (wantDriver && *wantDriver != *d)) return false;
        if (!isDirectory(base + "/" + dir)) return false;
        setup.layout.driver = *d;
        setup.layout.kubeletRoot = core::splitCgroupRoot(prefix.empty() ? dir : prefix + "/" + dir);
        setup.driverDetected = true;
        return true;
    };
    const std::string systemdTop = core::kubepodsCgroup({CgroupDriver::Systemd, {}});
    const std::string cgroupfsTop = core::kubepodsCgroup({CgroupDriver::Cgroupfs, {}});
    for (const auto& top : {systemdTop, cgroupfsTop})
        if (tryAt("", top)) return true;
    for (const auto& top : listSubdirs(hierarchy)) {
        if (top == systemdTop || top == cgroupfsTop) continue;
        for (const auto& sub : listSubdirs(hierarchy + "/" + top))
            if (tryAt(top, sub)) return true;
    }
    return false;
}

}  // namespace

Result<CgroupSetup> detectCgroups(const core::Config& cfg) {
    CgroupSetup s;
    const std::string& root = cfg.cgroupRoot;
    if (!isDirectory(root)) return makeError("CGROUP_ROOT " + root + " is not a directory");
    std::string unified = root + "/unified";
    std::string blkio = root + "/blkio";
    auto v2At = [&](const std::string& p) { return isCgroup2(p) || fileExists(p + "/" + files::kCgroupControllers); };

    if (cfg.cgroupVersion == CgroupVersion::V1) {
        if (!isDirectory(blkio)) return makeError("CGROUP_VERSION=v1 but " + blkio + " does not exist");
        s.version = CgroupVersion::V1;
        s.hierarchy = blkio;
        s.note = "cgroup v1 (configured)";
    } else if (cfg.cgroupVersion == CgroupVersion::V2) {
        s.version = CgroupVersion::V2;
        if (v2At(root)) s.hierarchy = root;
        else if (v2At(unified)) s.hierarchy = unified;
        else return makeError("CGROUP_VERSION=v2 but no cgroup2 hierarchy at " + root + " or " + unified);
        s.note = "cgroup v2 (configured)";
    } else if (isCgroup2(root)) {
        s.version = CgroupVersion::V2;
        s.hierarchy = root;
        s.note = "cgroup v2 (unified mount)";
    } else if (isDirectory(blkio)) {
        s.version = CgroupVersion::V1;
        s.hierarchy = blkio;
        s.note = "cgroup v1 (blkio hierarchy)";
    } else if (v2At(root)) {
        s.version = CgroupVersion::V2;
        s.hierarchy = root;
        s.note = "cgroup v2";
    } else if (v2At(unified)) {
        s.version = CgroupVersion::V2;
        s.hierarchy = unified;
        s.note = "cgroup v2 (hybrid, unified hierarchy)";
    } else {
        return makeError("CGROUP_VERSION=auto: no cgroup2 mount or v1 blkio hierarchy under " + root);
    }

    if (cfg.cgroupDriver) s.layout.driver = *cfg.cgroupDriver;
    if (cfg.kubeletCgroupRoot) {
        // A configured kubelet root is kept as given; only the driver may still be detected there.
        s.layout.kubeletRoot = core::splitCgroupRoot(*cfg.kubeletCgroupRoot);
        s.driverDetected = true;
        if (!cfg.cgroupDriver) {
            core::CgroupLayout fs{CgroupDriver::Cgroupfs, s.layout.kubeletRoot};
            s.layout.driver = isDirectory(s.hierarchy + "/" + core::kubepodsCgroup(fs)) ? CgroupDriver::Cgroupfs
                                                                                         : CgroupDriver::Systemd;
        }
        return s;
    }
    if (!s.driverDetected && !findKubepods(s.hierarchy, cfg.cgroupDriver, s)) {
        // Nothing to look at yet (no pods, or kubelet not started): kubeadm's default is systemd.
        if (!cfg.cgroupDriver) s.layout.driver = CgroupDriver::Systemd;
        s.driverDetected = cfg.cgroupDriver.has_value() && !cfg.kubeletCgroupRoot;
        s.note += "; no kubepods cgroup found yet";
        if (cfg.cgroupDriver) s.driverDetected = true;
    }
    return s;
}

bool redetectLayout(CgroupSetup& setup) {
    std::optional<CgroupDriver> want;  // re-detection is only used when nothing was configured
    return findKubepods(setup.hierarchy, want, setup);
}

Result<std::string> findContainerCgroup(const CgroupSetup& setup, const core::PlanEntry& e) {
    if (!e.idError.empty()) return makeError(e.idError);
    const std::string& h = setup.hierarchy;
    if (::access((h + "/" + e.cgroup).c_str(), F_OK) == 0) return e.cgroup;

    std::vector<std::string> podDirs;
    if (e.qosKnown) {
        podDirs.push_back(core::podCgroup(setup.layout, e.podUid, e.qos));
    } else {
        for (auto q : {core::QosClass::Burstable, core::QosClass::BestEffort, core::QosClass::Guaranteed})
            podDirs.push_back(core::podCgroup(setup.layout, e.podUid, q));
    }
    for (const auto& pod : podDirs) {
        std::string exact = pod + "/" + core::containerLeaf(setup.layout.driver, e.containerId);
        if (isDirectory(h + "/" + exact)) return exact;
        // Other prefixes or suffixes ("docker-<id>.scope" under containerd naming, crun layouts):
        // only inside this pod's own cgroup, and never the CRI-O monitor.
        for (const auto& child : listSubdirs(h + "/" + pod)) {
            auto id = core::containerIdFromLeaf(child);
            if (id && id->id == e.containerId.id) return pod + "/" + child;
        }
    }
    return makeError("cgroup not found (expected " + h + "/" + e.cgroup + ")", ENOENT);
}

std::vector<std::string> listContainerCgroups(const CgroupSetup& setup) {
    std::vector<std::string> out;
    std::string top = core::kubepodsCgroup(setup.layout);
    // kubepods / [qos] / pod / container: at most three levels down.
    std::vector<std::pair<std::string, int>> stack{{top, 0}};
    while (!stack.empty()) {
        auto [rel, depth] = stack.back();
        stack.pop_back();
        for (const auto& child : listSubdirs(setup.hierarchy + "/" + rel)) {
            std::string path = rel + "/" + child;
            if (core::containerIdFromLeaf(child)) out.push_back(path);
            else if (depth < 2 && !child.starts_with(core::kCrioConmonPrefix)) stack.emplace_back(path, depth + 1);
        }
    }
    return out;
}

}  // namespace iopslimit::host
