#pragma once
// What a pass of the engine did: one status per container, counts, and where the pods came from.
#include <string>
#include <vector>

#include "core/reconcile.h"
#include "kube/pod_sources.h"

namespace iopslimit::daemon {

struct ReconcileReport {
    core::PodSourceKind source = core::PodSourceKind::None;
    bool podsFresh = false;  // decided from pods a source just gave
    bool fallback = false;   // no pod source since start: the last decisions or the default
    std::vector<core::ContainerStatus> containers;
    std::vector<kube::SourceFailure> failures;  // sources asked for this pass that failed
    size_t changed = 0, failed = 0, missing = 0, unchanged = 0, excluded = 0;
    size_t retrying = 0;  // the writer's peer was busy (EAGAIN): tried again shortly
    double millis = 0;
    void count(const core::ContainerStatus& s);
    // Folds a pass over new containers into this full pass: a container already shown (same
    // container ID, else same cgroup) takes the newer status, a new one is added; counts follow.
    void merge(const ReconcileReport& newer);
};

// The plan/result table printed by --dry-run and --once.
std::string renderReport(const ReconcileReport& r);

}  // namespace iopslimit::daemon
