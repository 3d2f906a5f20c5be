#pragma once
// The slice of a Kubernetes Namespace that iops-limit needs: its name and its iops-limit/*
// annotations (the cluster admin's namespace policy), from an API-server NamespaceList or a watch
// line of /api/v1/namespaces. Pure; malformed input is an error, never a crash.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/pod.h"
#include "core/result.h"

namespace iopslimit::core {

struct Namespace {
    std::string name;
    std::map<std::string, std::string> annotations;  // only iops-limit/* ones are kept
};

struct NamespaceList {
    std::vector<Namespace> items;
    std::string resourceVersion;
};
Result<NamespaceList> decodeNamespaceList(std::string_view json);

// ADDED/MODIFIED/DELETED carry a namespace, BOOKMARK only a resourceVersion, ERROR a Status code.
struct NamespaceEvent {
    WatchEvent::Type type = WatchEvent::Type::Error;
    Namespace ns;
    std::string resourceVersion;
    int code = 0;
    std::string message;
};
Result<NamespaceEvent> decodeNamespaceEvent(std::string_view line);

}  // namespace iopslimit::core
