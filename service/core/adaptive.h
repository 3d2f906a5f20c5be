#pragma once
// Adaptive limits: contain the noisy neighbour while a data disk is contended, and undo it. Pure:
// (what the kernel reported over the last window, the static limits, the state so far, the time)
// -> new adaptive limits and the changes to log. The daemon samples, the engine enforces
// min(static, adaptive) per direction, so an adaptive limit never loosens a static one.
//
// Contended, over a window, while at least two containers did IO on the disk (one container
// alone is waiting for itself: throttling it helps no one), when either
//  - every pod task that wanted to run waited for IO at once for at least `pressure` percent of
//    the window: PSI "full" of the kubepods cgroup (or of the whole system where cgroups have
//    none), from its stall time counter over the window, as PSI's own triggers measure; or
//  - a victim waits: a container doing IO at or below its fair share, not held by an adaptive
//    limit, spent at least `pressure` percent of the window waiting for IO (its own io.pressure
//    "some" stall time, cgroup v2). kubepods "full" counts only time in which every pod task waits,
//    so on a busy node any running pod task (the noisy one's own threads, a CPU-bound pod) holds
//    it down while a victim's reads queue behind the noisy one's.
// PSI is not per disk: where the pods did IO on more than one data disk in the window, only each
// disk's victims decide for it (the pods' full stall could come from either disk), and a container
// that did IO on more than one data disk is no victim. Nor is one pressing against its own static
// limit (its rate at least factor x that limit): that throttle stalls it.
// Once adaptive limits are in force on the disk, the containers they hold stall on the throttle
// itself, which PSI counts too; then only the victims decide (where their pressure is known).
// Who: the containers above their fair share (the disk's throughput over the window divided by
// the containers doing IO on it), in IOPS or in bytes/s; largest first. Each such direction gets
// max(floor, factor x its rate over the window), never above its static limit; while contention
// lasts this repeats every window (graded steps down).
// Release: once the disk has had no contention for `cooldown`, every window the adaptive limits on
// it are raised by 1/factor while the container still presses against them (its rate over the
// window at least factor x the limit); one it no longer presses against, or that reaches the
// static limit, is dropped. A container that is gone is forgotten.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/io_stats.h"
#include "core/limits.h"

namespace iopslimit::core {

using AdaptiveClock = std::chrono::system_clock;  // wall time: the state outlives a restart

struct AdaptiveConfig {
    bool on = false;                                     // ADAPTIVE_LIMITS
    double pressure = 10;                                // ADAPTIVE_PRESSURE, percent of the window (PSI: kubepods full, a victim's some)
    std::chrono::seconds window{10};                     // ADAPTIVE_WINDOW
    std::chrono::seconds cooldown{60};                   // ADAPTIVE_COOLDOWN
    double factor = 0.75;                                // ADAPTIVE_FACTOR, in (0, 1)
    uint64_t floorIops = 50;                             // ADAPTIVE_FLOOR_IOPS
    uint64_t floorBps = 1u << 20;                        // ADAPTIVE_FLOOR_BPS
    bool operator==(const AdaptiveConfig&) const = default;
};

// One data disk over the last window.
struct DiskWindow {
    DevNum dev;
    std::string name;         // "vdb"
    double pressure = 0;      // PSI full: percent of the window every pod task waited for IO (0-100)
    bool pressureKnown = false;
    std::string pressureOf;   // "kubepods" | "system"
    double utilisation = 0;   // percent of the window the disk was busy (/sys/block/<dev>/stat io_ticks)
};

// One running container's use of one disk over the last window.
struct ContainerUse {
    std::string id;       // container ID
    std::string label;    // "ns/pod/container", for reasons
    DevNum dev;
    IoRates rates;        // on this disk, over the window
    Limits staticLimits;  // what default, namespace, annotation and override give it (0 = unlimited)
    bool eligible = true; // not excluded, not exempt (trusted namespace not opted in)
    std::optional<double> pressure;  // its own PSI some: percent of the window it waited for IO (cgroup v2 io.pressure)
};

struct AdaptiveEntry {
    Limits limits;                      // per direction, 0 = no adaptive limit in that direction
    DevNum dev;                         // the disk it was decided for
    std::string reason;                 // "disk vdb kubepods full pressure 34 % of the last 10 s (busy 97 %); 1840 IOPS = 72 % of the disk; limited to read-iops 1380"
    AdaptiveClock::time_point expires;  // released (restored to static) by then without contention
    bool operator==(const AdaptiveEntry&) const = default;
};

struct AdaptiveState {
    std::map<std::string, AdaptiveEntry> entries;              // by container ID
    std::map<DevNum, AdaptiveClock::time_point> lastContended;  // per disk
    bool operator==(const AdaptiveState&) const = default;
};

struct AdaptiveChange {
    enum class Kind { Tighten, Loosen, Release, Forget };
    Kind kind = Kind::Tighten;
    std::string id, label;
    Limits before, after;  // adaptive limits (0 = none)
    std::string reason;
};
std::string_view adaptiveKindName(AdaptiveChange::Kind k);  // tighten | loosen | release | forget

// One step at the end of a window. `now` is the window's end; containers are those running now.
std::vector<AdaptiveChange> adaptiveStep(AdaptiveState& state, const AdaptiveConfig& cfg, AdaptiveClock::time_point now,
                                         const std::vector<DiskWindow>& disks,
                                         const std::vector<ContainerUse>& containers);

// What is in force: per direction the tighter of the static limit and the adaptive one (0 = none).
Limits tighterOf(const Limits& staticLimits, const Limits& adaptive);

// Drops entries whose expiry has passed (after a restart: never tighter than static for longer
// than the cooldown); returns how many.
size_t expireAdaptive(AdaptiveState& state, AdaptiveClock::time_point now);

}  // namespace iopslimit::core
