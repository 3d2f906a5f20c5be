#pragma once
// Counters the service keeps for the metrics endpoint: apply errors by cause, reconcile
// durations, pod-source failures and successes, watch restarts. Plain data, one thread.
#include <cstdint>
#include <map>
#include <string>

#include "core/prometheus.h"

namespace iopslimit::daemon {

struct Telemetry {
    std::map<std::string, uint64_t> applyErrors;       // cause -> count
    std::map<std::string, uint64_t> limitsApplied;     // source (default|annotation|override|cache) -> writes
    std::map<std::string, uint64_t> sourceFailures;    // kubelet|apiserver -> failed fetches
    std::map<std::string, double> sourceLastSuccess;   // kubelet|apiserver -> unix seconds
    core::Histogram reconcileSeconds{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
    // A new container cgroup (inotify) until its limit is written: the daemon's own share.
    core::Histogram newContainerSeconds{{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
    std::map<std::string, uint64_t> newContainers;
    std::map<std::string, uint64_t> adaptiveActions;  // tighten | loosen | release | forget
    std::map<std::string, uint64_t> clamps;  // by what bounded the request: POD_MAX_IOPS, …, "namespace"  // "known" | "unknown" (pod data did not know it)
    uint64_t reconciles = 0;
    unsigned watchRestartsBefore = 0;  // of API-server watches replaced by a reload
    double startTime = 0;              // unix seconds
};

// The cause label of a failed apply, from its errno: permission, controller, invalid, device,
// systemd (a D-Bus error from systemd), io, other.
std::string applyErrorCause(int code, bool systemdBackend);

}  // namespace iopslimit::daemon
