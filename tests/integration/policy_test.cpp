// Who may lift a limit, end to end: the running daemon with a node policy and a PodList of hostile
// annotations (0, max, 999999999, per-container keys, mixed-case keys, a key twice in the JSON),
// the namespace policy through the emulated API server (list, then a watch event that lowers a
// ceiling), a reload that tightens the node ceiling, trusted namespaces, and what status, list,
// explain, the metrics and the journal say about it.
#include "daemon_fixture.h"

using namespace testing_support;

namespace {

// riops of the container's io.max: a number, or -1 for "max" (no limit), -2 for no line.
long readIops(const std::string& ioMax) {
    auto p = ioMax.find("riops=");
    if (p == std::string::npos) return -2;
    std::string v = ioMax.substr(p + 6, ioMax.find(' ', p) - p - 6);
    return v == "max" ? -1 : std::stol(v);
}

class Policy : public RunningDaemon {
protected:
    void SetUp() override {
        RunningDaemon::SetUp();
        Json::Value list;
        std::ifstream(tmp_.path() / "pods.json") >> list;
        const std::map<std::string, std::map<std::string, std::string>> hostile = {
            {"e2e-hpa-6cd8d99884-tggnr", {{"iops-limit/limit", "0"}}},
            {"e2e-scraper-5f97dc94d8-vkcjl", {{"iops-limit/limit", "max"}}},
            {"e2e-deployment-79967c5968-8bnn8", {{"iops-limit/read-iops", "999999999"}, {"iops-limit/write-iops", "999999999"}}},
            {"e2e-statefulset-1", {{"iops-limit/limit", "10"}, {"iops-limit/limit.compute-pi-digits", "0"}}},
            {"e2e-kube-state-metrics-75b885dc9-97mtr", {{"IOPS-LIMIT/limit", "0"}, {"iops-limit/LIMIT", "0"}}},
            {"e2e-deployment-79967c5968-zjslc", {{"iops-limit/limit", "DUPLICATE"}}},
            {"e2e-daemonset-kb65b", {{"iops-limit/bps", "0"}}},
        };
        for (auto& item : list["items"]) {
            auto h = hostile.find(item["metadata"]["name"].asString());
            if (h == hostile.end()) continue;
            for (const auto& [k, v] : h->second) item["metadata"]["annotations"][k] = v;
        }
        Json::StreamWriterBuilder compact;
        compact["indentation"] = "";
        std::string text = Json::writeString(compact, list);
        // The same key twice in one object: JSON allows it, decoders pick one; either must be bounded.
        const std::string once = "\"iops-limit/limit\":\"DUPLICATE\"";
        ASSERT_NE(text.find(once), std::string::npos);
        text.replace(text.find(once), once.size(), "\"iops-limit/limit\":\"100\",\"iops-limit/limit\":\"0\"");
        writeText(tmp_.path() / "pods.json", text);
        namespaces("250", "150");
        emu_ = std::make_unique<Emulator>(Emulator::Options{(tmp_.path() / "pods.json").string(), false, true, "normal",
                                                            "normal", 10, (tmp_.path() / "namespaces.json").string()});
        extraEnv_["KUBE_API_SERVER"] = emu_->baseUrl();
        extraEnv_["KUBE_CA_PATH"] = (certDir() / "ca.crt").string();
        extraEnv_["KUBE_TOKEN_PATH"] = (certDir() / "token").string();
        extraEnv_["POD_MAX_IOPS"] = "300";
        extraEnv_["POD_MAX_BPS"] = "50Mi";
        metricsPort_ = freePort();
        extraEnv_["METRICS_ADDRESS"] = "127.0.0.1:" + std::to_string(metricsPort_);
    }
    Json::Value namespaceJson(const std::string& max, const std::string& def) {
        Json::Value ns;
        ns["kind"] = "Namespace";
        ns["metadata"]["name"] = "scraper";
        ns["metadata"]["annotations"]["iops-limit/max-iops"] = max;
        ns["metadata"]["annotations"]["iops-limit/default-iops"] = def;
        ns["metadata"]["annotations"]["team"] = "scraping";
        return ns;
    }
    void namespaces(const std::string& max, const std::string& def) {
        Json::Value list;
        list["kind"] = "NamespaceList";
        list["items"].append(namespaceJson(max, def));
        Json::Value ks;
        ks["metadata"]["name"] = "kube-system";
        list["items"].append(ks);
        writeText(tmp_.path() / "namespaces.json", Json::writeString(Json::StreamWriterBuilder(), list));
    }
    // The largest read IOPS limit among the scraper pods' running containers (-1: one is unlimited).
    long worstScraper() {
        long worst = 0;
        for (const auto& c : containers_) {
            if (c.ns != "scraper") continue;
            long v = readIops(ioMax(c.pod));
            if (v == -1 || v == -2) return v;
            worst = std::max(worst, v);
        }
        return worst;
    }
    int metricsPort_ = 0;
};

TEST_F(Policy, NothingEscapesTheCeilingsAndALoweredCeilingTightensAtOnce) {
    startBus(false);
    startDaemon();
    ASSERT_TRUE(waitFor([&] { return property("NamespacePolicy") == "s \"watching\"\n"; })) << property("NamespacePolicy");
    // The namespace's ceiling (250) is below the node's (300); its default (150) is for pods that ask nothing.
    ASSERT_TRUE(waitFor([&] { return readIops(ioMax("e2e-hpa-6cd8d99884-tggnr")) == 250; })) << ioMax("e2e-hpa-6cd8d99884-tggnr")
                                                                                            << daemon_->err();
    EXPECT_EQ(readIops(ioMax("e2e-scraper-5f97dc94d8-vkcjl")), 250);          // "max"
    EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=250 wiops=250\n");  // 999999999
    EXPECT_EQ(readIops(ioMax("e2e-statefulset-1")), 250);                     // container key 0 beats pod key 10
    EXPECT_EQ(readIops(ioMax("e2e-statefulset-0")), 200);                     // within: as asked
    EXPECT_EQ(readIops(ioMax("e2e-kube-state-metrics-75b885dc9-97mtr")), 150);  // not our keys: namespace default
    long dup = readIops(ioMax("e2e-deployment-79967c5968-zjslc"));
    EXPECT_TRUE(dup == 100 || dup == 250) << ioMax("e2e-deployment-79967c5968-zjslc");  // bounded whichever wins
    EXPECT_EQ(ioMax("e2e-daemonset-kb65b"), "259:0 rbps=52428800 wbps=52428800 riops=150 wiops=150\n");  // bps 0 -> 50Mi
    EXPECT_LE(worstScraper(), 250);
    EXPECT_EQ(ioMax("coredns-7d764666f9-qdcxt"), "") << daemon_->err();  // excluded stays excluded

    // Visible everywhere.
    std::string explain = ctl("explain scraper/e2e-hpa-6cd8d99884-tggnr").out;
    EXPECT_NE(explain.find("read-iops: 250 from pod-annotation (iops-limit/limit); policy: read-iops: annotation 0 "
                           "(unlimited) -> clamped to namespace scraper iops-limit/max-iops 250"),
              std::string::npos)
        << explain;
    std::string list = ctl("list").out;
    EXPECT_NE(list.find("annotation*"), std::string::npos) << list;
    EXPECT_NE(list.find("bounded by the policy"), std::string::npos) << list;
    EXPECT_NE(ctl("list --json").out.find("\"policy\":\"read-iops: annotation 0 (unlimited) -> clamped to"), std::string::npos);
    std::string status = ctl("status").out;
    EXPECT_NE(status.find("Policy: pod annotations at most read 300 / write 300 IOPS, read 50Mi / write 50Mi B/s"),
              std::string::npos)
        << status;
    EXPECT_NE(status.find("namespace policy: watching"), std::string::npos) << status;
    std::string page = metrics(metricsPort_);
    EXPECT_GE(metricValue(page, "iopslimit_policy_clamps_total{reason=\"namespace\"}"), 5) << page;
    EXPECT_GE(metricValue(page, "iopslimit_policy_clamps_total{reason=\"POD_MAX_BPS\"}"), 2);
    EXPECT_GE(metricValue(page, "iopslimit_clamped_containers"), 6);
    EXPECT_GE(metricValue(page, "iopslimit_containers{source=\"namespace\"}"), 1);
    std::string err = daemon_->err();
    EXPECT_NE(err.find("Policy bounded what pod scraper/e2e-hpa-6cd8d99884-tggnr asks for container php-apache: "
                       "read-iops: annotation 0 (unlimited) -> clamped to namespace scraper iops-limit/max-iops 250"),
              std::string::npos)
        << err;
    // Once per container and change, not per pass.
    ASSERT_EQ(call("Resync").exitCode, 0);
    err = daemon_->err();
    size_t n = 0;
    const std::string line = "Policy bounded what pod scraper/e2e-hpa-6cd8d99884-tggnr asks for container php-apache: "
                             "read-iops: annotation 0 (unlimited) -> clamped to namespace scraper";
    for (size_t p = 0; (p = err.find(line, p)) != std::string::npos; ++p) ++n;
    EXPECT_EQ(n, 1u);
    EXPECT_NE(err.find("unknown iops-limit annotation key"), std::string::npos);  // iops-limit/LIMIT

    // The cluster admin lowers the namespace's ceiling: a watch event, in force within a second.
    namespaces("120", "150");
    auto t0 = std::chrono::steady_clock::now();
    Json::Value ev;
    ev["type"] = "MODIFIED";
    ev["object"] = namespaceJson("120", "150");
    emu_->control("/event", Json::writeString(Json::StreamWriterBuilder(), ev));
    EXPECT_TRUE(waitFor([&] { return worstScraper() == 120; }, std::chrono::seconds(3))) << worstScraper();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
    EXPECT_EQ(readIops(ioMax("e2e-kube-state-metrics-75b885dc9-97mtr")), 120);  // its default too

    // The node operator lowers POD_MAX_IOPS: the reload tightens every container at once.
    writeText(tmp_.path() / "iops-limit.env", "POD_MAX_IOPS=100\nPOD_MAX_BPS=50Mi\n");
    ASSERT_EQ(ctl("reload").exitCode, 0);
    EXPECT_EQ(readIops(ioMax("e2e-hpa-6cd8d99884-tggnr")), 100);
    EXPECT_EQ(readIops(ioMax("e2e-statefulset-0")), 100);  // its 200 is above the new ceiling
    EXPECT_EQ(readIops(ioMax("e2e-kube-state-metrics-75b885dc9-97mtr")), 120);  // a default: not a pod's request

    // An invalid policy is refused, naming the variable; the running one stays.
    writeText(tmp_.path() / "iops-limit.env", "POD_MAX_IOPS=100\nPOD_MIN_IOPS=500\n");
    RunResult bad = ctl("reload");
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_NE(bad.err.find("POD_MIN_IOPS=\"500\": above POD_MAX_IOPS=100"), std::string::npos) << bad.err;
    EXPECT_EQ(readIops(ioMax("e2e-hpa-6cd8d99884-tggnr")), 100);

    // A trusted namespace: its pods' annotations are honoured as written.
    writeText(tmp_.path() / "iops-limit.env", "POD_MAX_IOPS=100\nTRUSTED_NAMESPACES=scraper\n");
    ASSERT_EQ(ctl("reload").exitCode, 0);
    EXPECT_EQ(readIops(ioMax("e2e-hpa-6cd8d99884-tggnr")), -1);
    EXPECT_EQ(readIops(ioMax("e2e-statefulset-0")), 200);
    EXPECT_EQ(readIops(ioMax("e2e-deployment-79967c5968-8bnn8")), 999999999);
}

TEST_F(Policy, WithoutPolicyStatusWarnsAndANamespaceWatchThatIsForbiddenSaysSo) {
    emu_->control("/mode?namespaces=403");
    startBus(false);
    startDaemon();
    ASSERT_TRUE(waitFor([&] { return property("NamespacePolicy").find("HTTP 403") != std::string::npos; }))
        << property("NamespacePolicy");
    EXPECT_NE(ctl("status").out.find("namespaces is forbidden"), std::string::npos) << ctl("status").out;
    daemon_->stop();

    extraEnv_.erase("POD_MAX_IOPS");
    extraEnv_.erase("POD_MAX_BPS");
    extraEnv_.erase("KUBE_API_SERVER");
    startDaemon();
    EXPECT_EQ(readIops(ioMax("e2e-hpa-6cd8d99884-tggnr")), -1);  // no policy: the seed's behaviour
    EXPECT_NE(ctl("status").out.find("Policy: none: any pod may lift its own limit"), std::string::npos) << ctl("status").out;
    EXPECT_EQ(property("NamespacePolicy"), "s \"off: no API server configured\"\n");
    EXPECT_NE(daemon_->err().find("No policy bounds Pod annotations: any pod may lift its own limit"), std::string::npos);
}

}  // namespace
