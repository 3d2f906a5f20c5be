#pragma once
// Configuration from the environment, with the seed's (KubeDiskGuard) names and defaults.
// Parsed into a plain struct; anything invalid is an error naming the variable, because a
// silently ignored exclusion could throttle system pods.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cgroup_path.h"
#include "core/env_file.h"
#include "core/filter.h"
#include "core/adaptive.h"
#include "core/limits.h"
#include "core/policy.h"
#include "core/result.h"

namespace iopslimit::core {

enum class Backend { Auto, Systemd, Cgroupfs };
std::string_view backendName(Backend b);

struct KubeletConfig {
    std::string host = "localhost";
    unsigned port = 10250;
    std::string caPath, clientCertPath, clientKeyPath, tokenPath;
    bool skipVerify = false;
};

struct ApiServerConfig {
    std::string server;  // https://host:port; empty = no API-server fallback
    std::string tokenPath, caPath;
    // From a kubeconfig (KUBECONFIG), when KUBE_API_SERVER is not set.
    std::string clientCertPath, clientKeyPath, token;
    std::string caPem, clientCertPem, clientKeyPem;
    bool skipVerify = false;
};

// METRICS_ADDRESS: where the Prometheus endpoint listens. Numeric only; "PORT" and ":PORT" mean
// loopback.
struct MetricsAddress {
    std::string host;  // numeric IPv4 or IPv6 (without brackets)
    uint16_t port = 0;
    bool ipv6 = false;
    std::string str() const;
    bool loopback() const;
    bool operator==(const MetricsAddress&) const = default;
};
Result<MetricsAddress> parseMetricsAddress(std::string_view s);

struct Config {
    std::string nodeName;
    bool nodeNameFromHostname = false;
    Limits defaults;
    NodePolicy policy;  // POD_MAX_*, POD_MIN_*, TRUSTED_NAMESPACES
    AdaptiveConfig adaptive;  // ADAPTIVE_*
    std::vector<std::string> dataMounts;
    FilterSpec filter;
    std::string containerRuntime = "auto";  // auto|containerd|cri-o|docker
    std::string containerSocketPath;
    std::optional<CgroupVersion> cgroupVersion;  // nullopt = auto
    std::optional<CgroupDriver> cgroupDriver;    // nullopt = auto
    std::optional<std::string> kubeletCgroupRoot;  // nullopt = auto
    std::string cgroupRoot = "/sys/fs/cgroup";
    Backend backend = Backend::Auto;
    unsigned checkIntervalSec = 30;
    KubeletConfig kubelet;
    ApiServerConfig apiServer;
    std::string kubeconfigPath;  // KUBECONFIG: read at start when KUBE_API_SERVER is not set
    unsigned httpConnectTimeoutMs = 5000;
    unsigned httpTimeoutMs = 30000;
    long watchStallSec = 90;
    std::optional<MetricsAddress> metrics;  // METRICS_ADDRESS; nullopt = no endpoint  // a watch silent this long is reconnected (bookmarks come ~every 60 s)
    std::string stateDirectory = "/var/lib/iops-limit";
    std::string procRoot = "/proc";
    std::string sysRoot = "/sys";
    std::string devRoot = "/dev";
    std::string fsRoot;  // in front of DATA_MOUNT when following its symlinks (test seam)
    bool inotify = true;  // IOPS_LIMIT_NO_INOTIFY=1 (test seam): no cgroup watcher
};

// The packaged unit has ProtectHome=yes: /root, /home and /run/user are empty to the daemon. For a
// credential path below them, the sentence to add to "cannot read …" (naming the setting and where
// credentials belong); "" for any other path.
std::string protectHomeHint(std::string_view path);

// Every credential file the configuration names, with its variable: KUBELET_CA_PATH, …, and the
// files a kubeconfig refers to (named "KUBECONFIG (client-certificate)" and so on).
std::vector<std::pair<std::string, std::string>> credentialFiles(const Config& c);

// hostname is used (lower-cased) when NODE_NAME is unset.
Result<Config> parseConfig(const Environment& env, std::string_view hostname);

// Every variable we read, with its default and a one-line description (for --help and docs).
struct ConfigVariable {
    const char* name;
    const char* defaultValue;
    const char* help;
};
const std::vector<ConfigVariable>& configVariables();

// The daemon's environment at start, as systemd built it from EnvironmentFile= (quoting gone):
// warnings (line 0) for the values of the variables above that an operator probably did not mean,
// see checkEnvironmentValue in env_file.h (e.g. EXCLUDE_NAMESPACES="kube-system,batch  # batch
// jobs"). Other variables of the process are not looked at. Never an error: parseConfig decides.
std::vector<EnvFileWarning> checkStartupEnvironment(const Environment& env);

}  // namespace iopslimit::core
