#pragma once
// HTTP(S) GET over libcurl with the TLS options a kubelet or API server needs.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace iopslimit::kube {

struct TlsOptions {
    std::string caPath;
    std::string clientCertPath;
    std::string clientKeyPath;
    bool skipVerify = false;
    // Inline PEM (a kubeconfig's *-data fields); used when set.
    std::string caPem, clientCertPem, clientKeyPem;
};

struct HttpRequest {
    std::string url;
    std::string tokenPath;  // bearer token file, read at every request (tokens rotate)
    std::string token;      // or a fixed bearer token (a kubeconfig's token)
    TlsOptions tls;
    long connectTimeoutMs = 5000;
    long timeoutMs = 30000;
    size_t maxBodyBytes = 64u << 20;
    // When set, a 2xx body is handed over chunk by chunk as it arrives instead of being kept
    // (other statuses are still kept, for the error message). Returning false aborts.
    std::function<bool(std::string_view)> onBody;
    // Streams: 0 = no total timeout; a transfer slower than 1 byte/s for lowSpeedTimeSec fails
    // (a silent watch is a dead watch); abort() returning true stops the transfer.
    long lowSpeedTimeSec = 0;
    std::function<bool()> abort;
};

struct HttpResponse {
    long status = 0;
    std::string body;
};

// The port: fetches a URL. Transport failures (refused, TLS, timeout, body too large, unreadable
// token) are errors with their cause; any HTTP status is a response.
class HttpGetter {
public:
    virtual ~HttpGetter() = default;
    virtual core::Result<HttpResponse> get(const HttpRequest& req) = 0;
};

class CurlHttpGetter : public HttpGetter {
public:
    core::Result<HttpResponse> get(const HttpRequest& req) override;
};

// "HTTP 403: Forbidden (user=…)" from a non-2xx response: status plus the first line of the body.
std::string describeHttpError(const HttpResponse& r);

}  // namespace iopslimit::kube
