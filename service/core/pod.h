#pragma once
// The slice of a Pod that iops-limit needs, decoded from a kubelet /pods or API-server PodList.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace iopslimit::core {

enum class Runtime { Containerd, Crio, Docker, Unknown };
enum class QosClass { Guaranteed, Burstable, BestEffort };
enum class ContainerKind { Regular, Init, Ephemeral };
enum class ContainerState { Running, Waiting, Terminated, Unknown };

std::string_view runtimeName(Runtime r);
std::string_view qosName(QosClass q);  // "guaranteed" | "burstable" | "besteffort"
std::string_view kindName(ContainerKind k);

// Where the pod data in use came from: the kubelet's /pods, the API server (list or watch), the
// decisions kept from before a restart (no source has answered since), or nowhere yet.
enum class PodSourceKind { None, Kubelet, ApiServer, Cache };
std::string_view podSourceName(PodSourceKind s);  // none | kubelet | apiserver | cache

// A Kubernetes object name as namespaces and pods have it: a DNS-1123 subdomain (lower-case
// alphanumerics, '-' and '.', at most 253 characters). What the D-Bus API and the state files accept.
bool isDnsSubdomain(std::string_view s);

struct ContainerId {
    Runtime runtime = Runtime::Unknown;
    std::string id;  // hex id without the scheme
};
// "containerd://<id>" and friends; error for an empty or unknown scheme or a non-hex id.
Result<ContainerId> parseContainerId(std::string_view raw);

struct Container {
    std::string name;
    std::string image;
    std::string containerId;  // raw, as reported ("containerd://…"), may be empty
    ContainerKind kind = ContainerKind::Regular;
    ContainerState state = ContainerState::Unknown;
};

struct Pod {
    std::string uid;
    std::string ns;
    std::string name;
    std::string phase;
    std::string nodeName;
    std::string resourceVersion;
    QosClass qos = QosClass::BestEffort;
    bool qosKnown = false;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;  // only iops-limit/* ones (and config.mirror) are kept
    std::vector<Container> containers;  // statuses: init, regular, ephemeral

    std::string key() const { return ns + "/" + name; }
    // The UID the kubelet names the pod's cgroup after: a static pod's mirror (as the API server
    // lists it) carries the kubelet's config hash in kubernetes.io/config.mirror.
    const std::string& cgroupUid() const {
        auto it = annotations.find(std::string(kMirrorAnnotation));
        return it != annotations.end() && !it->second.empty() ? it->second : uid;
    }
    static constexpr std::string_view kMirrorAnnotation = "kubernetes.io/config.mirror";
};

struct PodList {
    std::vector<Pod> pods;
    std::string resourceVersion;
    std::vector<std::string> problems;  // items skipped, with why
};

// One line of a watch stream (`?watch=1`): ADDED/MODIFIED/DELETED carry a pod, BOOKMARK only a
// resourceVersion, ERROR a Status (code 410: the resourceVersion is too old, relist).
struct WatchEvent {
    enum class Type { Added, Modified, Deleted, Bookmark, Error };
    Type type = Type::Error;
    Pod pod;                      // for Added/Modified/Deleted
    std::string resourceVersion;  // of the object (pods, bookmarks)
    int code = 0;                 // for Error
    std::string message;          // for Error: reason and message
};
Result<WatchEvent> decodeWatchEvent(std::string_view line);

// Decodes a PodList. Broken JSON or a non-PodList is an error; a malformed item is skipped and
// named in problems, so one bad pod never hides the others.
Result<PodList> decodePodList(std::string_view json);

}  // namespace iopslimit::core
