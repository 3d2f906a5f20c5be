// The kubelet and API-server clients over real HTTPS (libcurl) against the loopback emulator.
#include <gtest/gtest.h>

#include "core/config.h"
#include "harness.h"
#include "kube/http_client.h"
#include "kube/pod_sources.h"

using namespace testing_support;
using iopslimit::core::Config;
using iopslimit::core::parseConfig;

namespace {

const std::string kPods = std::string(IOPSLIMIT_TEST_DATA) + "/nri-kubernetes_1_35_kubelet_pods.json";

Config configFor(const Emulator& emu, std::map<std::string, std::string> extra = {}) {
    auto env = emu.kubeletEnv();
    env["NODE_NAME"] = "datagen-1-35";
    for (auto& [k, v] : extra) env[k] = v;
    auto cfg = parseConfig(env, "host");
    if (!cfg) throw std::runtime_error(cfg.error().message);
    return cfg.value();
}

TEST(KubeletSource, FetchesPodsWithClientCertificateAndToken) {
    Emulator emu({kPods});
    iopslimit::kube::CurlHttpGetter http;
    Config cfg = configFor(emu);
    iopslimit::kube::KubeletPodSource src(cfg, http);
    auto pods = src.list();
    ASSERT_TRUE(pods) << pods.error().message;
    EXPECT_EQ(pods->pods.size(), 24u);
    std::string stats = emu.stats();
    EXPECT_NE(stats.find("\"last_auth_header\": \"Bearer " + readText(certDir() / "token") + "\""), std::string::npos)
        << stats;
    EXPECT_NE(stats.find("system:node:test-node"), std::string::npos) << stats;
}

TEST(KubeletSource, WithoutClientCertificateTheHandshakeFails) {
    Emulator emu({kPods});
    iopslimit::kube::CurlHttpGetter http;
    Config cfg = configFor(emu, {{"KUBELET_CLIENT_CERT_PATH", ""}, {"KUBELET_CLIENT_KEY_PATH", ""}});
    auto pods = iopslimit::kube::KubeletPodSource(cfg, http).list();
    ASSERT_FALSE(pods);
    // How the refusal surfaces depends on timing (alert read, send or recv error); each names it.
    EXPECT_NE(pods.error().message.find("certificate"), std::string::npos) << pods.error().message;
}

TEST(KubeletSource, UnknownServerCaIsATlsError) {
    Emulator emu({kPods});
    iopslimit::kube::CurlHttpGetter http;
    Config cfg = configFor(emu, {{"KUBELET_CA_PATH", (certDir() / "other-ca.crt").string()}});
    auto pods = iopslimit::kube::KubeletPodSource(cfg, http).list();
    ASSERT_FALSE(pods);
    EXPECT_NE(pods.error().message.find("TLS error"), std::string::npos) << pods.error().message;

    // The same server is accepted when verification is explicitly skipped.
    Config skip = configFor(emu, {{"KUBELET_CA_PATH", (certDir() / "other-ca.crt").string()},
                                  {"KUBELET_SKIP_VERIFY", "true"}});
    auto ok = iopslimit::kube::KubeletPodSource(skip, http).list();
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->pods.size(), 24u);
}

TEST(KubeletSource, ForbiddenShowsTheKubeletsPlainTextBody) {
    Emulator emu({kPods, true, true, "403"});
    iopslimit::kube::CurlHttpGetter http;
    auto pods = iopslimit::kube::KubeletPodSource(configFor(emu), http).list();
    ASSERT_FALSE(pods);
    EXPECT_EQ(pods.error().message,
              "HTTP 403: Forbidden (user=system:node:test-node, verb=get, resource=nodes, subresource(s)=[proxy])");
}

TEST(KubeletSource, TokenIsReReadOnEveryRequest) {
    Emulator emu({kPods});
    TempDir t;
    fs::path token = t.path() / "token";
    writeText(token, readText(certDir() / "token"));
    iopslimit::kube::CurlHttpGetter http;
    Config cfg = configFor(emu, {{"KUBELET_TOKEN_PATH", token.string()}});
    iopslimit::kube::KubeletPodSource src(cfg, http);
    ASSERT_TRUE(src.list());
    writeText(token, "rotated-but-wrong");
    auto denied = src.list();
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().message, "HTTP 401: Unauthorized");
    writeText(token, readText(certDir() / "token") + "\n");  // trailing newline is tolerated
    EXPECT_TRUE(src.list());
    fs::remove(token);
    auto missing = src.list();
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("cannot read token file"), std::string::npos);
}

TEST(KubeletSource, SlowKubeletTimesOut) {
    Emulator emu({kPods, true, true, "slow", "normal", 5});
    iopslimit::kube::CurlHttpGetter http;
    auto start = std::chrono::steady_clock::now();
    auto pods = iopslimit::kube::KubeletPodSource(configFor(emu, {{"HTTP_TIMEOUT", "1"}}), http).list();
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(pods);
    EXPECT_NE(pods.error().message.find("timed out"), std::string::npos) << pods.error().message;
    EXPECT_LT(took, std::chrono::seconds(4));
}

TEST(KubeletSource, GarbageIsABadResponseNotACrash) {
    Emulator emu({kPods, true, true, "garbage"});
    iopslimit::kube::CurlHttpGetter http;
    auto pods = iopslimit::kube::KubeletPodSource(configFor(emu), http).list();
    ASSERT_FALSE(pods);
    EXPECT_EQ(pods.error().message.rfind("bad response: invalid JSON", 0), 0u) << pods.error().message;
}

TEST(KubeletSource, RefusedConnectionIsNamed) {
    Config cfg = parseConfig({{"KUBELET_HOST", "127.0.0.1"}, {"KUBELET_PORT", "1"}}, "h").value();
    iopslimit::kube::CurlHttpGetter http;
    auto pods = iopslimit::kube::KubeletPodSource(cfg, http).list();
    ASSERT_FALSE(pods);
    EXPECT_NE(pods.error().message.find("connection refused"), std::string::npos) << pods.error().message;
}

TEST(ApiServerSource, ListsOnlyThisNodesPods) {
    // The API server authenticates by token here (no client certificate).
    iopslimit::kube::CurlHttpGetter http;
    Emulator open({kPods, false, true});
    Config cfg2 = configFor(open, {{"KUBE_API_SERVER", open.baseUrl()},
                                   {"KUBE_CA_PATH", (certDir() / "ca.crt").string()},
                                   {"KUBE_TOKEN_PATH", (certDir() / "token").string()}});
    iopslimit::kube::ApiServerPodSource src(cfg2, http);
    EXPECT_NE(src.url().find("fieldSelector=spec.nodeName%3Ddatagen-1-35"), std::string::npos) << src.url();
    auto pods = src.list();
    ASSERT_TRUE(pods) << pods.error().message;
    EXPECT_EQ(pods->pods.size(), 24u);
    EXPECT_FALSE(pods->resourceVersion.empty());

    Config other = configFor(open, {{"KUBE_API_SERVER", open.baseUrl()},
                                    {"KUBE_CA_PATH", (certDir() / "ca.crt").string()},
                                    {"KUBE_TOKEN_PATH", (certDir() / "token").string()},
                                    {"NODE_NAME", "another-node"}});
    auto none = iopslimit::kube::ApiServerPodSource(other, http).list();
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_TRUE(none->pods.empty());
}

}  // namespace
