#pragma once
// The reconcile decisions, pure: what a container should get (a PlanEntry and an Intent), what is
// in force on each throttled disk -> what to write and where the container then stands.
// The engine (service/daemon/engine.cpp) only reads, calls these, and writes.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/planner.h"

namespace iopslimit::core {

// Where a container stands with our limit.
// Retrying: the writer's peer could not answer for now (systemd reexecuting or restarting: EAGAIN);
// nothing was read or written, the daemon tries again shortly. Not an error.
enum class LimitState { Applied, Unchanged, Planned, Missing, Retrying, Error, Excluded };
// applied | unchanged | planned | missing | retrying | error | excluded (tables, logs)
std::string_view stateName(LimitState s);
// The API's coarser state (D-Bus, metrics): applied | pending | error | excluded.
std::string_view publicStateName(LimitState s);

enum class Intent {
    Enforce,        // make entry.limits be in force
    RemoveOurs,     // excluded: remove a limit only while it is still the one we set
    DefaultIfNone,  // nothing known about the container: entry.limits only where no limit is in force
};

// A container and what we want for it.
struct Target {
    PlanEntry entry;
    Intent intent = Intent::Enforce;
    bool listed = false;  // the pod data lists this container (false: guessed from pod, cache or default)
};

// The last decision made for a container from fresh pod data, by container ID. Persisted
// (decisions.json), so a restart while every pod source is down restores annotation limits.
struct KnownDecision {
    std::string ns, pod;
    Limits limits;
    bool excluded = false;
    LimitSource source = LimitSource::Default;
    bool operator==(const KnownDecision&) const = default;
};
using DecisionCache = std::map<std::string, KnownDecision>;

// What we put in force, by container ID: only a limit that is still ours may be removed when its
// container becomes excluded. Persisted with the decisions, so a restart corrects exactly what a
// reload would.
struct InForce {
    std::string cgroup;  // relative to the hierarchy
    Limits limits;
    bool operator==(const InForce&) const = default;
};
using OursMap = std::map<std::string, InForce>;

// A container cgroup that just appeared (inotify, systemd's UnitNew), or, with no pod source
// since start, one found on disk: relative path -> what it gets.
//   the pod data lists the container      -> its own plan (listed; running or only created)
//   its pod is known, the container not   -> what the pod as a whole asks for (planContainer)
//   the last decision for the container   -> exactly that (an exclusion stays one)
//   nothing known                         -> the default, but only where no limit is in force
// nullopt: not a container cgroup (a pod or QoS level, CRI-O's conmon).
std::optional<Target> targetForCgroup(std::string_view cgroup, const std::vector<Pod>& pods,
                                      const DecisionCache& cache, const PlanInput& in);

struct Decision {
    std::vector<std::optional<Limits>> writes;  // per device, in the order of `have`; nullopt = leave
    LimitState state = LimitState::Unchanged;   // Applied when anything is written
    std::string note;                           // why nothing was written, when that is worth saying
    std::optional<Limits> ours;                 // once the writes succeed: our limit in force, if any
    size_t handedOver = 0;                      // writes of a limit already in force, to its owner
    bool wrote() const;
};

// What `intent` means for `entry` given have, what is in force on each throttled device (every
// read succeeded), and ours, what we last put in force for the container (RemoveOurs removes only that).
// kernelOnly (empty, or one per device): what is in force there is in the cgroup file only, its
// owner (systemd) does not hold it; Enforce then writes the limit even where it is in force
// already, which hands it to the owner (host::SystemdUnitWriter). Such a write alone is no change:
// the state stays Unchanged and `handedOver` counts it.
Decision decide(const PlanEntry& entry, Intent intent, const std::vector<Limits>& have, const std::optional<Limits>& ours,
                const std::vector<bool>& kernelOnly = {});

// The status of one container after a pass.
struct ContainerStatus {
    PlanEntry entry;
    std::string cgroup;  // resolved, relative to the hierarchy; empty when missing
    LimitState state = LimitState::Planned;
    std::string message;
    int errorCode = 0;  // errno of the failure (Error/Missing), else 0
};

}  // namespace iopslimit::core
