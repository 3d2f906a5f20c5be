// iops-limitd --once / --dry-run as a process: recorded PodList over HTTPS from the emulator,
// a temp cgroup tree (both drivers, both versions), a fake data disk (partition -> whole disk).
#include <gtest/gtest.h>
#include <json/json.h>

#include "harness.h"

using namespace testing_support;

namespace {

const std::string kFixture = std::string(IOPSLIMIT_TEST_DATA) + "/nri-kubernetes_1_35_kubelet_pods.json";

const char* kV1Files[] = {"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
                          "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device"};

struct Case {
    bool v2;
    bool systemd;
};

class DaemonOnce : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        makeFakeDisk(tmp_.path());
        Json::Value list = loadJson(kFixture);
        for (auto& item : list["items"]) {
            std::string name = item["metadata"]["name"].asString();
            auto& ann = item["metadata"]["annotations"];
            if (name == "e2e-statefulset-0") ann["iops-limit/limit"] = "200";
            if (name == "e2e-statefulset-1") ann["iops-limit/write-iops"] = "abc";  // bad: default stays
            if (name == "e2e-scraper-5f97dc94d8-vkcjl") {
                ann["iops-limit/read-bps"] = "10Mi";
                ann["iops-limit/write-iops.e2e-scraper"] = "0";  // container key: unlimited writes
            }
        }
        podsFile_ = tmp_.path() / "pods.json";
        writeText(podsFile_, Json::writeString(Json::StreamWriterBuilder(), list));
        containers_ = runningContainers(list);
        root_ = tmp_.path() / "cgroup";
        fs::path h = GetParam().v2 ? root_ : root_ / "blkio";
        if (GetParam().v2) writeText(root_ / "cgroup.controllers", "cpuset cpu io memory pids\n");
        for (const auto& c : containers_) {
            fs::path dir = h / cgroupOf(c, GetParam().systemd);
            if (GetParam().v2) writeText(dir / "io.max", "");
            else
                for (const char* f : kV1Files) writeText(dir / f, "");
        }
        hierarchy_ = h;
    }

    std::map<std::string, std::string> env(const Emulator& emu) const {
        auto e = emu.kubeletEnv();
        e["CGROUP_ROOT"] = root_.string();
        e["DATA_MOUNT"] = "/data";
        e["IOPS_LIMIT_PROC_ROOT"] = (tmp_.path() / "proc").string();
        e["IOPS_LIMIT_SYS_ROOT"] = (tmp_.path() / "sys").string();
        e["NODE_NAME"] = "datagen-1-35";
        e["STATE_DIRECTORY"] = (tmp_.path() / "state").string();
        return e;
    }

    RunResult daemon(const Emulator& emu, std::vector<std::string> args, std::map<std::string, std::string> extra = {}) {
        auto e = env(emu);
        for (auto& [k, v] : extra) e[k] = v;
        args.insert(args.begin(), IOPSLIMITD_PATH);
        return run(args, e, tmp_.path());
    }

    // What the container's cgroup holds for 259:0, as "riops wiops rbps wbps" ("-" if no line).
    std::string inForce(const Ctr& c) const {
        fs::path dir = hierarchy_ / cgroupOf(c, GetParam().systemd);
        if (GetParam().v2) {
            std::string text = readText(dir / "io.max");
            if (text.empty()) return "-";
            EXPECT_EQ(text.rfind("259:0 ", 0), 0u) << text;  // the whole disk, never the partition
            return text;
        }
        std::string out;
        for (const char* f : kV1Files) {
            std::string t = readText(dir / f);
            out += (t.empty() ? "-" : t.substr(0, t.size() - 1)) + ";";
        }
        return out;
    }

    const Ctr& find(const std::string& pod) const {
        for (const auto& c : containers_)
            if (c.pod == pod) return c;
        throw std::runtime_error("no container for " + pod);
    }

    TempDir tmp_;
    fs::path podsFile_, root_, hierarchy_;
    std::vector<Ctr> containers_;
};

TEST_P(DaemonOnce, AppliesDefaultsAnnotationsAndExclusions) {
    Emulator emu({podsFile_.string()});
    RunResult r = daemon(emu, {"--once"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.err.find("Successfully got 24 pods from kubelet API"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Data disk nvme0n1 (259:0) for /data (file system on partition nvme0n1p1)"),
              std::string::npos)
        << r.err;
    const bool v2 = GetParam().v2;
    auto expect = [&](uint64_t ri, uint64_t wi, const std::string& rb) {
        auto s = [](uint64_t v) { return v ? std::to_string(v) : std::string("max"); };
        if (v2) return "259:0 rbps=" + rb + " wbps=max riops=" + s(ri) + " wiops=" + s(wi) + "\n";
        auto line = [](uint64_t v) { return v ? "259:0 " + std::to_string(v) : std::string("-"); };
        return line(ri) + ";" + line(wi) + ";" + line(rb == "max" ? 0 : std::stoull(rb)) + ";-;";
    };
    // Annotated pod: 200; bad annotation falls back to the default for that key only.
    EXPECT_EQ(inForce(find("e2e-statefulset-0")), expect(200, 200, "max"));
    EXPECT_EQ(inForce(find("e2e-statefulset-1")), expect(500, 500, "max"));
    EXPECT_NE(r.err.find("Failed to parse annotation iops-limit/write-iops=\"abc\" of pod scraper/e2e-statefulset-1"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(inForce(find("e2e-scraper-5f97dc94d8-vkcjl")), expect(500, 0, "10485760"));
    EXPECT_EQ(inForce(find("e2e-deployment-79967c5968-8bnn8")), expect(500, 500, "max"));
    // kube-system is excluded: nothing written.
    EXPECT_EQ(inForce(find("coredns-7d764666f9-qdcxt")), v2 ? "-" : "-;-;-;-;");
    EXPECT_NE(r.err.find("Applied Pod-specific IOPS limit for container " + find("e2e-statefulset-0").id +
                         " (pod: scraper/e2e-statefulset-0): 200"),
              std::string::npos);
    EXPECT_NE(r.err.find("Applied default IOPS limit for container " + find("e2e-deployment-79967c5968-8bnn8").id + ": 500"),
              std::string::npos);

    // Second pass: everything already in force, nothing written.
    RunResult again = daemon(emu, {"--once"});
    ASSERT_EQ(again.exitCode, 0) << again.err;
    EXPECT_EQ(again.out.find(" applied"), std::string::npos) << again.out;
    EXPECT_NE(again.out.find(" unchanged"), std::string::npos);
    EXPECT_EQ(again.err.find("Applied "), std::string::npos) << again.err;
}

TEST_P(DaemonOnce, DryRunPrintsThePlanAndChangesNothing) {
    Emulator emu({podsFile_.string()});
    RunResult r = daemon(emu, {"--dry-run"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out.rfind("NAMESPACE", 0), 0u);
    EXPECT_NE(r.out.find("e2e-statefulset-0"), std::string::npos);
    EXPECT_NE(r.out.find("annotation"), std::string::npos);
    EXPECT_NE(r.out.find("planned"), std::string::npos);
    EXPECT_NE(r.out.find(cgroupOf(find("e2e-statefulset-0"), GetParam().systemd)), std::string::npos) << r.out;
    for (const auto& c : containers_) EXPECT_EQ(inForce(c), GetParam().v2 ? "-" : "-;-;-;-;") << c.pod;
}

TEST_P(DaemonOnce, FallsBackToTheApiServerWhenTheKubeletRefuses) {
    Emulator emu({podsFile_.string(), false, true, "403"});
    RunResult r = daemon(emu, {"--once"},
                         {{"KUBELET_CLIENT_CERT_PATH", ""},
                          {"KUBELET_CLIENT_KEY_PATH", ""},
                          {"KUBE_API_SERVER", emu.baseUrl()},
                          {"KUBE_CA_PATH", (certDir() / "ca.crt").string()},
                          {"KUBE_TOKEN_PATH", (certDir() / "token").string()}});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.err.find("Failed to get pods from kubelet API: HTTP 403: Forbidden (user=system:node:test-node"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(", falling back to API Server"), std::string::npos);
    EXPECT_NE(r.err.find("Successfully got 24 pods from API Server"), std::string::npos) << r.err;
    EXPECT_NE(inForce(find("e2e-statefulset-0")).find("200"), std::string::npos);
}

TEST_P(DaemonOnce, WithoutAnyPodSourceKeepsLimitsAndGivesTheDefaultOnlyWhereNoneIs) {
    // One container already carries a (stricter) limit set earlier; the kubelet is unreachable.
    const Ctr& limited = find("e2e-statefulset-0");
    fs::path dir = hierarchy_ / cgroupOf(limited, GetParam().systemd);
    if (GetParam().v2) writeText(dir / "io.max", "259:0 rbps=max wbps=max riops=77 wiops=77\n");
    else {
        writeText(dir / "blkio.throttle.read_iops_device", "259:0 77\n");
        writeText(dir / "blkio.throttle.write_iops_device", "259:0 77\n");
    }
    Emulator emu({podsFile_.string(), true, true, "down"});
    RunResult r = daemon(emu, {"--once"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.err.find("Failed to get pods from kubelet API"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("No pod source reachable at start"), std::string::npos) << r.err;
    EXPECT_NE(inForce(limited).find("77"), std::string::npos) << inForce(limited);
    EXPECT_EQ(inForce(limited).find("500"), std::string::npos);
    EXPECT_NE(inForce(find("e2e-deployment-79967c5968-8bnn8")).find("500"), std::string::npos);
}

TEST_P(DaemonOnce, AVanishedContainerIsReportedAndTheRestApplied) {
    const Ctr& gone = find("e2e-statefulset-1");
    fs::remove_all(hierarchy_ / cgroupOf(gone, GetParam().systemd));
    Emulator emu({podsFile_.string()});
    RunResult r = daemon(emu, {"--once"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("missing"), std::string::npos) << r.out;
    EXPECT_NE(inForce(find("e2e-statefulset-0")).find("200"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(AllLayouts, DaemonOnce,
                         ::testing::Values(Case{true, true}, Case{true, false}, Case{false, true}, Case{false, false}),
                         [](const auto& info) {
                             return std::string(info.param.v2 ? "V2" : "V1") + (info.param.systemd ? "Systemd" : "Cgroupfs");
                         });

// Startup errors: one clear line naming the variable, exit 1, nothing touched.
class DaemonConfig : public ::testing::Test {
protected:
    void SetUp() override { makeFakeDisk(tmp_.path()); }
    RunResult start(std::map<std::string, std::string> env) {
        env.emplace("IOPS_LIMIT_PROC_ROOT", (tmp_.path() / "proc").string());
        env.emplace("IOPS_LIMIT_SYS_ROOT", (tmp_.path() / "sys").string());
        env.emplace("DATA_MOUNT", "/data");
        env.emplace("KUBELET_HOST", "127.0.0.1");
        env.emplace("KUBELET_PORT", "1");
        env.emplace("STATE_DIRECTORY", (tmp_.path() / "state").string());
        return run({IOPSLIMITD_PATH, "--once"}, env, tmp_.path());
    }
    TempDir tmp_;
};

TEST_F(DaemonConfig, InvalidValuesStopTheDaemonNamingTheVariable) {
    const std::pair<const char*, const char*> cases[] = {
        {"CONTAINER_IOPS_LIMIT", "abc"},   {"CONTAINER_IOPS_LIMIT", "-5"},      {"CONTAINER_IOPS_LIMIT", "1e9"},
        {"CHECK_INTERVAL", "soon"},        {"EXCLUDE_LABEL_SELECTOR", "a in b"}, {"EXCLUDE_REGEXPS", "(["},
        {"CGROUP_VERSION", "v3"},          {"KUBELET_PORT", "99999"},           {"CONTAINER_WRITE_BPS_LIMIT", "10Q"},
    };
    for (const auto& [var, value] : cases) {
        RunResult r = start({{var, value}});
        EXPECT_EQ(r.exitCode, 1) << var << "=" << value;
        EXPECT_NE(r.err.find(std::string("Invalid configuration: ") + var), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_TRUE(r.out.empty());
    }
}

TEST_F(DaemonConfig, AMissingDataMountIsWaitedForAndOnlyNoDiskAtAllStopsAOnceRun) {
    // The long-running daemon waits for it (tests/integration/node_events_test.cpp); --once
    // limits what it can and says what it could not.
    RunResult r = start({{"DATA_MOUNT", "/data,/srv/nowhere"}});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.err.find("Waiting for DATA_MOUNT /srv/nowhere: /srv/nowhere does not exist"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Data disk nvme0n1 (259:0) for /data"), std::string::npos) << r.err;
    r = start({{"DATA_MOUNT", "/srv/nowhere"}});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("No data disk to limit: DATA_MOUNT /srv/nowhere: /srv/nowhere does not exist"), std::string::npos)
        << r.err;
}

// Credentials under /root or /home are hidden by the packaged unit's ProtectHome=: every error
// about such a file says so, names the setting and where credentials belong.
TEST_F(DaemonConfig, CredentialsUnderHomeAreNamedWithProtectHome) {
    RunResult r = start({{"KUBELET_TOKEN_PATH", "/root/iops-limit-test-absent/token"},
                         {"KUBELET_CA_PATH", "/home/iops-limit-test-absent/ca.crt"},
                         {"KUBE_API_SERVER", "https://127.0.0.1:1"},
                         {"KUBE_TOKEN_PATH", "/etc/iops-limit-test-absent/token"}});
    EXPECT_EQ(r.exitCode, 0) << r.err;  // no source: the fallback, nothing failed
    const std::string hint = "iops-limitd.service has ProtectHome=yes, which hides /root, /home and /run/user from it";
    EXPECT_NE(r.err.find("KUBELET_TOKEN_PATH=/root/iops-limit-test-absent/token: cannot read it: No such file or directory; " + hint),
              std::string::npos) << r.err;
    EXPECT_NE(r.err.find("KUBELET_CA_PATH=/home/iops-limit-test-absent/ca.crt: cannot read it"), std::string::npos) << r.err;
    // The fetch itself says it too.
    EXPECT_NE(r.err.find("Failed to get pods from kubelet API: cannot read /home/iops-limit-test-absent/ca.crt: No such "
                         "file or directory; " + hint),
              std::string::npos) << r.err;
    // A path elsewhere gets no such hint.
    auto elsewhere = r.err.find("KUBE_TOKEN_PATH=/etc/iops-limit-test-absent/token: cannot read it: No such file or directory");
    ASSERT_NE(elsewhere, std::string::npos) << r.err;
    EXPECT_EQ(r.err.substr(elsewhere, r.err.find('\n', elsewhere) - elsewhere).find("ProtectHome"), std::string::npos);
    r = start({{"KUBECONFIG", "/root/iops-limit-test-absent/kubelet.conf"}});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("Invalid configuration: KUBECONFIG=/root/iops-limit-test-absent/kubelet.conf: "), std::string::npos);
    EXPECT_NE(r.err.find(hint), std::string::npos) << r.err;
}

TEST(DaemonCli, HelpVersionAndBadUsage) {
    TempDir t;
    RunResult help = run({IOPSLIMITD_PATH, "--help"}, {}, t.path());
    EXPECT_EQ(help.exitCode, 0);
    for (const char* var : {"NODE_NAME", "CONTAINER_IOPS_LIMIT", "DATA_MOUNT", "EXCLUDE_LABEL_SELECTOR", "KUBELET_TOKEN_PATH"})
        EXPECT_NE(help.out.find(var), std::string::npos) << var;
    RunResult version = run({IOPSLIMITD_PATH, "--version"}, {}, t.path());
    EXPECT_EQ(version.exitCode, 0);
    EXPECT_EQ(version.out.rfind("iops-limitd ", 0), 0u);
    RunResult bad = run({IOPSLIMITD_PATH, "--frobnicate"}, {}, t.path());
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_NE(bad.err.find("unknown option '--frobnicate'"), std::string::npos);
}

}  // namespace

namespace {

std::string base64(const std::string& in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
    }
    if (i + 1 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16;
        out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
    }
    return out;
}

TEST_P(DaemonOnce, ReachesTheApiServerThroughTheKubeletsKubeconfig) {
    // The API server wants the node's client certificate, as with kubeadm's kubelet.conf;
    // the kubelet itself is unreachable, so the pods must come from the API server.
    Emulator emu({podsFile_.string(), true, false});
    const fs::path& c = certDir();
    std::string kubeconfig =
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        "    certificate-authority-data: " + base64(readText(c / "ca.crt")) + "\n"
        "    server: " + emu.baseUrl() + "\n"
        "  name: default-cluster\n"
        "contexts:\n"
        "- context:\n"
        "    cluster: default-cluster\n"
        "    namespace: default\n"
        "    user: default-auth\n"
        "  name: default-context\n"
        "current-context: default-context\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        "- name: default-auth\n"
        "  user:\n"
        "    client-certificate-data: " + base64(readText(c / "client.crt")) + "\n"
        "    client-key: pki/client.key   # relative to the kubeconfig\n";
    writeText(tmp_.path() / "kubelet.conf", kubeconfig);
    fs::create_directories(tmp_.path() / "pki");
    fs::copy_file(c / "client.key", tmp_.path() / "pki/client.key");
    RunResult r = daemon(emu, {"--once"}, {{"KUBELET_PORT", "1"}, {"KUBECONFIG", (tmp_.path() / "kubelet.conf").string()}});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.err.find("Successfully got 24 pods from API Server"), std::string::npos) << r.err;
    EXPECT_NE(inForce(find("e2e-statefulset-0")).find("200"), std::string::npos);

    writeText(tmp_.path() / "broken.conf", "apiVersion: v1\nclusters: [ {name: x} ]\n");
    RunResult bad = daemon(emu, {"--once"}, {{"KUBELET_PORT", "1"}, {"KUBECONFIG", (tmp_.path() / "broken.conf").string()}});
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_NE(bad.err.find("Invalid configuration: KUBECONFIG="), std::string::npos) << bad.err;
}

}  // namespace
