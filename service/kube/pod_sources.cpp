#include "kube/pod_sources.h"

#include "core/podlist_decoder.h"
#include "kube/list_watch.h"

#include <cctype>
#include <chrono>
#include <cstdio>

namespace iopslimit::kube {

using core::makeError;
using core::Result;

std::string urlEncode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

TlsOptions apiServerTls(const core::ApiServerConfig& a) {
    TlsOptions t;
    t.caPath = a.caPath;
    t.clientCertPath = a.clientCertPath;
    t.clientKeyPath = a.clientKeyPath;
    t.caPem = a.caPem;
    t.clientCertPem = a.clientCertPem;
    t.clientKeyPem = a.clientKeyPem;
    t.skipVerify = a.skipVerify;
    return t;
}

Result<core::PodList> fetchPodList(HttpGetter& http, HttpRequest req) {
    // Decoded while it streams in: the response is never held whole.
    core::PodListDecoder decoder;
    req.onBody = [&decoder](std::string_view chunk) { return decoder.feed(chunk); };
    auto resp = http.get(req);
    if (!resp) return resp.error();
    if (resp->status < 200 || resp->status > 299) return makeError(describeHttpError(*resp), static_cast<int>(resp->status));
    auto list = decoder.finish();
    if (!list) return makeError("bad response: " + list.error().message);
    return list;
}

namespace {

std::string hostForUrl(const std::string& host) {
    // Bare IPv6 literals need brackets in a URL.
    if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
    return host;
}

}  // namespace

KubeletPodSource::KubeletPodSource(const core::Config& cfg, HttpGetter& http) : http_(http) {
    req_.url = "https://" + hostForUrl(cfg.kubelet.host) + ":" + std::to_string(cfg.kubelet.port) + "/pods";
    req_.tokenPath = cfg.kubelet.tokenPath;
    req_.tls.caPath = cfg.kubelet.caPath;
    req_.tls.clientCertPath = cfg.kubelet.clientCertPath;
    req_.tls.clientKeyPath = cfg.kubelet.clientKeyPath;
    req_.tls.skipVerify = cfg.kubelet.skipVerify;
    req_.connectTimeoutMs = cfg.httpConnectTimeoutMs;
    req_.timeoutMs = cfg.httpTimeoutMs;
}

Result<core::PodList> KubeletPodSource::list() { return fetchPodList(http_, req_); }

ApiServerPodSource::ApiServerPodSource(const core::Config& cfg, HttpGetter& http)
    : req_(apiServerRequest(cfg)), http_(http), nodeName_(cfg.nodeName) {
    req_.url = cfg.apiServer.server + "/api/v1/pods?fieldSelector=" + urlEncode("spec.nodeName=" + cfg.nodeName);
}

Result<core::PodList> ApiServerPodSource::list() {
    auto list = fetchPodList(http_, req_);
    if (!list) return list;
    // Defence in depth: never act on another node's pods, even if the server ignores the selector.
    auto& pods = list.value().pods;
    std::erase_if(pods, [&](const core::Pod& p) { return !p.nodeName.empty() && p.nodeName != nodeName_; });
    return list;
}

std::string FetchResult::error() const {
    std::string out;
    for (const auto& f : failures) {
        if (!out.empty()) out += "; ";
        if (f.source == core::PodSourceKind::ApiServer && !out.empty()) out += "API server: ";
        out += f.error;
    }
    return out;
}

FetchResult PodSourceChain::fetch() {
    std::lock_guard lock(m_);
    auto start = std::chrono::steady_clock::now();
    FetchResult f;
    for (PodSource* src : {kubelet_, apiserver_}) {
        if (!src) continue;
        auto pods = src->list();
        if (pods) {
            f.pods = std::move(pods).value();
            f.source = src->kind();
            break;
        }
        f.failures.push_back({src->kind(), pods.error().message});
    }
    f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return f;
}

}  // namespace iopslimit::kube
