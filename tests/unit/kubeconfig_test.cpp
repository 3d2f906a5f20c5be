#include "core/kubeconfig.h"

#include <gtest/gtest.h>

using namespace iopslimit::core;

namespace {

// The shape kubeadm writes to /etc/kubernetes/kubelet.conf (certificate files, inline CA).
constexpr const char* kKubeletConf = R"(apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://10.0.0.1:6443/
  name: default-cluster
contexts:
- context:
    cluster: default-cluster
    namespace: default
    user: default-auth
  name: default-context
current-context: default-context
kind: Config
preferences: {}
users:
- name: default-auth
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
)";

TEST(Kubeconfig, KubeletConfOfKubeadm) {
    auto c = parseKubeconfig(kKubeletConf, "/etc/kubernetes");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->server, "https://10.0.0.1:6443");
    EXPECT_EQ(c->caPem, "-----BEGIN");
    EXPECT_EQ(c->clientCertPath, "/var/lib/kubelet/pki/kubelet-client-current.pem");
    EXPECT_EQ(c->clientKeyPath, "/var/lib/kubelet/pki/kubelet-client-current.pem");
    EXPECT_FALSE(c->skipVerify);
}

TEST(Kubeconfig, RefusesFlowMappingsAndResolvesRelativePaths) {
    auto c = parseKubeconfig(R"(
# two clusters, quoted values, comments
clusters:
  - name: a
    cluster: {server: nope}
  - name: "b"
    cluster:
      server: 'https://b.example:443'   # comment
      certificate-authority: ca.crt
      insecure-skip-tls-verify: true
contexts:
  - name: ctx-a
    context: {cluster: a}
  - name: ctx-b
    context:
      cluster: b
      user: u
current-context: ctx-b
users:
  - name: u
    user:
      tokenFile: tokens/t
)", "/etc/k");
    ASSERT_FALSE(c);  // the flow mapping of cluster a is not supported, and says so
    EXPECT_NE(c.error().message.find("unsupported YAML construct"), std::string::npos) << c.error().message;

    auto d = parseKubeconfig(R"(clusters:
  - name: "b"
    cluster:
      server: 'https://b.example:443'   # comment
      certificate-authority: ca.crt
      insecure-skip-tls-verify: true
contexts:
  - name: ctx-b
    context:
      cluster: b
      user: u
current-context: ctx-b
users:
  - name: u
    user:
      tokenFile: tokens/t
      token: "abc"
)", "/etc/k");
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->server, "https://b.example:443");
    EXPECT_EQ(d->caPath, "/etc/k/ca.crt");
    EXPECT_TRUE(d->skipVerify);
    EXPECT_EQ(d->tokenPath, "/etc/k/tokens/t");
    EXPECT_EQ(d->token, "abc");
}

TEST(Kubeconfig, ErrorsNameWhatIsMissing) {
    const std::pair<const char*, const char*> cases[] = {
        {"", "no current-context"},
        {"current-context: x\ncontexts:\n- name: y\n  context:\n    cluster: c\n", "context \"x\" not found"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n", "cluster \"c\" not found"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\nclusters:\n- name: c\n  cluster:\n    server: ftp://h\n",
         "no http(s) server"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\nclusters:\n- name: c\n  cluster:\n    server: https://h\n",
         "user \"u\" not found"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\nclusters:\n- name: c\n  cluster:\n    server: https://h\n"
         "users:\n- name: u\n  user:\n    exec:\n      command: aws\n",
         "exec/auth-provider plugin"},
        {"clusters:\n\t- name: c\n", "tab in indentation"},
        {"a: b\n  c: d\n", "unexpected indentation"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\nclusters:\n- name: c\n  cluster:\n    server: https://h\n"
         "    certificate-authority-data: not*base64\n",
         "invalid base64"},
    };
    for (const auto& [text, want] : cases) {
        auto c = parseKubeconfig(text, "");
        ASSERT_FALSE(c) << text;
        EXPECT_NE(c.error().message.find(want), std::string::npos) << c.error().message << "\n" << text;
    }
}

TEST(Base64, DecodesAndRejects) {
    EXPECT_EQ(decodeBase64("aGVsbG8=").value(), "hello");
    EXPECT_EQ(decodeBase64("aGVs\nbG8h").value(), "hello!");
    EXPECT_EQ(decodeBase64("").value(), "");
    EXPECT_FALSE(decodeBase64("aGV*"));
    EXPECT_FALSE(decodeBase64("aG=Vs"));
}

}  // namespace
