// iops-limitd: parses the command line and the environment, wires the daemon and runs it.
#include <malloc.h>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "core/config.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "iopslimit_version.h"

extern char** environ;

namespace {

using namespace iopslimit;

struct Options {
    bool once = false;
    bool dryRun = false;
    bool verbose = false;
};

void usage(std::ostream& out) {
    out << "Usage: iops-limitd [--once] [--dry-run] [--verbose]\n"
           "Keeps every Kubernetes container's disk IOPS and bandwidth on this node within limits\n"
           "set by a node default and by iops-limit/* Pod annotations.\n\n"
           "  --once       reconcile once, print the result table and exit\n"
           "  --dry-run    print the plan (container, cgroup, limits, source) and change nothing\n"
           "  --verbose    also log debug messages\n"
           "  --help       show this help\n"
           "  --version    show the version\n\n"
           "Configuration comes from the environment (and, on reload, from the files named by\n"
           "IOPS_LIMIT_ENV_FILES, default /etc/default/iops-limit:/etc/sysconfig/iops-limit):\n";
    for (const auto& v : core::configVariables()) {
        std::string name = v.name;
        name.resize(28, ' ');
        out << "  " << name << v.help << (v.defaultValue[0] ? std::string(" [") + v.defaultValue + "]" : "") << "\n";
    }
    out << "\nExit status: 0 success; 1 invalid configuration or startup failure; 2 bad usage;\n"
           "3 (--once) some container could not be limited.\n";
}

core::Environment readEnvironment() {
    core::Environment env;
    for (char** e = environ; e && *e; ++e) {
        const char* eq = std::strchr(*e, '=');
        if (eq) env.emplace(std::string(*e, static_cast<size_t>(eq - *e)), std::string(eq + 1));
    }
    return env;
}

std::string hostName() {
    char buf[256] = {0};
    if (gethostname(buf, sizeof buf - 1) != 0) return {};
    return buf;
}

std::vector<std::string> envFiles(const core::Environment& env) {
    auto it = env.find("IOPS_LIMIT_ENV_FILES");
    std::string list = it != env.end() ? it->second : "/etc/default/iops-limit:/etc/sysconfig/iops-limit";
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= list.size()) {
        size_t j = list.find(':', i);
        if (j == std::string::npos) j = list.size();
        if (j > i) out.push_back(list.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

std::unique_ptr<sdbus::IConnection> connectSystemBus() {
    try {
        return sdbus::createSystemBusConnection();
    } catch (const sdbus::Error& e) {
        daemon::log::warning(std::string("Failed to connect to the system bus: ") + e.getMessage() +
                             "; no D-Bus API and no systemd backend");
        return nullptr;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // One malloc arena for our few threads: the fetch and watch threads' pod lists would
    // otherwise each keep their own arena's high-water mark resident.
    mallopt(M_ARENA_MAX, 1);
    Options opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--once") opt.once = true;
        else if (a == "--dry-run") opt.dryRun = true;
        else if (a == "--verbose" || a == "-v") opt.verbose = true;
        else if (a == "--help" || a == "-h") { usage(std::cout); return 0; }
        else if (a == "--version") { std::cout << "iops-limitd " << IOPSLIMIT_VERSION << "\n"; return 0; }
        else {
            std::cerr << "iops-limitd: unknown option '" << a << "'\n";
            usage(std::cerr);
            return 2;
        }
    }
    daemon::log::setVerbose(opt.verbose);
    const bool longRunning = !opt.once && !opt.dryRun;

    core::Environment env = readEnvironment();
    // Validate the configuration before touching the bus: a bad variable is one clear line.
    auto cfg = core::parseConfig(env, hostName());
    if (!cfg) {
        daemon::log::error("Invalid configuration: " + cfg.error().message);
        return 1;
    }
    std::unique_ptr<sdbus::IConnection> bus;
    if (longRunning || cfg->backend != core::Backend::Cgroupfs) bus = connectSystemBus();

    // Long-running: block the signals we read from a signalfd before any thread exists (the
    // fetch and watch threads inherit the mask), or SIGTERM could land on one of them and kill
    // the process without a clean stop.
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    if (longRunning) sigprocmask(SIG_BLOCK, &mask, nullptr);

    daemon::Daemon d(env, hostName(), envFiles(env), bus.get());
    if (auto st = d.start(longRunning); !st) {
        daemon::log::error(st.error().message);
        return 1;
    }
    if (!longRunning) return d.once(opt.dryRun);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        daemon::log::error(std::string("Failed to create signalfd: ") + std::strerror(errno));
        return 1;
    }
    int rc = d.run(sfd);
    ::close(sfd);
    return rc;
}
