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
};

Result<std::vector<MountEntry>> parseMountInfo(std::string_view content);
// The entry mounted exactly at path; the last one wins (over-mounts).
std::optional<MountEntry> findMount(const std::vector<MountEntry>& mounts, std::string_view path);

}  // namespace iopslimit::core
