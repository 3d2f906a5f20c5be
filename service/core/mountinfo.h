#pragma once
// /proc/self/mountinfo parsing (proc(5)); pure, so it is unit-tested and fuzzed on text.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/result.h"

namespace iopslimit::core {

struct MountEntry {
    DevNum dev;
    std::string root;
    std::string mountPoint;  // unescaped (\040 -> ' ')
    std::string fsType;
    std::string source;
    std::string superOptions;  // "rw,lowerdir=…,upperdir=…" (overlay), "rw,subvol=/x" (btrfs)
};

Result<std::vector<MountEntry>> parseMountInfo(std::string_view content);
// The entry mounted exactly at path; the last one wins (over-mounts).
std::optional<MountEntry> findMount(const std::vector<MountEntry>& mounts, std::string_view path);
// The mount that contains path (absolute and already resolved, as realpath(3) gives it): the one
// whose mount point is the longest run of whole leading components of path, the last listed
// among equals (an over-mount hides what is under it). What df(1) reports for a path.
std::optional<MountEntry> findContainingMount(const std::vector<MountEntry>& mounts, std::string_view path);
// The value of key in a comma-separated option list ("upperdir" of an overlay), or nullopt.
std::optional<std::string> mountOption(std::string_view options, std::string_view key);

}  // namespace iopslimit::core
