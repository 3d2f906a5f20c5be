#include "core/io_stats.h"

#include "core/kernel_files.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>

namespace iopslimit::core {

namespace {

std::string_view nextLine(std::string_view& text) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    return line;
}

std::string_view nextToken(std::string_view& s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) {
        s = {};
        return {};
    }
    s.remove_prefix(b);
    size_t e = s.find_first_of(" \t");
    std::string_view tok = s.substr(0, e);
    s.remove_prefix(e == std::string_view::npos ? s.size() : e);
    return tok;
}

bool parseU64(std::string_view s, uint64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

bool parseDevNum(std::string_view s, DevNum& out) {
    size_t colon = s.find(':');
    if (colon == std::string_view::npos) return false;
    uint64_t maj, min;
    if (!parseU64(s.substr(0, colon), maj) || !parseU64(s.substr(colon + 1), min)) return false;
    if (maj > UINT32_MAX || min > UINT32_MAX) return false;
    out = DevNum{static_cast<unsigned>(maj), static_cast<unsigned>(min)};
    return true;
}

// A non-negative decimal with an optional fraction, as PSI prints ("12.34").
bool parseAvg(std::string_view s, double& out) {
    if (s.empty() || s.size() > 24) return false;
    bool dot = false, digit = false;
    for (char c : s) {
        if (c == '.' && !dot) dot = true;
        else if (c >= '0' && c <= '9') digit = true;
        else return false;
    }
    if (!digit) return false;
    out = std::strtod(std::string(s).c_str(), nullptr);
    return true;
}

Error malformed(std::string_view what, std::string_view line) {
    std::string l(line.substr(0, 80));
    return makeError("malformed " + std::string(what) + " line \"" + l + (line.size() > 80 ? "…" : "") + "\"");
}

}  // namespace

Result<std::map<DevNum, IoCounters>> parseIoStat(std::string_view text) {
    std::map<DevNum, IoCounters> out;
    while (!text.empty()) {
        std::string_view line = nextLine(text);
        std::string_view rest = line;
        std::string_view devTok = nextToken(rest);
        if (devTok.empty()) continue;
        DevNum dev;
        if (!parseDevNum(devTok, dev)) return malformed(files::kIoStat, line);
        IoCounters c;
        for (std::string_view kv = nextToken(rest); !kv.empty(); kv = nextToken(rest)) {
            size_t eq = kv.find('=');
            if (eq == std::string_view::npos) return malformed(files::kIoStat, line);
            std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
            uint64_t* field = k == "rios" ? &c.readIos : k == "wios" ? &c.writeIos : k == "rbytes" ? &c.readBytes
                              : k == "wbytes" ? &c.writeBytes : nullptr;
            if (!field) continue;  // dbytes, dios, cost.* …
            if (!parseU64(v, *field)) return malformed(files::kIoStat, line);
        }
        out[dev] += c;
    }
    return out;
}

namespace {

Status parseThrottleFile(std::string_view text, bool bytes, std::map<DevNum, IoCounters>& out) {
    const char* what = bytes ? files::kBlkioServiceBytes : files::kBlkioServiced;
    while (!text.empty()) {
        std::string_view line = nextLine(text);
        std::string_view rest = line;
        std::string_view first = nextToken(rest);
        if (first.empty() || first == "Total") continue;
        DevNum dev;
        if (!parseDevNum(first, dev)) return malformed(what, line);
        std::string_view op = nextToken(rest);
        uint64_t v;
        if (!parseU64(nextToken(rest), v) || !nextToken(rest).empty()) return malformed(what, line);
        IoCounters& c = out[dev];
        if (op == "Read") (bytes ? c.readBytes : c.readIos) = v;
        else if (op == "Write") (bytes ? c.writeBytes : c.writeIos) = v;
        else if (op != "Sync" && op != "Async" && op != "Discard" && op != "Total") return malformed(what, line);
    }
    return okStatus();
}

}  // namespace

Result<std::map<DevNum, IoCounters>> parseBlkioThrottle(std::string_view serviced, std::string_view serviceBytes) {
    std::map<DevNum, IoCounters> out;
    if (auto st = parseThrottleFile(serviced, false, out); !st) return st.error();
    if (auto st = parseThrottleFile(serviceBytes, true, out); !st) return st.error();
    return out;
}

Result<Pressure> parsePressure(std::string_view text) {
    Pressure p;
    bool some = false;
    while (!text.empty()) {
        std::string_view line = nextLine(text);
        std::string_view rest = line;
        std::string_view kind = nextToken(rest);
        if (kind.empty()) continue;
        if (kind != "some" && kind != "full") return malformed(files::kIoPressure, line);
        double a10 = 0, a60 = 0, a300 = 0;
        uint64_t total = 0;
        int seen = 0;
        for (std::string_view kv = nextToken(rest); !kv.empty(); kv = nextToken(rest)) {
            size_t eq = kv.find('=');
            if (eq == std::string_view::npos) return malformed(files::kIoPressure, line);
            std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
            bool ok = true;
            if (k == "avg10") ok = parseAvg(v, a10), seen |= 1;
            else if (k == "avg60") ok = parseAvg(v, a60), seen |= 2;
            else if (k == "avg300") ok = parseAvg(v, a300), seen |= 4;
            else if (k == "total") ok = parseU64(v, total), seen |= 8;
            if (!ok) return malformed(files::kIoPressure, line);
        }
        if (seen != 15) return malformed(files::kIoPressure, line);
        if (kind == "some") {
            p.someAvg10 = a10, p.someAvg60 = a60, p.someAvg300 = a300, p.someTotalUsec = total;
            some = true;
        } else {
            p.fullAvg10 = a10, p.fullTotalUsec = total;
        }
    }
    if (!some) return makeError("io.pressure has no \"some\" line");
    return p;
}

std::optional<double> stallShare(uint64_t beforeUsec, uint64_t afterUsec, double seconds) {
    if (!(seconds > 0) || afterUsec < beforeUsec) return std::nullopt;
    return std::min(100.0, static_cast<double>(afterUsec - beforeUsec) / (seconds * 1e4));
}

IoRates ratesBetween(const IoCounters& a, const IoCounters& b, double seconds) {
    IoRates r;
    if (!(seconds > 0)) return r;
    auto rate = [seconds](uint64_t x, uint64_t y) { return static_cast<double>(y >= x ? y - x : y) / seconds; };
    r.readIops = rate(a.readIos, b.readIos);
    r.writeIops = rate(a.writeIos, b.writeIos);
    r.readBps = rate(a.readBytes, b.readBytes);
    r.writeBps = rate(a.writeBytes, b.writeBytes);
    return r;
}

}  // namespace iopslimit::core
