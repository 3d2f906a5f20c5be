#include "daemon/metrics_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "daemon/log.h"

namespace iopslimit::daemon {

namespace {

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextType = "text/plain; charset=utf-8";

void mhdLog(void*, const char* fmt, va_list ap) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    std::string s(buf);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    log::debug("Metrics endpoint: " + s);
}

MHD_Result reply(MHD_Connection* c, unsigned status, const std::string& body, const char* type,
                 const char* allow = nullptr) {
    MHD_Response* r =
        MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

MHD_Result onRequest(void* cls, MHD_Connection* c, const char* url, const char* method, const char*, const char*,
                     size_t* uploadSize, void** conCls) {
    auto* self = static_cast<MetricsServer*>(cls);
    bool readOnly = std::strcmp(method, MHD_HTTP_METHOD_GET) == 0 || std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (*conCls == nullptr) {
        *conCls = self;  // first call: headers only
        if (!readOnly) return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Only GET and HEAD.\n", kTextType, "GET, HEAD");
        if (*uploadSize == 0) {
            auto [status, body] = self->page(url);
            return reply(c, status, body, status == MHD_HTTP_OK && std::strcmp(url, "/metrics") == 0 ? kMetricsType : kTextType);
        }
    }
    *uploadSize = 0;  // a body is discarded, never buffered
    return MHD_YES;
}

}  // namespace

std::pair<unsigned, std::string> MetricsServer::page(const std::string& path) {
    if (path == "/metrics") return {MHD_HTTP_OK, render_()};
    if (path == "/") return {MHD_HTTP_OK, "iops-limitd: Prometheus metrics at /metrics\n"};
    return {MHD_HTTP_NOT_FOUND, "Not found; the metrics are at /metrics.\n"};
}

core::Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const core::MetricsAddress& addr, Render render) {
    std::unique_ptr<MetricsServer> s(new MetricsServer(addr, std::move(render)));
    sockaddr_storage ss{};
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (addr.ipv6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(addr.port);
        if (inet_pton(AF_INET6, addr.host.c_str(), &a->sin6_addr) != 1)
            return core::makeError("METRICS_ADDRESS: not an IPv6 address: " + addr.host, EINVAL);
        flags |= MHD_USE_IPv6;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(addr.port);
        if (inet_pton(AF_INET, addr.host.c_str(), &a->sin_addr) != 1)
            return core::makeError("METRICS_ADDRESS: not an IPv4 address: " + addr.host, EINVAL);
    }
    errno = 0;
    s->mhd_ = MHD_start_daemon(flags, addr.port, nullptr, nullptr, &onRequest, s.get(),
                               MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&ss),
                               MHD_OPTION_CONNECTION_LIMIT, 16u,
                               MHD_OPTION_PER_IP_CONNECTION_LIMIT, 8u,
                               MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(32 * 1024),
                               MHD_OPTION_EXTERNAL_LOGGER, &mhdLog, nullptr,
                               MHD_OPTION_END);
    if (!s->mhd_) {
        int e = errno;
        return core::makeError("Failed to listen for metrics on " + addr.str() + (e ? std::string(": ") + std::strerror(e) : ""), e);
    }
    const MHD_DaemonInfo* info = MHD_get_daemon_info(s->mhd_, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) return core::makeError("Failed to set up the metrics endpoint (no epoll fd)");
    s->epollFd_ = info->epoll_fd;
    return s;
}

MetricsServer::~MetricsServer() {
    if (mhd_) MHD_stop_daemon(mhd_);
}

int MetricsServer::fd() const { return epollFd_; }

int MetricsServer::timeoutMs() const {
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(mhd_, &ms) != MHD_YES) return -1;
    return ms > 60000 ? 60000 : static_cast<int>(ms);
}

void MetricsServer::dispatch() { MHD_run(mhd_); }

}  // namespace iopslimit::daemon
