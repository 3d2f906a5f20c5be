#pragma once
// The HTTP edge of the metrics endpoint: libmicrohttpd in external-epoll mode, so the server is
// one more fd in the daemon's poll loop (no thread, no locks) and the page is rendered on the
// loop thread. Serves GET/HEAD /metrics; / says where the metrics are; anything else is 404/405.
#include <functional>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/result.h"

struct MHD_Daemon;

namespace iopslimit::daemon {

class MetricsServer {
public:
    using Render = std::function<std::string()>;
    static core::Result<std::unique_ptr<MetricsServer>> start(const core::MetricsAddress& addr, Render render);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    int fd() const;         // poll for POLLIN
    int timeoutMs() const;  // connection timeouts; -1 = none
    void dispatch();
    const core::MetricsAddress& address() const { return addr_; }
    // The answer to GET `path`: status and body (used by the HTTP callback).
    std::pair<unsigned, std::string> page(const std::string& path);

private:
    MetricsServer(core::MetricsAddress addr, Render render) : addr_(std::move(addr)), render_(std::move(render)) {}

    core::MetricsAddress addr_;
    Render render_;
    MHD_Daemon* mhd_ = nullptr;
    int epollFd_ = -1;
};

}  // namespace iopslimit::daemon
