#pragma once
// Where pods come from: the kubelet's /pods (first) and the API server's pod list (fallback).
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/pod.h"
#include "kube/http_client.h"

namespace iopslimit::kube {

class PodSource {
public:
    virtual ~PodSource() = default;
    virtual core::Result<core::PodList> list() = 0;
    virtual core::PodSourceKind kind() const = 0;
    // Polled during a transfer; true stops it (the daemon stopping or reloading).
    virtual void setAbort(std::function<bool()> abort) = 0;
};

class KubeletPodSource : public PodSource {
public:
    KubeletPodSource(const core::Config& cfg, HttpGetter& http);
    core::Result<core::PodList> list() override;
    core::PodSourceKind kind() const override { return core::PodSourceKind::Kubelet; }
    void setAbort(std::function<bool()> abort) override { req_.abort = std::move(abort); }
    const std::string& url() const { return req_.url; }

private:
    HttpRequest req_;
    HttpGetter& http_;
};

class ApiServerPodSource : public PodSource {
public:
    ApiServerPodSource(const core::Config& cfg, HttpGetter& http);
    core::Result<core::PodList> list() override;
    core::PodSourceKind kind() const override { return core::PodSourceKind::ApiServer; }
    void setAbort(std::function<bool()> abort) override { req_.abort = std::move(abort); }
    const std::string& url() const { return req_.url; }

private:
    HttpRequest req_;
    HttpGetter& http_;
    std::string nodeName_;
};

// One failed attempt of a fetch.
struct SourceFailure {
    core::PodSourceKind source = core::PodSourceKind::None;
    std::string error;
};

// What a fetch brought: the node's pods and where they came from, or why every source failed.
struct FetchResult {
    std::optional<core::PodList> pods;
    core::PodSourceKind source = core::PodSourceKind::None;  // where pods came from
    std::vector<SourceFailure> failures;                     // in the order the sources were asked
    double seconds = 0;                                      // how long the whole fetch took
    // Every failure in one line: "<kubelet error>; API server: <error>".
    std::string error() const;
};

// The kubelet first, the API server as the fallback; either may be absent. One fetch at a time
// (a second caller waits); it touches nothing but the sources, so it may run on any thread.
class PodSourceChain {
public:
    PodSourceChain(PodSource* kubelet, PodSource* apiserver) : kubelet_(kubelet), apiserver_(apiserver) {}
    FetchResult fetch();
    bool hasApiServer() const { return apiserver_ != nullptr; }

private:
    PodSource* kubelet_;
    PodSource* apiserver_;
    std::mutex m_;
};

// Fetch + status check + decode, shared by both sources.
core::Result<core::PodList> fetchPodList(HttpGetter& http, HttpRequest req);

// TLS settings for the API server (files or a kubeconfig's inline PEM).
TlsOptions apiServerTls(const core::ApiServerConfig& a);

// Percent-encodes a query value.
std::string urlEncode(std::string_view s);

}  // namespace iopslimit::kube
