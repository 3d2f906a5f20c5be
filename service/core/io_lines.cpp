#include "core/io_lines.h"

#include <charconv>

namespace iopslimit::core {

namespace {

template <typename T>
bool toNumber(std::string_view s, T& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// Splits on spaces/tabs, skipping empties.
template <typename F>
void forEachWord(std::string_view line, F&& f) {
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        if (j > i) f(line.substr(i, j - i));
        i = j;
    }
}

template <typename F>
void forEachLine(std::string_view content, F&& f) {
    size_t i = 0;
    while (i < content.size()) {
        size_t j = content.find('\n', i);
        if (j == std::string_view::npos) j = content.size();
        std::string_view line = content.substr(i, j - i);
        if (!line.empty()) f(line);
        i = j + 1;
    }
}

}  // namespace

Result<DevNum> parseDevNum(std::string_view s) {
    auto colon = s.find(':');
    DevNum d;
    if (colon == std::string_view::npos || !toNumber(s.substr(0, colon), d.major) ||
        !toNumber(s.substr(colon + 1), d.minor))
        return makeError("malformed device number \"" + std::string(s.substr(0, 32)) + "\"");
    return d;
}

std::string renderIoMaxLine(DevNum dev, const Limits& l) {
    return dev.str() + " rbps=" + limitValueString(l.readBps) + " wbps=" + limitValueString(l.writeBps) +
           " riops=" + limitValueString(l.readIops) + " wiops=" + limitValueString(l.writeIops) + "\n";
}

Result<std::map<DevNum, Limits>> parseIoMax(std::string_view content) {
    std::map<DevNum, Limits> out;
    std::string err;
    forEachLine(content, [&](std::string_view line) {
        if (!err.empty()) return;
        bool first = true;
        DevNum dev;
        Limits l;
        forEachWord(line, [&](std::string_view w) {
            if (!err.empty()) return;
            if (first) {
                first = false;
                auto d = parseDevNum(w);
                if (!d) err = d.error().message;
                else dev = *d;
                return;
            }
            auto eq = w.find('=');
            if (eq == std::string_view::npos) { err = "malformed io.max entry \"" + std::string(w) + "\""; return; }
            std::string_view k = w.substr(0, eq), v = w.substr(eq + 1);
            uint64_t n = 0;
            if (v != "max" && !toNumber(v, n)) { err = "malformed io.max value \"" + std::string(w) + "\""; return; }
            if (k == "rbps") l.readBps = n;
            else if (k == "wbps") l.writeBps = n;
            else if (k == "riops") l.readIops = n;
            else if (k == "wiops") l.writeIops = n;
        });
        if (err.empty() && !first) out[dev] = l;
    });
    if (!err.empty()) return makeError(err);
    return out;
}

std::string renderBlkioLine(DevNum dev, uint64_t value) { return dev.str() + " " + std::to_string(value) + "\n"; }

Result<std::map<DevNum, uint64_t>> parseBlkioThrottle(std::string_view content) {
    std::map<DevNum, uint64_t> out;
    std::string err;
    forEachLine(content, [&](std::string_view line) {
        if (!err.empty()) return;
        int n = 0;
        DevNum dev;
        uint64_t value = 0;
        forEachWord(line, [&](std::string_view w) {
            if (!err.empty()) return;
            if (n == 0) {
                auto d = parseDevNum(w);
                if (!d) err = d.error().message;
                else dev = *d;
            } else if (n == 1) {
                if (!toNumber(w, value)) err = "malformed blkio value \"" + std::string(w.substr(0, 32)) + "\"";
            } else {
                err = "malformed blkio line";
            }
            ++n;
        });
        if (err.empty() && n == 2 && value != 0) out[dev] = value;
        else if (err.empty() && n != 2) err = "malformed blkio line";
    });
    if (!err.empty()) return makeError(err);
    return out;
}

}  // namespace iopslimit::core
