// Configuration from the environment: defaults, overrides, and errors that name the variable.
#include "core/config.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace iopslimit::core {
namespace {

Config mustParse(const Environment& env, std::string_view hostname = "node-1") {
    auto r = parseConfig(env, hostname);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) return {};
    return std::move(r).value();
}

TEST(ParseConfig, Defaults) {
    Config c = mustParse({}, "Worker-01.Example.COM");
    EXPECT_EQ(c.nodeName, "worker-01.example.com");  // NODE_NAME unset: the lower-cased hostname
    EXPECT_TRUE(c.nodeNameFromHostname);
    EXPECT_EQ(c.defaults, (Limits{500, 500, 0, 0}));
    EXPECT_EQ(c.dataMounts, std::vector<std::string>{"/data"});
    EXPECT_EQ(c.filter.keywords,
              (std::vector<std::string>{"pause", "istio-proxy", "psmdb", "kube-system", "koordinator", "apisix"}));
    EXPECT_EQ(c.filter.namespaces, std::vector<std::string>{"kube-system"});
    EXPECT_TRUE(c.filter.regexps.empty());
    EXPECT_EQ(c.filter.labelSelector, "");
    EXPECT_EQ(c.containerRuntime, "auto");
    EXPECT_FALSE(c.cgroupVersion.has_value());
    EXPECT_FALSE(c.cgroupDriver.has_value());
    EXPECT_FALSE(c.kubeletCgroupRoot.has_value());
    EXPECT_EQ(c.cgroupRoot, "/sys/fs/cgroup");
    EXPECT_EQ(c.backend, Backend::Auto);
    EXPECT_EQ(c.checkIntervalSec, 30u);
    EXPECT_EQ(c.kubelet.host, "localhost");
    EXPECT_EQ(c.kubelet.port, 10250u);
    EXPECT_FALSE(c.kubelet.skipVerify);
    EXPECT_EQ(c.apiServer.server, "");
    EXPECT_EQ(c.httpTimeoutMs, 30000u);
    EXPECT_EQ(c.httpConnectTimeoutMs, 5000u);
    EXPECT_EQ(c.stateDirectory, "/var/lib/iops-limit");
    EXPECT_EQ(c.procRoot, "/proc");
    EXPECT_EQ(c.sysRoot, "/sys");
    EXPECT_EQ(c.devRoot, "/dev");
}

TEST(ParseConfig, NodeName) {
    Config given = mustParse({{"NODE_NAME", "ip-10-0-0-1.ec2.internal"}}, "SomethingElse");
    EXPECT_EQ(given.nodeName, "ip-10-0-0-1.ec2.internal");
    EXPECT_FALSE(given.nodeNameFromHostname);
    Config blank = mustParse({{"NODE_NAME", "  "}}, "HOST");
    EXPECT_EQ(blank.nodeName, "host");
    EXPECT_TRUE(blank.nodeNameFromHostname);
    auto none = parseConfig({}, "");
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().message.rfind("NODE_NAME", 0), 0u) << none.error().message;
}

struct LimitCase {
    Environment env;
    Limits want;
};

TEST(ParseConfig, PerDirectionLimits) {
    const std::vector<LimitCase> cases = {
        {{{"CONTAINER_IOPS_LIMIT", "1000"}}, {1000, 1000, 0, 0}},
        {{{"CONTAINER_IOPS_LIMIT", "1000"}, {"CONTAINER_READ_IOPS_LIMIT", "200"}}, {200, 1000, 0, 0}},
        {{{"CONTAINER_WRITE_IOPS_LIMIT", "50"}}, {500, 50, 0, 0}},
        {{{"CONTAINER_IOPS_LIMIT", "0"}}, {0, 0, 0, 0}},
        {{{"CONTAINER_IOPS_LIMIT", "max"}, {"CONTAINER_WRITE_IOPS_LIMIT", "7"}}, {0, 7, 0, 0}},
        {{{"CONTAINER_READ_IOPS_LIMIT", "0"}}, {0, 500, 0, 0}},
        {{{"CONTAINER_IOPS_LIMIT", ""}}, {500, 500, 0, 0}},     // empty is unset
        {{{"CONTAINER_IOPS_LIMIT", " 300 "}}, {300, 300, 0, 0}},  // surrounding blanks trimmed
        {{{"CONTAINER_READ_BPS_LIMIT", "100Mi"}}, {500, 500, 104857600, 0}},
        {{{"CONTAINER_WRITE_BPS_LIMIT", "1e9"}, {"CONTAINER_READ_BPS_LIMIT", "1048576"}}, {500, 500, 1048576, 1000000000}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.env.begin()->first + "=" + c.env.begin()->second);
        EXPECT_EQ(mustParse(c.env).defaults, c.want);
    }
}

TEST(ParseConfig, ListsAndOtherValues) {
    Config c = mustParse({{"DATA_MOUNT", " /data , /mnt/disk2,,"},
                          {"EXCLUDE_KEYWORDS", "a, b"},
                          {"EXCLUDE_NAMESPACES", "kube-system,monitoring"},
                          {"EXCLUDE_REGEXPS", "^batch/,/sidecar$"},
                          {"EXCLUDE_LABEL_SELECTOR", "tier in (db),!canary"},
                          {"CONTAINER_RUNTIME", "crio"},
                          {"CGROUP_VERSION", "v1"},
                          {"CGROUP_DRIVER", "cgroupfs"},
                          {"KUBELET_CGROUP_ROOT", "/kubelet"},
                          {"CGROUP_ROOT", "/host/sys/fs/cgroup"},
                          {"LIMIT_BACKEND", "raw"},
                          {"CHECK_INTERVAL", "5"},
                          {"KUBELET_HOST", "10.0.0.1"},
                          {"KUBELET_PORT", "10255"},
                          {"KUBELET_CLIENT_CERT_PATH", "/c.pem"},
                          {"KUBELET_CLIENT_KEY_PATH", "/k.pem"},
                          {"KUBELET_SKIP_VERIFY", "TRUE"},
                          {"KUBE_API_SERVER", "https://10.96.0.1:443/"},
                          {"HTTP_TIMEOUT", "3"},
                          {"STATE_DIRECTORY", "/var/lib/iops-limit:/var/lib/other"}});
    EXPECT_EQ(c.dataMounts, (std::vector<std::string>{"/data", "/mnt/disk2"}));
    EXPECT_EQ(c.filter.keywords, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c.filter.namespaces, (std::vector<std::string>{"kube-system", "monitoring"}));
    EXPECT_EQ(c.filter.regexps, (std::vector<std::string>{"^batch/", "/sidecar$"}));
    EXPECT_EQ(c.filter.labelSelector, "tier in (db),!canary");
    EXPECT_EQ(c.containerRuntime, "cri-o");
    EXPECT_EQ(c.cgroupVersion, CgroupVersion::V1);
    EXPECT_EQ(c.cgroupDriver, CgroupDriver::Cgroupfs);
    EXPECT_EQ(c.kubeletCgroupRoot, std::optional<std::string>("/kubelet"));
    EXPECT_EQ(c.cgroupRoot, "/host/sys/fs/cgroup");
    EXPECT_EQ(c.backend, Backend::Cgroupfs);
    EXPECT_EQ(c.checkIntervalSec, 5u);
    EXPECT_EQ(c.kubelet.host, "10.0.0.1");
    EXPECT_EQ(c.kubelet.port, 10255u);
    EXPECT_EQ(c.kubelet.clientCertPath, "/c.pem");
    EXPECT_EQ(c.kubelet.clientKeyPath, "/k.pem");
    EXPECT_TRUE(c.kubelet.skipVerify);
    EXPECT_EQ(c.apiServer.server, "https://10.96.0.1:443");
    EXPECT_EQ(c.httpTimeoutMs, 3000u);
    EXPECT_EQ(c.httpConnectTimeoutMs, 3000u);
    EXPECT_EQ(c.stateDirectory, "/var/lib/iops-limit");
}

TEST(ParseConfig, ExplicitlyEmptyExclusionListsDisableTheDefaults) {
    Config c = mustParse({{"EXCLUDE_KEYWORDS", ""}, {"EXCLUDE_NAMESPACES", ""}});
    EXPECT_TRUE(c.filter.keywords.empty());
    EXPECT_TRUE(c.filter.namespaces.empty());
}

TEST(ParseConfig, AcceptedSpellings) {
    EXPECT_EQ(mustParse({{"CGROUP_VERSION", "2"}}).cgroupVersion, CgroupVersion::V2);
    EXPECT_EQ(mustParse({{"CGROUP_VERSION", "v2"}}).cgroupVersion, CgroupVersion::V2);
    EXPECT_EQ(mustParse({{"CGROUP_VERSION", "1"}}).cgroupVersion, CgroupVersion::V1);
    EXPECT_FALSE(mustParse({{"CGROUP_VERSION", "auto"}}).cgroupVersion.has_value());
    EXPECT_EQ(mustParse({{"CGROUP_DRIVER", "systemd"}}).cgroupDriver, CgroupDriver::Systemd);
    EXPECT_FALSE(mustParse({{"CGROUP_DRIVER", "auto"}}).cgroupDriver.has_value());
    EXPECT_FALSE(mustParse({{"KUBELET_CGROUP_ROOT", "auto"}}).kubeletCgroupRoot.has_value());
    EXPECT_EQ(mustParse({{"LIMIT_BACKEND", "systemd"}}).backend, Backend::Systemd);
    EXPECT_EQ(mustParse({{"LIMIT_BACKEND", "cgroupfs"}}).backend, Backend::Cgroupfs);
    EXPECT_EQ(mustParse({{"CONTAINER_RUNTIME", "containerd"}}).containerRuntime, "containerd");
    EXPECT_EQ(mustParse({{"CONTAINER_RUNTIME", "docker"}}).containerRuntime, "docker");
    EXPECT_FALSE(mustParse({{"KUBELET_SKIP_VERIFY", "no"}}).kubelet.skipVerify);
    EXPECT_TRUE(mustParse({{"KUBELET_SKIP_VERIFY", "1"}}).kubelet.skipVerify);
    EXPECT_EQ(mustParse({{"CHECK_INTERVAL", "86400"}}).checkIntervalSec, 86400u);
    EXPECT_EQ(mustParse({{"KUBELET_PORT", "65535"}}).kubelet.port, 65535u);
    EXPECT_EQ(mustParse({{"KUBELET_PORT", "1"}}).kubelet.port, 1u);
}

struct BadCase {
    Environment env;
    std::string variable;  // the message must start with it
};

TEST(ParseConfig, InvalidValuesNameTheVariable) {
    const std::vector<BadCase> cases = {
        {{{"CONTAINER_IOPS_LIMIT", "abc"}}, "CONTAINER_IOPS_LIMIT"},
        {{{"CONTAINER_IOPS_LIMIT", "-5"}}, "CONTAINER_IOPS_LIMIT"},
        {{{"CONTAINER_IOPS_LIMIT", "1e9"}}, "CONTAINER_IOPS_LIMIT"},
        {{{"CONTAINER_READ_IOPS_LIMIT", "1.5"}}, "CONTAINER_READ_IOPS_LIMIT"},
        {{{"CONTAINER_WRITE_IOPS_LIMIT", "10k"}}, "CONTAINER_WRITE_IOPS_LIMIT"},
        {{{"CONTAINER_READ_BPS_LIMIT", "100m"}}, "CONTAINER_READ_BPS_LIMIT"},
        {{{"CONTAINER_WRITE_BPS_LIMIT", "-1Mi"}}, "CONTAINER_WRITE_BPS_LIMIT"},
        {{{"DATA_MOUNT", "data"}}, "DATA_MOUNT"},
        {{{"DATA_MOUNT", ","}}, "DATA_MOUNT"},
        {{{"DATA_MOUNT", ""}}, "DATA_MOUNT"},
        {{{"EXCLUDE_REGEXPS", "(["}}, "EXCLUDE_REGEXPS"},
        {{{"EXCLUDE_REGEXPS", "ok,*bad"}}, "EXCLUDE_REGEXPS"},
        {{{"EXCLUDE_LABEL_SELECTOR", "a in b"}}, "EXCLUDE_LABEL_SELECTOR"},
        {{{"EXCLUDE_LABEL_SELECTOR", "a ~ b"}}, "EXCLUDE_LABEL_SELECTOR"},
        {{{"CONTAINER_RUNTIME", "rkt"}}, "CONTAINER_RUNTIME"},
        {{{"CGROUP_VERSION", "v3"}}, "CGROUP_VERSION"},
        {{{"CGROUP_DRIVER", "openrc"}}, "CGROUP_DRIVER"},
        {{{"CGROUP_ROOT", "sys/fs/cgroup"}}, "CGROUP_ROOT"},
        {{{"LIMIT_BACKEND", "x"}}, "LIMIT_BACKEND"},
        {{{"CHECK_INTERVAL", "0"}}, "CHECK_INTERVAL"},
        {{{"CHECK_INTERVAL", "30s"}}, "CHECK_INTERVAL"},
        {{{"CHECK_INTERVAL", "-1"}}, "CHECK_INTERVAL"},
        {{{"CHECK_INTERVAL", "86401"}}, "CHECK_INTERVAL"},
        {{{"CHECK_INTERVAL", "99999999999999999999"}}, "CHECK_INTERVAL"},
        {{{"KUBELET_HOST", " "}}, "KUBELET_HOST"},
        {{{"KUBELET_PORT", "70000"}}, "KUBELET_PORT"},
        {{{"KUBELET_PORT", "0"}}, "KUBELET_PORT"},
        {{{"KUBELET_PORT", "http"}}, "KUBELET_PORT"},
        {{{"KUBELET_CLIENT_CERT_PATH", "/c.pem"}}, "KUBELET_CLIENT_KEY_PATH"},  // the missing half
        {{{"KUBELET_CLIENT_KEY_PATH", "/k.pem"}}, "KUBELET_CLIENT_CERT_PATH"},
        {{{"KUBELET_SKIP_VERIFY", "maybe"}}, "KUBELET_SKIP_VERIFY"},
        {{{"KUBE_API_SERVER", "10.96.0.1:443"}}, "KUBE_API_SERVER"},
        {{{"HTTP_TIMEOUT", "0"}}, "HTTP_TIMEOUT"},
        {{{"HTTP_TIMEOUT", "601"}}, "HTTP_TIMEOUT"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.env.begin()->first + "=" + c.env.begin()->second);
        auto r = parseConfig(c.env, "node-1");
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message.rfind(c.variable, 0), 0u) << r.error().message;
    }
}

TEST(ConfigVariables, EveryDocumentedVariableIsUnique) {
    const auto& vars = configVariables();
    EXPECT_GE(vars.size(), 25u);
    std::set<std::string> names;
    for (const auto& v : vars) {
        EXPECT_TRUE(names.insert(v.name).second) << v.name;
        EXPECT_NE(std::string(v.help), "");
    }
    for (const char* n : {"NODE_NAME", "CONTAINER_IOPS_LIMIT", "DATA_MOUNT", "EXCLUDE_KEYWORDS", "EXCLUDE_NAMESPACES",
                          "CHECK_INTERVAL", "KUBELET_PORT", "CGROUP_VERSION", "LIMIT_BACKEND"})
        EXPECT_EQ(names.count(n), 1u) << n;
}

TEST(BackendNames, All) {
    EXPECT_EQ(backendName(Backend::Auto), "auto");
    EXPECT_EQ(backendName(Backend::Systemd), "systemd");
    EXPECT_EQ(backendName(Backend::Cgroupfs), "cgroupfs");
}

}  // namespace
}  // namespace iopslimit::core

namespace iopslimit::core {
namespace {

TEST(MetricsAddress, OffByDefaultLoopbackWhenOnlyAPortIsGiven) {
    EXPECT_FALSE(mustParse({}).metrics);
    EXPECT_FALSE(mustParse({{"METRICS_ADDRESS", ""}}).metrics);
    for (const char* v : {"9863", ":9863", "localhost:9863", " 127.0.0.1:9863 "}) {
        Config c = mustParse({{"METRICS_ADDRESS", v}});
        ASSERT_TRUE(c.metrics) << v;
        EXPECT_EQ(c.metrics->str(), "127.0.0.1:9863") << v;
        EXPECT_TRUE(c.metrics->loopback());
    }
    Config any = mustParse({{"METRICS_ADDRESS", "0.0.0.0:9100"}});
    EXPECT_EQ(any.metrics->str(), "0.0.0.0:9100");
    EXPECT_FALSE(any.metrics->loopback());
    Config v6 = mustParse({{"METRICS_ADDRESS", "[::1]:9863"}});
    EXPECT_TRUE(v6.metrics->ipv6);
    EXPECT_EQ(v6.metrics->str(), "[::1]:9863");
    EXPECT_TRUE(v6.metrics->loopback());
    EXPECT_EQ(mustParse({{"METRICS_ADDRESS", "[fd00::2]:80"}}).metrics->host, "fd00::2");
}

TEST(MetricsAddress, BadValuesNameTheVariableAndSayWhy) {
    const std::vector<std::pair<const char*, const char*>> cases = {
        {"0", "port"}, {"65536", "port"}, {"abc", "port"}, {"127.0.0.1:", "port"}, {"127.0.0.1:-1", "port"},
        {"metrics.example:9863", "IPv4"}, {"256.0.0.1:9863", "IPv4"}, {"1.2.3:9863", "IPv4"},
        {"::1:9863", "brackets"}, {"[::1]", "[IPv6]:PORT"}, {"[::1]9863", "[IPv6]:PORT"}, {"[zz]:1", "IPv6"},
    };
    for (const auto& [value, why] : cases) {
        auto r = parseConfig({{"METRICS_ADDRESS", value}}, "node-1");
        ASSERT_FALSE(r) << value;
        EXPECT_NE(r.error().message.find("METRICS_ADDRESS"), std::string::npos) << r.error().message;
        EXPECT_NE(r.error().message.find(why), std::string::npos) << value << ": " << r.error().message;
    }
}

}  // namespace
}  // namespace iopslimit::core
