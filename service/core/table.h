#pragma once
// Whitespace-aligned text tables (for --dry-run, --once and iops-limitctl list).
#include <string>
#include <vector>

namespace iopslimit::core {

std::string renderTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

}  // namespace iopslimit::core
