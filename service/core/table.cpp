#include "core/table.h"

#include <algorithm>

namespace iopslimit::core {

std::string renderTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width(header.size());
    for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string l;
        for (size_t i = 0; i < width.size(); ++i) {
            const std::string cell = i < cells.size() ? cells[i] : std::string();
            l += cell;
            if (i + 1 < width.size()) l += std::string(width[i] - cell.size() + 2, ' ');
        }
        while (!l.empty() && l.back() == ' ') l.pop_back();
        out += l + "\n";
    };
    line(header);
    for (const auto& r : rows) line(r);
    return out;
}

}  // namespace iopslimit::core
