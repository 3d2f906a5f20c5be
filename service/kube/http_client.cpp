#include "kube/http_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "core/config.h"

namespace iopslimit::kube {

using core::makeError;
using core::Result;

namespace {

struct Sink {
    CURL* curl;
    const HttpRequest* req;
    std::string* body;
    size_t total = 0;
    bool tooLarge = false;
    bool rejected = false;  // the streaming consumer gave up
};

size_t onData(char* ptr, size_t size, size_t nmemb, void* user) {
    auto* sink = static_cast<Sink*>(user);
    size_t n = size * nmemb;
    sink->total += n;
    if (sink->total > sink->req->maxBodyBytes) {
        sink->tooLarge = true;
        return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    long status = 0;
    curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
    if (sink->req->onBody && status >= 200 && status <= 299) {
        if (!sink->req->onBody(std::string_view(ptr, n))) {
            sink->rejected = true;
            return 0;
        }
        return n;
    }
    if (sink->req->onBody && sink->body->size() > 65536) return n;  // an error body: the start is enough
    sink->body->append(ptr, n);
    return n;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* req = static_cast<const HttpRequest*>(user);
    return req->abort && req->abort() ? 1 : 0;
}

Result<std::string> readToken(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        std::string hint = core::protectHomeHint(path);
        return makeError("cannot read token file " + path + ": " + std::strerror(errno) + (hint.empty() ? "" : "; " + hint));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = ss.str();
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) return makeError("token file " + path + " is empty");
    if (t.find_first_of("\r\n") != std::string::npos) return makeError("token file " + path + " holds several lines");
    return t;
}

std::string describe(CURLcode rc, const char* errbuf, const HttpRequest& req) {
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    // A server that demands a client certificate drops the connection during or right after
    // the handshake; curl then reports a recv error, or even a failed getpeername().
    bool noClientCert = req.tls.clientCertPath.empty() && req.tls.clientCertPem.empty();
    bool peerDropped = rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
                       rc == CURLE_SSL_CONNECT_ERROR || detail.find("getpeername") != std::string::npos;
    if (peerDropped && noClientCert && req.url.rfind("https://", 0) == 0)
        return "TLS handshake failed or connection dropped (" + detail +
               "); the server may require a client certificate";
    switch (rc) {
        case CURLE_COULDNT_CONNECT: return "connection refused or unreachable (" + detail + ")";
        case CURLE_COULDNT_RESOLVE_HOST: return "cannot resolve host (" + detail + ")";
        case CURLE_OPERATION_TIMEDOUT:
            return "timed out (connect " + std::to_string(req.connectTimeoutMs) + " ms, total " +
                   std::to_string(req.timeoutMs) + " ms): " + detail;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ENGINE_INITFAILED:
            return "TLS error: " + detail;
        case CURLE_ABORTED_BY_CALLBACK: return "stopped";
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
            return "connection closed by peer (" + detail + ")";
        default: return detail;
    }
}

}  // namespace

Result<HttpResponse> CurlHttpGetter::get(const HttpRequest& req) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

    // An unreadable credential file is named as such (curl's words for it are TLS errors).
    for (const std::string* file : {&req.tls.caPath, &req.tls.clientCertPath, &req.tls.clientKeyPath})
        if (!file->empty() && ::access(file->c_str(), R_OK) != 0) {
            std::string hint = core::protectHomeHint(*file);
            return makeError("cannot read " + *file + ": " + std::strerror(errno) + (hint.empty() ? "" : "; " + hint));
        }
    std::string auth;
    if (!req.token.empty()) auth = "Authorization: Bearer " + req.token;
    if (!req.tokenPath.empty()) {
        auto token = readToken(req.tokenPath);
        if (!token) return token.error();
        auth = "Authorization: Bearer " + *token;
    }
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return makeError("curl_easy_init failed");
    CURL* h = curl.get();
    HttpResponse resp;
    Sink sink{h, &req, &resp.body};
    char errbuf[CURL_ERROR_SIZE] = {0};
    struct curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Accept: application/json");
    if (!auth.empty()) headers = curl_slist_append(headers, auth.c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headerGuard(headers, curl_slist_free_all);

    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onData);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req.connectTimeoutMs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req.timeoutMs);
    if (req.lowSpeedTimeSec > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req.lowSpeedTimeSec);
    }
    if (req.abort) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, onProgress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &req);
    }
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "iops-limitd");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // gzip if the server offers it
    auto blob = [](const std::string& s) {
        return curl_blob{const_cast<char*>(s.data()), s.size(), CURL_BLOB_COPY};
    };
    if (!req.tls.caPem.empty()) {
        curl_blob b = blob(req.tls.caPem);
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    } else if (!req.tls.caPath.empty()) {
        curl_easy_setopt(h, CURLOPT_CAINFO, req.tls.caPath.c_str());
    }
    if (!req.tls.clientCertPem.empty()) {
        curl_blob b = blob(req.tls.clientCertPem);
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    } else if (!req.tls.clientCertPath.empty()) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, req.tls.clientCertPath.c_str());
    }
    if (!req.tls.clientKeyPem.empty()) {
        curl_blob b = blob(req.tls.clientKeyPem);
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (!req.tls.clientKeyPath.empty()) {
        curl_easy_setopt(h, CURLOPT_SSLKEY, req.tls.clientKeyPath.c_str());
    }
    if (req.tls.skipVerify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    if (sink.rejected) return resp;  // the consumer knows why
    if (sink.tooLarge)
        return makeError("response larger than " + std::to_string(req.maxBodyBytes >> 20) + " MiB");
    if (rc != CURLE_OK) return makeError(describe(rc, errbuf, req));
    return resp;
}

std::string describeHttpError(const HttpResponse& r) {
    std::string body = r.body.substr(0, 300);
    auto nl = body.find('\n');
    if (nl != std::string::npos) body.resize(nl);
    for (char& c : body)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return "HTTP " + std::to_string(r.status) + (body.empty() ? "" : ": " + body);
}

}  // namespace iopslimit::kube
