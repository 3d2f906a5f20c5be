#include "core/mountinfo.h"

#include "core/io_lines.h"

namespace iopslimit::core {

namespace {

std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' &&
            s[i + 3] <= '7') {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

Result<std::vector<MountEntry>> parseMountInfo(std::string_view content) {
    std::vector<MountEntry> out;
    size_t lineNo = 0, i = 0;
    while (i < content.size()) {
        size_t j = content.find('\n', i);
        if (j == std::string_view::npos) j = content.size();
        std::string_view line = content.substr(i, j - i);
        i = j + 1;
        ++lineNo;
        if (line.empty()) continue;
        std::vector<std::string_view> f;
        size_t a = 0;
        while (a < line.size()) {
            size_t b = line.find(' ', a);
            if (b == std::string_view::npos) b = line.size();
            f.push_back(line.substr(a, b - a));
            a = b + 1;
        }
        // id parent maj:min root mountpoint options [optional...] - fstype source superopts
        size_t sep = 0;
        for (size_t k = 6; k < f.size(); ++k)
            if (f[k] == "-") { sep = k; break; }
        if (sep == 0 || sep + 1 >= f.size()) return makeError("malformed mountinfo line " + std::to_string(lineNo));
        auto dev = parseDevNum(f[2]);
        if (!dev) return makeError("malformed mountinfo line " + std::to_string(lineNo) + ": " + dev.error().message);
        MountEntry m;
        m.dev = *dev;
        m.root = unescape(f[3]);
        m.mountPoint = unescape(f[4]);
        m.fsType = std::string(f[sep + 1]);
        m.source = sep + 2 < f.size() ? unescape(f[sep + 2]) : std::string();
        m.superOptions = sep + 3 < f.size() ? unescape(f[sep + 3]) : std::string();
        out.push_back(std::move(m));
    }
    return out;
}

std::optional<MountEntry> findMount(const std::vector<MountEntry>& mounts, std::string_view path) {
    std::string p(path);
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    std::optional<MountEntry> found;
    for (const auto& m : mounts)
        if (m.mountPoint == p) found = m;
    return found;
}

std::optional<MountEntry> findContainingMount(const std::vector<MountEntry>& mounts, std::string_view path) {
    std::string p(path);
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    std::optional<MountEntry> found;
    size_t best = 0;
    for (const auto& m : mounts) {
        const std::string& mp = m.mountPoint;
        bool contains = mp == "/" || p == mp || (p.size() > mp.size() && p.compare(0, mp.size(), mp) == 0 && p[mp.size()] == '/');
        if (!contains || (found && mp.size() < best)) continue;
        found = m;
        best = mp.size();
    }
    return found;
}

std::optional<std::string> mountOption(std::string_view options, std::string_view key) {
    size_t i = 0;
    while (i <= options.size()) {
        size_t j = options.find(',', i);
        if (j == std::string_view::npos) j = options.size();
        std::string_view opt = options.substr(i, j - i);
        if (opt.size() > key.size() && opt.substr(0, key.size()) == key && opt[key.size()] == '=')
            return std::string(opt.substr(key.size() + 1));
        i = j + 1;
    }
    return std::nullopt;
}

}  // namespace iopslimit::core
