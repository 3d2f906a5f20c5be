#include "core/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/quantity.h"

namespace iopslimit::core {

std::string_view backendName(Backend b) {
    switch (b) {
        case Backend::Auto: return "auto";
        case Backend::Systemd: return "systemd";
        case Backend::Cgroupfs: return "cgroupfs";
    }
    return "auto";
}

const std::vector<ConfigVariable>& configVariables() {
    static const std::vector<ConfigVariable> vars = {
        {"NODE_NAME", "(hostname, lower-cased)", "this node's name as Kubernetes knows it"},
        {"CONTAINER_IOPS_LIMIT", "500", "default read and write IOPS per container (0 = unlimited)"},
        {"CONTAINER_READ_IOPS_LIMIT", "(CONTAINER_IOPS_LIMIT)", "default read IOPS"},
        {"CONTAINER_WRITE_IOPS_LIMIT", "(CONTAINER_IOPS_LIMIT)", "default write IOPS"},
        {"CONTAINER_READ_BPS_LIMIT", "0", "default read bytes/s, a Kubernetes quantity (0 = unlimited)"},
        {"CONTAINER_WRITE_BPS_LIMIT", "0", "default write bytes/s"},
        {"POD_MAX_IOPS", "", "the most IOPS a pod annotation may ask for (read and write; 0/max/unset = no ceiling)"},
        {"POD_MAX_READ_IOPS", "(POD_MAX_IOPS)", "the most read IOPS a pod annotation may ask for"},
        {"POD_MAX_WRITE_IOPS", "(POD_MAX_IOPS)", "the most write IOPS a pod annotation may ask for"},
        {"POD_MAX_BPS", "", "the most bytes/s a pod annotation may ask for (a Kubernetes quantity; read and write)"},
        {"POD_MAX_READ_BPS", "(POD_MAX_BPS)", "the most read bytes/s a pod annotation may ask for"},
        {"POD_MAX_WRITE_BPS", "(POD_MAX_BPS)", "the most write bytes/s a pod annotation may ask for"},
        {"POD_MIN_IOPS", "", "the least IOPS a pod annotation may ask for (a lower request is raised to it)"},
        {"POD_MIN_READ_IOPS", "(POD_MIN_IOPS)", "the least read IOPS"},
        {"POD_MIN_WRITE_IOPS", "(POD_MIN_IOPS)", "the least write IOPS"},
        {"POD_MIN_BPS", "", "the least bytes/s a pod annotation may ask for"},
        {"POD_MIN_READ_BPS", "(POD_MIN_BPS)", "the least read bytes/s"},
        {"POD_MIN_WRITE_BPS", "(POD_MIN_BPS)", "the least write bytes/s"},
        {"TRUSTED_NAMESPACES", "", "namespaces whose pods' annotations are not bounded by POD_MAX_*/POD_MIN_* or namespace ceilings"},
        {"ADAPTIVE_LIMITS", "off", "on: tighten the containers that contend for a busy data disk, and undo it"},
        {"ADAPTIVE_PRESSURE", "10", "percent of a window waiting for IO that makes a disk contended: kubepods PSI full, or a victim's some"},
        {"ADAPTIVE_WINDOW", "10", "seconds the pressure is measured over; also the step of tightening and loosening"},
        {"ADAPTIVE_COOLDOWN", "60", "seconds without contention before adaptive limits are loosened again"},
        {"ADAPTIVE_FACTOR", "0.75", "new adaptive limit = factor x the container's rate over the window (0.1 to 0.95)"},
        {"ADAPTIVE_FLOOR_IOPS", "50", "the least IOPS an adaptive limit goes down to"},
        {"ADAPTIVE_FLOOR_BPS", "1Mi", "the least bytes/s an adaptive limit goes down to"},
        {"DATA_MOUNT", "/data", "comma list of mount points whose disks are throttled"},
        {"EXCLUDE_KEYWORDS", "pause,istio-proxy,psmdb,kube-system,koordinator,apisix",
         "skip containers whose pod name, container name or image contains one"},
        {"EXCLUDE_NAMESPACES", "kube-system", "skip pods in these namespaces"},
        {"EXCLUDE_REGEXPS", "", "comma list of regexps matched against namespace/pod/container"},
        {"EXCLUDE_LABEL_SELECTOR", "", "skip pods matching this Kubernetes label selector"},
        {"CONTAINER_RUNTIME", "auto", "auto|containerd|cri-o|docker (cgroup naming; auto = from the container ID)"},
        {"CONTAINER_SOCKET_PATH", "", "accepted for compatibility with the seed; cgroups are derived from pods, never asked of the runtime"},
        {"CGROUP_VERSION", "auto", "auto|v1|v2"},
        {"CGROUP_DRIVER", "auto", "auto|systemd|cgroupfs (the kubelet's cgroup driver)"},
        {"KUBELET_CGROUP_ROOT", "auto", "the kubelet's --cgroup-root (e.g. /kubelet), auto-detected"},
        {"CGROUP_ROOT", "/sys/fs/cgroup", "where cgroup file systems are mounted"},
        {"LIMIT_BACKEND", "auto", "auto|systemd|cgroupfs: how limits are written"},
        {"CHECK_INTERVAL", "30", "seconds between full reconciles"},
        {"KUBELET_HOST", "localhost", "kubelet API host"},
        {"KUBELET_PORT", "10250", "kubelet API port"},
        {"KUBELET_CA_PATH", "", "CA bundle for the kubelet's serving certificate"},
        {"KUBELET_CLIENT_CERT_PATH", "", "client certificate for the kubelet API"},
        {"KUBELET_CLIENT_KEY_PATH", "", "client key for the kubelet API"},
        {"KUBELET_TOKEN_PATH", "", "bearer token file (re-read on every request)"},
        {"KUBELET_SKIP_VERIFY", "false", "do not verify the kubelet's certificate (logged as a warning)"},
        {"KUBE_API_SERVER", "", "API server URL, the fallback pod source"},
        {"KUBE_TOKEN_PATH", "", "bearer token file for the API server"},
        {"KUBE_CA_PATH", "", "CA bundle for the API server"},
        {"KUBECONFIG", "", "kubeconfig for the API server when KUBE_API_SERVER is unset (e.g. /etc/kubernetes/kubelet.conf)"},
        {"HTTP_TIMEOUT", "30", "seconds for one pod-source request (connect timeout: 5)"},
        {"WATCH_STALL_TIMEOUT", "90", "seconds of silence after which the API-server watch is reconnected"},
        {"METRICS_ADDRESS", "", "serve Prometheus metrics at http://ADDRESS/metrics: PORT, :PORT (loopback), IP:PORT or [IPv6]:PORT; off when empty"},
        {"STATE_DIRECTORY", "/var/lib/iops-limit", "state directory (set by systemd's StateDirectory=)"},
    };
    return vars;
}

std::vector<EnvFileWarning> checkStartupEnvironment(const Environment& env) {
    std::vector<EnvFileWarning> out;
    for (const auto& v : configVariables()) {
        auto it = env.find(v.name);
        if (it == env.end()) continue;
        auto w = checkEnvironmentValue(it->first, it->second);
        out.insert(out.end(), w.begin(), w.end());
    }
    return out;
}

Result<MetricsAddress> parseMetricsAddress(std::string_view s) {
    MetricsAddress a;
    std::string_view host, port;
    if (s.starts_with('[')) {
        size_t close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return makeError("expected [IPv6]:PORT");
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
        a.ipv6 = true;
    } else if (size_t colon = s.rfind(':'); colon != std::string_view::npos) {
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return makeError("an IPv6 address needs brackets: [IPv6]:PORT");
    } else {
        port = s;
    }
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
        return makeError("the port must be a number from 1 to 65535");
    a.port = static_cast<uint16_t>(p);
    if (host.empty() || host == "localhost") {
        a.host = a.ipv6 ? "::1" : "127.0.0.1";
        return a;
    }
    // Numeric addresses only: no name lookups at start, and the operator sees exactly what is bound.
    if (a.ipv6) {
        if (host.size() > 45 || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos ||
            host.find(':') == std::string_view::npos)
            return makeError("not an IPv6 address: \"" + std::string(host.substr(0, 64)) + "\"");
    } else {
        int parts = 0;
        size_t i = 0;
        while (i <= host.size()) {
            size_t dot = host.find('.', i);
            if (dot == std::string_view::npos) dot = host.size();
            std::string_view octet = host.substr(i, dot - i);
            unsigned v = 256;
            auto [oe, oec] = std::from_chars(octet.data(), octet.data() + octet.size(), v);
            if (octet.empty() || octet.size() > 3 || oec != std::errc() || oe != octet.data() + octet.size() || v > 255)
                return makeError("not an IPv4 address: \"" + std::string(host.substr(0, 64)) + "\" (numeric addresses only, or localhost)");
            ++parts;
            i = dot + 1;
        }
        if (parts != 4)
            return makeError("not an IPv4 address: \"" + std::string(host.substr(0, 64)) + "\" (numeric addresses only, or localhost)");
    }
    a.host = std::string(host);
    return a;
}

std::string MetricsAddress::str() const { return ipv6 ? "[" + host + "]:" + std::to_string(port) : host + ":" + std::to_string(port); }

bool MetricsAddress::loopback() const { return ipv6 ? host == "::1" : host.starts_with("127."); }

namespace {

std::string trim(std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    return std::string(s.substr(a, b - a));
}

std::vector<std::string> splitList(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= s.size()) {
        size_t j = s.find(',', i);
        if (j == std::string_view::npos) j = s.size();
        std::string item = trim(s.substr(i, j - i));
        if (!item.empty()) out.push_back(std::move(item));
        i = j + 1;
    }
    return out;
}

class Reader {
public:
    explicit Reader(const Environment& env) : env_(env) {}
    std::optional<std::string> get(const char* name) const {
        auto it = env_.find(name);
        if (it == env_.end()) return std::nullopt;
        return trim(it->second);
    }
    std::string get(const char* name, const char* def) const { return get(name).value_or(def); }

private:
    const Environment& env_;
};

Error bad(const char* var, const std::string& value, const std::string& why) {
    return makeError(std::string(var) + "=\"" + value.substr(0, 80) + "\": " + why);
}

std::string trimNumber(double d) {
    std::string s = std::to_string(d);
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

Result<unsigned> parseUnsigned(const char* var, const std::string& v, unsigned min, unsigned max) {
    unsigned n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size())
        return bad(var, v, "not a non-negative integer");
    if (n < min || n > max) return bad(var, v, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return n;
}

}  // namespace

Result<Config> parseConfig(const Environment& env, std::string_view hostname) {
    Reader r(env);
    Config c;

    if (auto n = r.get("NODE_NAME"); n && !n->empty()) {
        c.nodeName = *n;
    } else {
        c.nodeName = std::string(hostname);
        std::transform(c.nodeName.begin(), c.nodeName.end(), c.nodeName.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        c.nodeNameFromHostname = true;
    }
    if (c.nodeName.empty()) return makeError("NODE_NAME: not set and the hostname is empty");

    auto iops = [&](const char* var, std::optional<uint64_t> fallback) -> Result<uint64_t> {
        auto v = r.get(var);
        if (!v || v->empty()) {
            if (fallback) return *fallback;
            return uint64_t{0};
        }
        auto n = parseIops(*v);
        if (!n) return bad(var, *v, n.error().message);
        return *n;
    };
    auto bytes = [&](const char* var) -> Result<uint64_t> {
        auto v = r.get(var);
        if (!v || v->empty()) return uint64_t{0};
        auto n = parseByteQuantity(*v);
        if (!n) return bad(var, *v, n.error().message);
        return *n;
    };
    auto both = iops("CONTAINER_IOPS_LIMIT", uint64_t{500});
    if (!both) return both.error();
    auto ri = iops("CONTAINER_READ_IOPS_LIMIT", *both);
    if (!ri) return ri.error();
    auto wi = iops("CONTAINER_WRITE_IOPS_LIMIT", *both);
    if (!wi) return wi.error();
    auto rb = bytes("CONTAINER_READ_BPS_LIMIT");
    if (!rb) return rb.error();
    auto wb = bytes("CONTAINER_WRITE_BPS_LIMIT");
    if (!wb) return wb.error();
    c.defaults = Limits{*ri, *wi, *rb, *wb};

    // Who may lift a limit: the node's bounds on what pod annotations ask for.
    auto bound = [&](const char* both, const char* one, bool isBytes, uint64_t& value, std::string& setBy) -> Status {
        for (const char* var : {one, both}) {
            auto v = r.get(var);
            if (!v || v->empty()) continue;
            auto n = isBytes ? parseByteQuantity(*v) : parseIops(*v);
            if (!n) return bad(var, *v, n.error().message);
            value = *n;
            setBy = var;
            return okStatus();
        }
        return okStatus();
    };
    struct BoundVars { const char *maxBoth, *maxOne, *minBoth, *minOne; Direction dir; };
    const BoundVars boundVars[] = {
        {"POD_MAX_IOPS", "POD_MAX_READ_IOPS", "POD_MIN_IOPS", "POD_MIN_READ_IOPS", ReadIops},
        {"POD_MAX_IOPS", "POD_MAX_WRITE_IOPS", "POD_MIN_IOPS", "POD_MIN_WRITE_IOPS", WriteIops},
        {"POD_MAX_BPS", "POD_MAX_READ_BPS", "POD_MIN_BPS", "POD_MIN_READ_BPS", ReadBps},
        {"POD_MAX_BPS", "POD_MAX_WRITE_BPS", "POD_MIN_BPS", "POD_MIN_WRITE_BPS", WriteBps},
    };
    for (const auto& b : boundVars) {
        bool isBytes = b.dir == ReadBps || b.dir == WriteBps;
        auto& pol = c.policy;
        if (auto st = bound(b.maxBoth, b.maxOne, isBytes, limitRef(pol.bounds.max, b.dir), pol.maxSetBy[b.dir]); !st)
            return st.error();
        if (auto st = bound(b.minBoth, b.minOne, isBytes, limitRef(pol.bounds.min, b.dir), pol.minSetBy[b.dir]); !st)
            return st.error();
        uint64_t mx = limitOf(pol.bounds.max, b.dir), mn = limitOf(pol.bounds.min, b.dir);
        if (mx && mn > mx)
            return bad(pol.minSetBy[b.dir].c_str(), std::to_string(mn),
                       "above " + pol.maxSetBy[b.dir] + "=" + std::to_string(mx) + " (the least a pod may ask for must not exceed the most)");
    }
    for (auto& ns : splitList(r.get("TRUSTED_NAMESPACES", ""))) c.policy.trustedNamespaces.insert(ns);

    // Adaptive limits (off by default).
    std::string adaptive = r.get("ADAPTIVE_LIMITS", "off");
    std::transform(adaptive.begin(), adaptive.end(), adaptive.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (adaptive == "on" || adaptive == "true" || adaptive == "yes" || adaptive == "1") c.adaptive.on = true;
    else if (adaptive == "off" || adaptive == "false" || adaptive == "no" || adaptive == "0" || adaptive.empty()) c.adaptive.on = false;
    else return bad("ADAPTIVE_LIMITS", adaptive, "expected on or off");
    auto number = [&](const char* var, const char* def, double min, double max) -> Result<double> {
        std::string v = r.get(var, def);
        double d = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
        if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return bad(var, v, "not a number");
        if (d < min || d > max) return bad(var, v, "must be between " + trimNumber(min) + " and " + trimNumber(max));
        return d;
    };
    auto pressure = number("ADAPTIVE_PRESSURE", "10", 1, 100);
    if (!pressure) return pressure.error();
    c.adaptive.pressure = *pressure;
    auto window = parseUnsigned("ADAPTIVE_WINDOW", r.get("ADAPTIVE_WINDOW", "10"), 2, 3600);
    if (!window) return window.error();
    c.adaptive.window = std::chrono::seconds(*window);
    auto cooldown = parseUnsigned("ADAPTIVE_COOLDOWN", r.get("ADAPTIVE_COOLDOWN", "60"), *window, 86400);
    if (!cooldown) return cooldown.error();
    c.adaptive.cooldown = std::chrono::seconds(*cooldown);
    auto factor = number("ADAPTIVE_FACTOR", "0.75", 0.1, 0.95);
    if (!factor) return factor.error();
    c.adaptive.factor = *factor;
    auto floorIops = parseUnsigned("ADAPTIVE_FLOOR_IOPS", r.get("ADAPTIVE_FLOOR_IOPS", "50"), 1, 1000000);
    if (!floorIops) return floorIops.error();
    c.adaptive.floorIops = *floorIops;
    std::string floorBpsText = r.get("ADAPTIVE_FLOOR_BPS", "1Mi");
    auto floorBps = parseByteQuantity(floorBpsText);
    if (!floorBps) return bad("ADAPTIVE_FLOOR_BPS", floorBpsText, floorBps.error().message);
    if (*floorBps < 4096) return bad("ADAPTIVE_FLOOR_BPS", floorBpsText, "must be at least 4Ki (one page a second)");
    c.adaptive.floorBps = *floorBps;

    std::string mounts = r.get("DATA_MOUNT", "/data");
    c.dataMounts = splitList(mounts);
    if (c.dataMounts.empty()) return bad("DATA_MOUNT", mounts, "no mount point given");
    for (const auto& m : c.dataMounts)
        if (m[0] != '/') return bad("DATA_MOUNT", mounts, "\"" + m + "\" is not an absolute path");

    c.filter.keywords = splitList(r.get("EXCLUDE_KEYWORDS", "pause,istio-proxy,psmdb,kube-system,koordinator,apisix"));
    c.filter.namespaces = splitList(r.get("EXCLUDE_NAMESPACES", "kube-system"));
    c.filter.regexps = splitList(r.get("EXCLUDE_REGEXPS", ""));
    c.filter.labelSelector = r.get("EXCLUDE_LABEL_SELECTOR", "");
    if (auto f = Filter::create(c.filter); !f) return f.error();

    c.containerRuntime = r.get("CONTAINER_RUNTIME", "auto");
    if (c.containerRuntime == "crio") c.containerRuntime = "cri-o";
    if (c.containerRuntime != "auto" && c.containerRuntime != "containerd" && c.containerRuntime != "cri-o" &&
        c.containerRuntime != "docker")
        return bad("CONTAINER_RUNTIME", c.containerRuntime, "expected auto, containerd, cri-o or docker");
    c.containerSocketPath = r.get("CONTAINER_SOCKET_PATH", "");

    std::string ver = r.get("CGROUP_VERSION", "auto");
    if (ver == "v1" || ver == "1") c.cgroupVersion = CgroupVersion::V1;
    else if (ver == "v2" || ver == "2") c.cgroupVersion = CgroupVersion::V2;
    else if (ver != "auto" && !ver.empty()) return bad("CGROUP_VERSION", ver, "expected auto, v1 or v2");

    std::string drv = r.get("CGROUP_DRIVER", "auto");
    if (drv == "systemd") c.cgroupDriver = CgroupDriver::Systemd;
    else if (drv == "cgroupfs") c.cgroupDriver = CgroupDriver::Cgroupfs;
    else if (drv != "auto" && !drv.empty()) return bad("CGROUP_DRIVER", drv, "expected auto, systemd or cgroupfs");

    if (auto root = r.get("KUBELET_CGROUP_ROOT"); root && *root != "auto" && !root->empty())
        c.kubeletCgroupRoot = *root;

    c.cgroupRoot = r.get("CGROUP_ROOT", "/sys/fs/cgroup");
    if (c.cgroupRoot.empty() || c.cgroupRoot[0] != '/') return bad("CGROUP_ROOT", c.cgroupRoot, "not an absolute path");

    std::string be = r.get("LIMIT_BACKEND", "auto");
    if (be == "auto" || be.empty()) c.backend = Backend::Auto;
    else if (be == "systemd") c.backend = Backend::Systemd;
    else if (be == "cgroupfs" || be == "raw") c.backend = Backend::Cgroupfs;
    else return bad("LIMIT_BACKEND", be, "expected auto, systemd or cgroupfs");

    auto interval = parseUnsigned("CHECK_INTERVAL", r.get("CHECK_INTERVAL", "30"), 1, 86400);
    if (!interval) return interval.error();
    c.checkIntervalSec = *interval;

    c.kubelet.host = r.get("KUBELET_HOST", "localhost");
    if (c.kubelet.host.empty()) return bad("KUBELET_HOST", c.kubelet.host, "empty");
    auto port = parseUnsigned("KUBELET_PORT", r.get("KUBELET_PORT", "10250"), 1, 65535);
    if (!port) return port.error();
    c.kubelet.port = *port;
    c.kubelet.caPath = r.get("KUBELET_CA_PATH", "");
    c.kubelet.clientCertPath = r.get("KUBELET_CLIENT_CERT_PATH", "");
    c.kubelet.clientKeyPath = r.get("KUBELET_CLIENT_KEY_PATH", "");
    c.kubelet.tokenPath = r.get("KUBELET_TOKEN_PATH", "");
    if (c.kubelet.clientCertPath.empty() != c.kubelet.clientKeyPath.empty())
        return bad(c.kubelet.clientCertPath.empty() ? "KUBELET_CLIENT_CERT_PATH" : "KUBELET_CLIENT_KEY_PATH", "",
                   "client certificate and key must be given together");
    std::string skip = r.get("KUBELET_SKIP_VERIFY", "false");
    std::transform(skip.begin(), skip.end(), skip.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (skip == "true" || skip == "1" || skip == "yes") c.kubelet.skipVerify = true;
    else if (skip == "false" || skip == "0" || skip == "no" || skip.empty()) c.kubelet.skipVerify = false;
    else return bad("KUBELET_SKIP_VERIFY", skip, "expected true or false");

    c.apiServer.server = r.get("KUBE_API_SERVER", "");
    while (!c.apiServer.server.empty() && c.apiServer.server.back() == '/') c.apiServer.server.pop_back();
    if (!c.apiServer.server.empty() && c.apiServer.server.rfind("https://", 0) != 0 &&
        c.apiServer.server.rfind("http://", 0) != 0)
        return bad("KUBE_API_SERVER", c.apiServer.server, "expected an http:// or https:// URL");
    c.apiServer.tokenPath = r.get("KUBE_TOKEN_PATH", "");
    c.apiServer.caPath = r.get("KUBE_CA_PATH", "");
    c.kubeconfigPath = r.get("KUBECONFIG", "");
    c.kubeconfigPath = c.kubeconfigPath.substr(0, c.kubeconfigPath.find(':'));  // the first of a list

    auto timeout = parseUnsigned("HTTP_TIMEOUT", r.get("HTTP_TIMEOUT", "30"), 1, 600);
    if (!timeout) return timeout.error();
    c.httpTimeoutMs = *timeout * 1000;
    c.httpConnectTimeoutMs = std::min(c.httpTimeoutMs, 5000u);

    auto stall = parseUnsigned("WATCH_STALL_TIMEOUT", r.get("WATCH_STALL_TIMEOUT", "90"), 1, 3600);
    if (!stall) return stall.error();
    c.watchStallSec = *stall;

    if (std::string m = trim(r.get("METRICS_ADDRESS", "")); !m.empty()) {
        auto addr = parseMetricsAddress(m);
        if (!addr) return bad("METRICS_ADDRESS", m, addr.error().message);
        c.metrics = std::move(addr).value();
    }

    c.stateDirectory = r.get("STATE_DIRECTORY", "/var/lib/iops-limit");
    // systemd may pass several colon-separated state directories; the first is ours.
    c.stateDirectory = c.stateDirectory.substr(0, c.stateDirectory.find(':'));
    // Test seams: where /proc, /sys and /dev are.
    c.inotify = r.get("IOPS_LIMIT_NO_INOTIFY", "") != "1";
    c.procRoot = r.get("IOPS_LIMIT_PROC_ROOT", "/proc");
    c.sysRoot = r.get("IOPS_LIMIT_SYS_ROOT", "/sys");
    c.devRoot = r.get("IOPS_LIMIT_DEV_ROOT", "/dev");
    c.fsRoot = r.get("IOPS_LIMIT_FS_ROOT", "");
    return c;
}

std::string protectHomeHint(std::string_view path) {
    for (std::string_view dir : {"/root", "/home", "/run/user"})
        if (path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/'))
            return "iops-limitd.service has ProtectHome=yes, which hides /root, /home and /run/user from it: keep "
                   "credentials where the kubelet keeps them (/var/lib/kubelet/pki, /etc/kubernetes)";
    return {};
}

std::vector<std::pair<std::string, std::string>> credentialFiles(const Config& c) {
    std::vector<std::pair<std::string, std::string>> out;
    auto add = [&](const char* var, const std::string& path) {
        if (!path.empty()) out.emplace_back(var, path);
    };
    add("KUBELET_CA_PATH", c.kubelet.caPath);
    add("KUBELET_CLIENT_CERT_PATH", c.kubelet.clientCertPath);
    add("KUBELET_CLIENT_KEY_PATH", c.kubelet.clientKeyPath);
    add("KUBELET_TOKEN_PATH", c.kubelet.tokenPath);
    const bool fromKubeconfig = !c.kubeconfigPath.empty();
    add(fromKubeconfig ? "KUBECONFIG (certificate-authority)" : "KUBE_CA_PATH", c.apiServer.caPath);
    add(fromKubeconfig ? "KUBECONFIG (tokenFile)" : "KUBE_TOKEN_PATH", c.apiServer.tokenPath);
    add("KUBECONFIG (client-certificate)", c.apiServer.clientCertPath);
    add("KUBECONFIG (client-key)", c.apiServer.clientKeyPath);
    return out;
}

}  // namespace iopslimit::core
