#include "daemon/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "daemon/log.h"

namespace iopslimit::daemon {

bool notify(std::string_view state) {
    static int fd = -1;
    static sockaddr_un addr{};
    static socklen_t addrLen = 0;
    static bool dropReported = false;
    if (addrLen == 0) {
        const char* path = std::getenv("NOTIFY_SOCKET");
        if (!path || !*path) return false;
        size_t n = std::strlen(path);
        if (n >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) return false;
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path, n);
        if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
        addrLen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n);
        fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    }
    if (fd < 0) return false;
    ssize_t r = ::sendto(fd, state.data(), state.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                         addrLen);
    if (r >= 0) return true;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && !dropReported) {
        dropReported = true;
        log::warning("The service manager is not reading our notifications (its queue is full); dropping them rather "
                     "than stalling");
    }
    return false;
}

}  // namespace iopslimit::daemon
