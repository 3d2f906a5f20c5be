// iops-limitctl: the command-line client of iops-limitd's D-Bus API (io.iopslimit1), in the
// manner of loginctl and resolvectl. It honours DBUS_SYSTEM_BUS_ADDRESS.
#include <sdbus-c++/sdbus-c++.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <thread>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/quantity.h"
#include "core/table.h"
#include "iopslimit1_proxy.h"
#include "iopslimit_version.h"

namespace {

using iopslimit::core::formatBytes;
using iopslimit::core::limitValueString;

constexpr int kExitFailure = 1, kExitUsage = 2, kExitDenied = 4;

class Manager : public sdbus::ProxyInterfaces<io::iopslimit1::Manager_proxy> {
public:
    explicit Manager(sdbus::IConnection& bus) : ProxyInterfaces(bus, "io.iopslimit1", "/io/iopslimit1") {}
    // Resync replies after a fresh fetch: up to HTTP_TIMEOUT for the kubelet and again for the
    // API server, more than D-Bus's default 25 s.
    void resync() { getProxy().callMethod("Resync").onInterface(INTERFACE_NAME).withTimeout(std::chrono::minutes(21)); }

private:
    void onLimitApplied(const std::string&, const std::string&, const std::string&, const std::string&,
                        const std::string&, const uint64_t&, const uint64_t&, const uint64_t&, const uint64_t&) override {}
    void onLimitFailed(const std::string&, const std::string&, const std::string&, const std::string&,
                       const std::string&) override {}
    void onAdaptiveLimitChanged(const std::string&, const std::string&, const std::string&, const std::string&,
                                const std::string&, const uint64_t&, const uint64_t&, const uint64_t&, const uint64_t&,
                                const std::string&) override {}
};

void usage(std::ostream& out) {
    out << "Usage: iops-limitctl [OPTIONS] COMMAND ...\n\n"
           "Inspect and steer iops-limitd, the per-container disk IOPS limiter.\n\n"
           "Commands:\n"
           "  status                     show the daemon's state\n"
           "  list [--json] [--full]     list running containers with their limits\n"
           "  explain NAMESPACE/POD      explain how a pod's limits were decided\n"
           "  set NAMESPACE/POD [--iops N] [--read-iops N] [--write-iops N]\n"
           "                    [--bps Q] [--read-bps Q] [--write-bps Q]\n"
           "                             override a pod's limits (root); unspecified values keep\n"
           "                             the pod's current override, else the node default;\n"
           "                             0 or max = unlimited, Q = quantity (100Mi, 50M)\n"
           "  clear NAMESPACE/POD        remove a pod's override (root)\n"
           "  overrides [--json]         list overrides\n"
           "  top [-d SECONDS] [-n N] [-b] [--order iops|bps|limit|pressure]\n"
           "                             containers by current IO, refreshing like systemd-cgtop:\n"
           "                             LIMIT% is the busiest direction's share of its limit\n"
           "                             (100 = throttled), PRESSURE io.pressure some avg10\n"
           "  resync                     fetch pods and reconcile now (root)\n"
           "  reload                     re-read the configuration (root)\n\n"
           "Options:\n"
           "  -h --help                  show this help\n"
           "     --version               show the version\n"
           "     --no-legend             omit table headers\n\n"
           "Exit status: 0 ok, 1 failure, 2 bad usage, 4 permission denied.\n";
}

std::string jsonEscape(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

bool splitPod(const std::string& arg, std::string& ns, std::string& pod) {
    auto slash = arg.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == arg.size()) return false;
    ns = arg.substr(0, slash);
    pod = arg.substr(slash + 1);
    return pod.find('/') == std::string::npos;
}

std::string ago(uint64_t usec) {
    if (!usec) return "never";
    time_t t = static_cast<time_t>(usec / 1000000);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    long secs = static_cast<long>(std::time(nullptr) - t);
    return std::string(buf) + " (" + std::to_string(secs < 0 ? 0 : secs) + "s ago)";
}

int cmdStatus(Manager& m) {
    auto defaults = m.DefaultLimits();
    std::cout << "iops-limitd " << m.Version() << " on node " << m.NodeName() << "\n";
    std::cout << "     Pod source: " << m.PodSource() << ", last sync " << ago(m.LastSyncUSec()) << "\n";
    std::cout << "        Backend: " << m.Backend() << " (cgroup " << m.CgroupVersion() << ", " << m.CgroupDriver()
              << " driver, runtime " << m.Runtime() << ")\n";
    bool first = true;
    for (const auto& d : m.Devices()) {
        std::cout << (first ? "        Devices: " : "                 ") << d.get<0>() << " on " << d.get<1>() << " ("
                  << d.get<2>() << ")\n";
        first = false;
    }
    for (const auto& w : m.WaitingFor()) {
        std::cout << (first ? "        Devices: " : "                 ") << w.get<0>() << ": waiting (" << w.get<1>() << ")\n";
        first = false;
    }
    std::cout << "       Defaults: read " << limitValueString(defaults.get<0>()) << " / write "
              << limitValueString(defaults.get<1>()) << " IOPS, read " << formatBytes(defaults.get<2>())
              << " / write " << formatBytes(defaults.get<3>()) << " B/s\n";
    auto max = m.PodMaxLimits(), min = m.PodMinLimits();
    auto trusted = m.TrustedNamespaces();
    auto bound = [](uint64_t iopsR, uint64_t iopsW, uint64_t bpsR, uint64_t bpsW) {
        return "read " + limitValueString(iopsR) + " / write " + limitValueString(iopsW) + " IOPS, read " +
               formatBytes(bpsR) + " / write " + formatBytes(bpsW) + " B/s";
    };
    bool anyMax = max.get<0>() || max.get<1>() || max.get<2>() || max.get<3>();
    bool anyMin = min.get<0>() || min.get<1>() || min.get<2>() || min.get<3>();
    std::string nsPolicy = m.NamespacePolicy();
    if (anyMax)
        std::cout << "         Policy: pod annotations at most " << bound(max.get<0>(), max.get<1>(), max.get<2>(), max.get<3>()) << "\n";
    else if (nsPolicy.rfind("off", 0) == 0)
        std::cout << "         Policy: none: any pod may lift its own limit (set POD_MAX_IOPS, POD_MAX_BPS, …)\n";
    else
        std::cout << "         Policy: no node ceiling: a pod may lift its own limit unless its namespace sets iops-limit/max-*\n";
    if (anyMin) std::cout << "                 at least " << bound(min.get<0>(), min.get<1>(), min.get<2>(), min.get<3>()) << "\n";
    std::string t;
    for (const auto& n : trusted) t += (t.empty() ? "" : ", ") + n;
    if (!t.empty()) std::cout << "                 trusted namespaces: " << t << "\n";
    std::cout << "                 namespace policy: " << nsPolicy << "\n";
    std::cout << "     Containers: " << m.ManagedContainers() << " limited\n";
    std::cout << "      Overrides: " << m.ListOverrides().size() << "\n";
    return 0;
}

int cmdList(Manager& m, bool json, bool full, bool legend) {
    auto rows = m.ListContainers();
    if (json) {
        std::cout << "[";
        for (size_t i = 0; i < rows.size(); ++i) {
            const auto& r = rows[i];
            std::cout << (i ? "," : "") << "\n  {\"namespace\":" << jsonEscape(r.get<0>())
                      << ",\"pod\":" << jsonEscape(r.get<1>()) << ",\"container\":" << jsonEscape(r.get<2>())
                      << ",\"containerId\":" << jsonEscape(r.get<3>()) << ",\"target\":" << jsonEscape(r.get<4>())
                      << ",\"source\":" << jsonEscape(r.get<5>()) << ",\"readIops\":" << r.get<6>()
                      << ",\"writeIops\":" << r.get<7>() << ",\"readBps\":" << r.get<8>()
                      << ",\"writeBps\":" << r.get<9>() << ",\"state\":" << jsonEscape(r.get<10>())
                      << ",\"message\":" << jsonEscape(r.get<11>()) << ",\"policy\":" << jsonEscape(r.get<12>()) << "}";
        }
        std::cout << (rows.empty() ? "]\n" : "\n]\n");
        return 0;
    }
    std::vector<std::vector<std::string>> table;
    size_t bounded = 0;
    for (const auto& r : rows) {
        bool excluded = r.get<5>() == "excluded";
        bounded += !r.get<12>().empty();
        auto v = [&](uint64_t x) { return excluded ? std::string("-") : limitValueString(x); };
        auto b = [&](uint64_t x) { return excluded ? std::string("-") : formatBytes(x); };
        std::vector<std::string> row = {r.get<0>(), r.get<1>(), r.get<2>(), r.get<3>().substr(0, 13),
                                        r.get<5>() + (r.get<12>().empty() ? "" : "*"),
                                        v(r.get<6>()), v(r.get<7>()), b(r.get<8>()), b(r.get<9>()), r.get<10>()};
        if (full) {
            row.push_back(r.get<4>());
            row.push_back(r.get<11>());
            row.push_back(r.get<12>());
        }
        table.push_back(std::move(row));
    }
    std::vector<std::string> header = {"NAMESPACE", "POD", "CONTAINER", "ID", "SOURCE", "READ-IOPS", "WRITE-IOPS",
                                       "READ-BPS", "WRITE-BPS", "STATE"};
    if (full) {
        header.push_back("TARGET");
        header.push_back("MESSAGE");
        header.push_back("POLICY");
    }
    std::string text = iopslimit::core::renderTable(header, table);
    if (!legend) text = text.substr(text.find('\n') + 1);
    std::cout << text;
    if (legend) {
        std::cout << "\n" << rows.size() << " containers listed.";
        if (bounded) std::cout << " * " << bounded << " bounded by the policy (POLICY column with --full, or explain).";
        std::cout << "\n";
    }
    return 0;
}

int cmdOverrides(Manager& m, bool json, bool legend) {
    auto rows = m.ListOverrides();
    if (json) {
        std::cout << "[";
        for (size_t i = 0; i < rows.size(); ++i) {
            const auto& r = rows[i];
            std::cout << (i ? "," : "") << "\n  {\"namespace\":" << jsonEscape(r.get<0>()) << ",\"pod\":"
                      << jsonEscape(r.get<1>()) << ",\"readIops\":" << r.get<2>() << ",\"writeIops\":" << r.get<3>()
                      << ",\"readBps\":" << r.get<4>() << ",\"writeBps\":" << r.get<5>() << "}";
        }
        std::cout << (rows.empty() ? "]\n" : "\n]\n");
        return 0;
    }
    std::vector<std::vector<std::string>> table;
    for (const auto& r : rows)
        table.push_back({r.get<0>(), r.get<1>(), limitValueString(r.get<2>()), limitValueString(r.get<3>()),
                         formatBytes(r.get<4>()), formatBytes(r.get<5>())});
    std::string text = iopslimit::core::renderTable(
        {"NAMESPACE", "POD", "READ-IOPS", "WRITE-IOPS", "READ-BPS", "WRITE-BPS"}, table);
    if (!legend) text = text.substr(text.find('\n') + 1);
    std::cout << text;
    return 0;
}

// A rate with an IEC suffix: "0", "950", "12.5K", "3.0M".
std::string humanRate(double v) {
    if (v < 0) return "-";
    const char* units[] = {"", "K", "M", "G", "T"};
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    if (u == 0) std::snprintf(buf, sizeof buf, v < 10 && v != std::floor(v) ? "%.1f" : "%.0f", v);
    else std::snprintf(buf, sizeof buf, v < 100 ? "%.1f%s" : "%.0f%s", v, units[u]);
    return buf;
}

std::string iopsRate(double v) {
    if (v < 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, v < 10 && v != std::floor(v) ? "%.1f" : "%.0f", v);
    return buf;
}

struct TopOptions {
    double interval = 1.0;
    long iterations = -1;  // forever
    bool batch = false;
    std::string order = "iops";
};

// The share of the limit used by the busiest limited direction, in percent; -1 when unlimited.
double limitShare(double ri, double wi, double rb, double wb, uint64_t lri, uint64_t lwi, uint64_t lrb, uint64_t lwb) {
    double best = -1;
    auto share = [&](double rate, uint64_t limit) {
        if (limit && rate >= 0) best = std::max(best, 100.0 * rate / static_cast<double>(limit));
    };
    share(ri, lri);
    share(wi, lwi);
    share(rb, lrb);
    share(wb, lwb);
    return best;
}

int cmdTop(Manager& m, const TopOptions& o, bool legend) {
    const bool tty = isatty(STDOUT_FILENO) && !o.batch;
    std::string node = m.NodeName();
    for (long it = 0; o.iterations < 0 || it < o.iterations; ++it) {
        auto start = std::chrono::steady_clock::now();
        std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, double, double, double, double,
                                  double, uint64_t, uint64_t, uint64_t, uint64_t>>
            rows;
        uint64_t window = 0;
        std::tie(rows, window) = m.ListContainerStats();
        std::map<std::string, std::string> sourceOf;  // container ID -> where its limit comes from
        for (const auto& c : m.ListContainers()) sourceOf[c.get<3>()] = c.get<5>() + (c.get<12>().empty() ? "" : "*");
        struct Line {
            std::vector<std::string> cells;
            double iops, bps, share, pressure;
        };
        std::vector<Line> lines;
        int throttled = 0;
        for (const auto& r : rows) {
            double ri = r.get<4>(), wi = r.get<5>(), rb = r.get<6>(), wb = r.get<7>(), pr = r.get<8>();
            double share = limitShare(ri, wi, rb, wb, r.get<9>(), r.get<10>(), r.get<11>(), r.get<12>());
            if (share >= 90) ++throttled;
            char shareText[16] = "-", prText[16] = "-";
            if (share >= 0) std::snprintf(shareText, sizeof shareText, "%.0f", share);
            if (pr >= 0) std::snprintf(prText, sizeof prText, "%.2f", pr);
            lines.push_back({{r.get<0>() + "/" + r.get<1>(), r.get<2>(), iopsRate(ri), iopsRate(wi), humanRate(rb),
                              humanRate(wb), shareText, prText, sourceOf.count(r.get<3>()) ? sourceOf[r.get<3>()] : "-"},
                             std::max(ri, 0.0) + std::max(wi, 0.0), std::max(rb, 0.0) + std::max(wb, 0.0), share, pr});
        }
        std::stable_sort(lines.begin(), lines.end(), [&](const Line& a, const Line& b) {
            if (o.order == "bps") return a.bps > b.bps;
            if (o.order == "limit") return a.share > b.share;
            if (o.order == "pressure") return a.pressure > b.pressure;
            return a.iops > b.iops;
        });
        size_t maxRows = lines.size();
        if (tty) {
            winsize ws{};
            if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 5) maxRows = std::min<size_t>(maxRows, ws.ws_row - 5u);
            std::cout << "\x1b[H\x1b[2J";
        }
        std::vector<std::vector<std::string>> table;
        for (size_t i = 0; i < maxRows; ++i) table.push_back(lines[i].cells);
        char head[256];
        std::snprintf(head, sizeof head, "iops-limitd on %s: %zu containers, %d at >=90%% of a limit, rates over %.2f s",
                      node.c_str(), rows.size(), throttled, static_cast<double>(window) / 1e6);
        if (legend) std::cout << head << "\n\n";
        std::string text = iopslimit::core::renderTable(
            {"POD", "CONTAINER", "R-IOPS", "W-IOPS", "R-B/s", "W-B/s", "LIMIT%", "PRESSURE", "SOURCE"}, table);
        if (!legend) text = text.substr(text.find('\n') + 1);
        std::cout << text << (tty ? "" : "\n") << std::flush;
        if (o.iterations >= 0 && it + 1 >= o.iterations) break;
        auto next = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(o.interval));
        std::this_thread::sleep_until(next);
    }
    return 0;
}

int cmdSet(Manager& m, const std::string& ns, const std::string& pod, const std::vector<std::string>& args) {
    std::optional<uint64_t> v[4];
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (i + 1 >= args.size()) {
            std::cerr << "iops-limitctl: " << a << " needs a value\n";
            return kExitUsage;
        }
        const std::string& val = args[++i];
        bool bytes = a.find("bps") != std::string::npos;
        auto parsed = bytes ? iopslimit::core::parseByteQuantity(val) : iopslimit::core::parseIops(val);
        if (!parsed) {
            std::cerr << "iops-limitctl: " << a << ": " << parsed.error().message << "\n";
            return kExitUsage;
        }
        if (a == "--iops") v[0] = v[1] = *parsed;
        else if (a == "--read-iops") v[0] = *parsed;
        else if (a == "--write-iops") v[1] = *parsed;
        else if (a == "--bps") v[2] = v[3] = *parsed;
        else if (a == "--read-bps") v[2] = *parsed;
        else if (a == "--write-bps") v[3] = *parsed;
        else {
            std::cerr << "iops-limitctl: unknown option '" << a << "' for set\n";
            return kExitUsage;
        }
    }
    if (!v[0] && !v[1] && !v[2] && !v[3]) {
        std::cerr << "iops-limitctl: set needs at least one of --iops, --read-iops, --write-iops, --bps, --read-bps, --write-bps\n";
        return kExitUsage;
    }
    auto d = m.DefaultLimits();
    uint64_t base[4] = {d.get<0>(), d.get<1>(), d.get<2>(), d.get<3>()};
    for (const auto& o : m.ListOverrides())
        if (o.get<0>() == ns && o.get<1>() == pod) {
            base[0] = o.get<2>();
            base[1] = o.get<3>();
            base[2] = o.get<4>();
            base[3] = o.get<5>();
        }
    m.SetPodOverride(ns, pod, v[0].value_or(base[0]), v[1].value_or(base[1]), v[2].value_or(base[2]),
                     v[3].value_or(base[3]));
    return 0;
}

// The number that is all of v (from_chars); nullopt for none, trailing text or out of range.
template <typename T>
std::optional<T> wholeNumber(const std::optional<std::string>& v) {
    T x{};
    if (!v) return std::nullopt;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
    if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
    return x;
}

// top's options (args[0] is "top"); nullopt after saying what is wrong on stderr.
std::optional<TopOptions> parseTopOptions(const std::vector<std::string>& args) {
    TopOptions o;
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) return std::nullopt;
            return args[++i];
        };
        if (a == "-b" || a == "--batch") {
            o.batch = true;
        } else if (a == "-d" || a == "--delay") {
            double d = wholeNumber<double>(value()).value_or(0);
            if (!(d >= 0.25 && d <= 3600)) {
                std::cerr << "iops-limitctl: top -d needs seconds from 0.25 to 3600\n";
                return std::nullopt;
            }
            o.interval = d;
        } else if (a == "-n" || a == "--iterations") {
            long n = wholeNumber<long>(value()).value_or(0);
            if (n < 1) {
                std::cerr << "iops-limitctl: top -n needs a positive number\n";
                return std::nullopt;
            }
            o.iterations = n;
        } else if (a == "--order") {
            auto v = value();
            if (!v || (*v != "iops" && *v != "bps" && *v != "limit" && *v != "pressure")) {
                std::cerr << "iops-limitctl: top --order takes iops, bps, limit or pressure\n";
                return std::nullopt;
            }
            o.order = *v;
        } else {
            std::cerr << "iops-limitctl: unknown option '" << a << "' for top\n";
            return std::nullopt;
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args;
    bool json = false, full = false, legend = true;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            usage(std::cout);
            return 0;
        }
        if (a == "--version") {
            std::cout << "iops-limitctl " << IOPSLIMIT_VERSION << "\n";
            return 0;
        }
        if (a == "--json") json = true;
        else if (a == "--full" || a == "-l") full = true;
        else if (a == "--no-legend") legend = false;
        else args.push_back(a);
    }
    if (args.empty()) args.push_back("status");
    const std::string cmd = args[0];
    std::string ns, pod;
    auto needPod = [&]() -> bool {
        if (args.size() < 2 || !splitPod(args[1], ns, pod)) {
            std::cerr << "iops-limitctl: " << cmd << " needs NAMESPACE/POD\n";
            return false;
        }
        return true;
    };
    // Arguments are checked before the bus is asked anything: a typo is a usage error (2) even
    // where the daemon or the bus is down.
    std::optional<TopOptions> top;
    if (cmd == "top" && !(top = parseTopOptions(args))) return kExitUsage;
    if ((cmd == "explain" || cmd == "clear") && (!needPod() || args.size() != 2)) return kExitUsage;
    if (cmd == "set" && !needPod()) return kExitUsage;
    try {
        auto bus = sdbus::createSystemBusConnection();
        Manager m(*bus);
        if (cmd == "status" && args.size() == 1) return cmdStatus(m);
        if (cmd == "list" && args.size() == 1) return cmdList(m, json, full, legend);
        if (cmd == "overrides" && args.size() == 1) return cmdOverrides(m, json, legend);
        if (cmd == "explain") {
            std::cout << m.Explain(ns, pod);
            return 0;
        }
        if (cmd == "set") {
            return cmdSet(m, ns, pod, std::vector<std::string>(args.begin() + 2, args.end()));
        }
        if (cmd == "clear") {
            m.ClearPodOverride(ns, pod);
            return 0;
        }
        if (cmd == "top") return cmdTop(m, *top, legend);
        if (cmd == "resync" && args.size() == 1) {
            m.resync();
            return 0;
        }
        if (cmd == "reload" && args.size() == 1) {
            m.Reload();
            return 0;
        }
        std::cerr << "iops-limitctl: unknown command or arguments: " << cmd << " (see --help)\n";
        return kExitUsage;
    } catch (const sdbus::Error& e) {
        const std::string& n = e.getName();
        if (n == "org.freedesktop.DBus.Error.ServiceUnknown" || n == "org.freedesktop.DBus.Error.NameHasNoOwner") {
            std::cerr << "iops-limitctl: iops-limitd is not running (nothing owns io.iopslimit1 on the system bus)\n";
            return kExitFailure;
        }
        if (n == "org.freedesktop.DBus.Error.AccessDenied" || n == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired") {
            std::cerr << "iops-limitctl: permission denied: " << e.getMessage() << "\n";
            return kExitDenied;
        }
        std::cerr << "iops-limitctl: " << (e.getMessage().empty() ? n : e.getMessage()) << "\n";
        return kExitFailure;
    }
}
