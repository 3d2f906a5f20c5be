#pragma once
// Pure cgroup naming, after kubelet's cm/cgroup_manager_linux.go (ConvertCgroupNameToSystemd):
// pod UID + QoS class + container ID -> the container's cgroup path relative to the hierarchy root.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/pod.h"

namespace iopslimit::core {

enum class CgroupDriver { Systemd, Cgroupfs };
enum class CgroupVersion { V1, V2 };
std::string_view driverName(CgroupDriver d);
std::string_view versionName(CgroupVersion v);

// The kubelet's own names (cm/cgroup_manager_linux.go, cm/qos_container_manager_linux.go).
inline constexpr std::string_view kKubepods = "kubepods";
inline constexpr std::string_view kCrioConmonPrefix = "crio-conmon-";  // CRI-O's monitor, never a container

// The driver a directory name says the kubepods level is under ("kubepods.slice" or a kubelet
// root's "kubelet-kubepods.slice": systemd; "kubepods": cgroupfs), or nullopt.
std::optional<CgroupDriver> kubepodsDriverOf(std::string_view dirName);
// A QoS level below kubepods: "burstable", "besteffort", "kubepods-burstable.slice", …
bool isQosCgroupName(std::string_view dirName);

struct CgroupLayout {
    CgroupDriver driver = CgroupDriver::Systemd;
    // kubelet --cgroup-root as components ("" -> {}; "/kubelet" -> {"kubelet"}).
    std::vector<std::string> kubeletRoot;
};

// "/kubelet" or "kubelet.slice/kubelet-kubepods.slice"-style input -> components.
std::vector<std::string> splitCgroupRoot(std::string_view root);

// kubepods top level: "kubepods.slice" | "kubepods" (with the kubelet root in front).
std::string kubepodsCgroup(const CgroupLayout& layout);
// The pod's cgroup: ".../kubepods-burstable-pod<uid_>.slice" or ".../kubepods/burstable/pod<uid>".
std::string podCgroup(const CgroupLayout& layout, std::string_view uid, QosClass qos);
// The container's leaf name under its pod: "cri-containerd-<id>.scope", "crio-<id>", "<id>", …
std::string containerLeaf(CgroupDriver driver, const ContainerId& id);
std::string containerCgroup(const CgroupLayout& layout, std::string_view uid, QosClass qos, const ContainerId& id);

// The inverse, for event sources and the no-pod-source fallback: a container cgroup leaf name ->
// runtime + id. Returns nullopt for pod/QoS levels and for CRI-O's conmon scope.
std::optional<ContainerId> containerIdFromLeaf(std::string_view leaf);
// "kubepods-burstable-pod12_34.slice" / "pod12-34" -> "12-34".
std::optional<std::string> podUidFromCgroupName(std::string_view name);

}  // namespace iopslimit::core
