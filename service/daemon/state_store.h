#pragma once
// Pod overrides set over D-Bus, kept in the state directory across restarts. Writes are atomic
// (temp file, fsync, rename, fsync of the directory); a corrupt file is moved aside, never fatal.
#include <map>
#include <string>

#include "core/limits.h"
#include "core/adaptive.h"
#include "core/reconcile.h"
#include "core/result.h"

namespace iopslimit::daemon {

class OverrideStore {
public:
    explicit OverrideStore(std::string directory) : dir_(std::move(directory)) {}

    // Loads the file; a missing file is an empty set. A corrupt one is renamed to
    // overrides.json.corrupt-<time> and reported in the returned message (empty when fine).
    std::string load();
    const std::map<std::string, core::Limits>& all() const { return overrides_; }  // "ns/pod" -> limits
    core::Status set(const std::string& ns, const std::string& pod, const core::Limits& l);
    // False when there was none.
    core::Result<bool> clear(const std::string& ns, const std::string& pod);
    std::string path() const { return dir_ + "/overrides.json"; }

private:
    core::Status save(const std::map<std::string, core::Limits>& next);
    std::string dir_;
    std::map<std::string, core::Limits> overrides_;
};

// The engine's memory across restarts (decisions.json): the last decision made from fresh pod
// data per container, so a restart while every pod source is down restores annotation limits,
// and what we put in force per container, so a restart can still remove a limit that was ours
// when its pod has become excluded meanwhile.
struct EngineMemory {
    core::DecisionCache decisions;
    core::OursMap ours;
    core::AdaptiveState adaptive;  // adaptive limits with their expiry, contention per disk
    bool operator==(const EngineMemory&) const = default;
};

class DecisionCacheStore {
public:
    explicit DecisionCacheStore(std::string directory) : dir_(std::move(directory)) {}
    // Missing file: empty. Corrupt: moved aside, message returned (empty when fine). A file from
    // before "ours" was kept: every decision that is not an exclusion counts as ours.
    std::string load(EngineMemory& out);
    // Writes only when the content changed since the last load or save.
    core::Status save(const EngineMemory& memory);
    std::string path() const { return dir_ + "/decisions.json"; }

private:
    std::string dir_;
    std::string lastWritten_;
};

}  // namespace iopslimit::daemon
