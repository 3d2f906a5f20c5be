#pragma once
// Where pods come from: the kubelet's /pods (first) and the API server's pod list (fallback).
#include <functional>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/pod.h"
#include "kube/http_client.h"

namespace iopslimit::kube {

class PodSource {
public:
    virtual ~PodSource() = default;
    virtual core::Result<core::PodList> list() = 0;
    virtual std::string name() const = 0;  // "kubelet" | "apiserver"
    // Polled during a transfer; true stops it (the daemon stopping or reloading).
    virtual void setAbort(std::function<bool()> abort) = 0;
};

class KubeletPodSource : public PodSource {
public:
    KubeletPodSource(const core::Config& cfg, HttpGetter& http);
    core::Result<core::PodList> list() override;
    std::string name() const override { return "kubelet"; }
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
    std::string name() const override { return "apiserver"; }
    void setAbort(std::function<bool()> abort) override { req_.abort = std::move(abort); }
    const std::string& url() const { return req_.url; }

private:
    HttpRequest req_;
    HttpGetter& http_;
    std::string nodeName_;
};

// Fetch + status check + decode, shared by both sources.
core::Result<core::PodList> fetchPodList(HttpGetter& http, HttpRequest req);

// TLS settings for the API server (files or a kubeconfig's inline PEM).
TlsOptions apiServerTls(const core::ApiServerConfig& a);

// Percent-encodes a query value.
std::string urlEncode(std::string_view s);

}  // namespace iopslimit::kube
