// The entrypoint of the runc containers of systemd_latency.sh: as its first action it writes
// CLOCK_MONOTONIC in ns to the file ARGV[1] (the host's clock: containers get no time namespace),
// then waits for a signal. Linked statically so that a rootfs holds nothing but this file. As
// PID 1 of its PID namespace it would ignore SIGTERM without a handler.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace {
void quit(int) { _exit(0); }
}  // namespace

int main(int argc, char** argv) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (argc != 2) return 2;
    char buf[32];
    int len = std::snprintf(buf, sizeof buf, "%lld\n", static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
    int fd = ::open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, buf, static_cast<size_t>(len)) != len || ::close(fd) != 0) return 1;
    struct sigaction sa {};
    sa.sa_handler = quit;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    for (;;) pause();
}
