#include "core/cgroup_path.h"

#include <algorithm>

namespace iopslimit::core {

std::string_view driverName(CgroupDriver d) { return d == CgroupDriver::Systemd ? "systemd" : "cgroupfs"; }
std::string_view versionName(CgroupVersion v) { return v == CgroupVersion::V1 ? "v1" : "v2"; }

namespace {

bool endsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool isHex(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
}

// kubelet's component list for a pod: root..., "kubepods", [qos], "pod<uid>".
std::vector<std::string> podComponents(const CgroupLayout& layout, std::string_view uid, QosClass qos) {
    std::vector<std::string> parts = layout.kubeletRoot;
    parts.emplace_back(kKubepods);
    if (qos != QosClass::Guaranteed) parts.emplace_back(qosName(qos));
    parts.push_back("pod" + std::string(uid));
    return parts;
}

// systemd: each level is a slice whose name repeats its ancestors, '-' inside a component
// escaped to '_' ("kubepods-burstable-pod12_34.slice").
std::string toSystemd(const std::vector<std::string>& parts) {
    std::string path, prefix;
    for (const auto& raw : parts) {
        std::string c = raw;
        std::replace(c.begin(), c.end(), '-', '_');
        prefix = prefix.empty() ? c : prefix + "-" + c;
        if (!path.empty()) path += "/";
        path += prefix + ".slice";
    }
    return path;
}

std::string toCgroupfs(const std::vector<std::string>& parts) {
    std::string path;
    for (const auto& c : parts) path += (path.empty() ? "" : "/") + c;
    return path;
}

}  // namespace

std::optional<CgroupDriver> kubepodsDriverOf(std::string_view dirName) {
    if (dirName == kKubepods) return CgroupDriver::Cgroupfs;
    if (dirName == "kubepods.slice" || endsWith(dirName, "-kubepods.slice")) return CgroupDriver::Systemd;
    return std::nullopt;
}

bool isQosCgroupName(std::string_view n) {
    return n == qosName(QosClass::Burstable) || n == qosName(QosClass::BestEffort) ||
           endsWith(n, "-burstable.slice") || endsWith(n, "-besteffort.slice");
}

std::vector<std::string> splitCgroupRoot(std::string_view root) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < root.size()) {
        size_t j = root.find('/', i);
        if (j == std::string_view::npos) j = root.size();
        std::string_view part = root.substr(i, j - i);
        if (!part.empty()) {
            // "kubelet.slice/kubelet-kubepods.slice" names the kubepods level itself; keep the
            // leaf component of each slice ("kubelet-kubepods.slice" -> stop before kubepods).
            if (endsWith(part, ".slice")) {
                std::string_view name = part.substr(0, part.size() - 6);
                auto dash = name.rfind('-');
                std::string_view leaf = dash == std::string_view::npos ? name : name.substr(dash + 1);
                if (leaf == kKubepods) break;
                out.emplace_back(leaf);
            } else {
                if (part == kKubepods) break;
                out.emplace_back(part);
            }
        }
        i = j + 1;
    }
    return out;
}

std::string kubepodsCgroup(const CgroupLayout& layout) {
    std::vector<std::string> parts = layout.kubeletRoot;
    parts.emplace_back(kKubepods);
    return layout.driver == CgroupDriver::Systemd ? toSystemd(parts) : toCgroupfs(parts);
}

std::string podCgroup(const CgroupLayout& layout, std::string_view uid, QosClass qos) {
    auto parts = podComponents(layout, uid, qos);
    return layout.driver == CgroupDriver::Systemd ? toSystemd(parts) : toCgroupfs(parts);
}

std::string containerLeaf(CgroupDriver driver, const ContainerId& id) {
    if (driver == CgroupDriver::Systemd) {
        switch (id.runtime) {
            case Runtime::Containerd: return "cri-containerd-" + id.id + ".scope";
            case Runtime::Crio: return "crio-" + id.id + ".scope";
            case Runtime::Docker: return "docker-" + id.id + ".scope";
            case Runtime::Unknown: break;
        }
        return id.id + ".scope";
    }
    return id.runtime == Runtime::Crio ? "crio-" + id.id : id.id;
}

std::string containerCgroup(const CgroupLayout& layout, std::string_view uid, QosClass qos, const ContainerId& id) {
    return podCgroup(layout, uid, qos) + "/" + containerLeaf(layout.driver, id);
}

std::optional<ContainerId> containerIdFromLeaf(std::string_view leaf) {
    std::string_view name = leaf;
    if (endsWith(name, ".scope")) name.remove_suffix(6);
    if (name.substr(0, kCrioConmonPrefix.size()) == kCrioConmonPrefix) return std::nullopt;
    struct Prefix { std::string_view text; Runtime rt; };
    static constexpr Prefix prefixes[] = {
        {"cri-containerd-", Runtime::Containerd},
        {"crio-", Runtime::Crio},
        {"docker-", Runtime::Docker},
        {"containerd-", Runtime::Containerd},
    };
    for (const auto& p : prefixes) {
        if (name.substr(0, p.text.size()) == p.text) {
            std::string_view id = name.substr(p.text.size());
            if (id.size() >= 12 && isHex(id)) return ContainerId{p.rt, std::string(id)};
            return std::nullopt;
        }
    }
    // cgroupfs containerd/docker leaves are the bare 64-hex id; runtime unknown from the name.
    if (name.size() == 64 && isHex(name)) return ContainerId{Runtime::Unknown, std::string(name)};
    return std::nullopt;
}

std::optional<std::string> podUidFromCgroupName(std::string_view name) {
    if (endsWith(name, ".slice")) {
        name.remove_suffix(6);
        auto pos = name.rfind("-pod");
        if (pos == std::string_view::npos) return std::nullopt;
        std::string uid(name.substr(pos + 4));
        std::replace(uid.begin(), uid.end(), '_', '-');
        if (uid.empty()) return std::nullopt;
        return uid;
    }
    if (name.substr(0, 3) != "pod" || name.size() <= 3) return std::nullopt;
    return std::string(name.substr(3));
}

}  // namespace iopslimit::core
