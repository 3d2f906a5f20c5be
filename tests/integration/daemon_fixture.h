#pragma once
// The running daemon on a private dbus-daemon (never the host's system bus), over a temp cgroup
// tree, a fake data disk and the loopback kubelet emulator: the fixture of the running-daemon
// tests, with the bus, busctl/iops-limitctl/dbus-send helpers, sd_notify and signal recorders.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "harness.h"
#include "iopslimit1_proxy.h"

namespace testing_support {


inline const std::string kFixture = std::string(IOPSLIMIT_TEST_DATA) + "/nri-kubernetes_1_35_kubelet_pods.json";
inline const std::string kPolicy = std::string(IOPSLIMIT_SOURCE_DIR) + "/dbus/io.iopslimit1.conf";

// A system-like bus: "loose" lets anyone call anything (so only the daemon's own uid check
// stands), "strict" is the default-deny system policy plus our shipped policy file.
inline std::string busConfig(const fs::path& socket, bool strict) {
    std::string c = "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
                    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n"
                    "  <type>system</type>\n  <listen>unix:path=" + socket.string() + "</listen>\n"
                    "  <auth>EXTERNAL</auth>\n";
    if (strict) {
        c += "  <policy context=\"default\">\n"
             "    <allow user=\"*\"/>\n    <deny own=\"*\"/>\n    <deny send_type=\"method_call\"/>\n"
             "    <allow send_type=\"signal\"/>\n"
             "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
             "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
             "    <allow receive_type=\"method_call\"/>\n    <allow receive_type=\"method_return\"/>\n"
             "    <allow receive_type=\"error\"/>\n    <allow receive_type=\"signal\"/>\n"
             "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\"/>\n"
             "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
             "  </policy>\n  <include>" + kPolicy + "</include>\n";
    } else {
        c += "  <policy context=\"default\">\n    <allow user=\"*\"/>\n    <allow own=\"*\"/>\n"
             "    <allow send_destination=\"*\"/>\n    <allow receive_sender=\"*\"/>\n  </policy>\n";
    }
    return c + "</busconfig>\n";
}

// A TCP socket bound to a port the kernel chose on 127.0.0.1; the port in `port`.
inline int bindLoopback(int& port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

// A TCP port nobody listens on right now (bound then released).
inline int freePort() {
    int port = 0;
    close(bindLoopback(port));
    return port;
}

// The value of the sample whose line starts with `series` (name and labels exactly), or NaN.
inline double metricValue(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return std::nan("");
}

// Collects sd_notify datagrams sent to NOTIFY_SOCKET.
class NotifySocket {
public:
    explicit NotifySocket(const fs::path& path) : path_(path) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    ~NotifySocket() { close(fd_); }
    std::string drain() {
        char buf[4096];
        ssize_t n;
        while ((n = recv(fd_, buf, sizeof buf, 0)) > 0) all_ += std::string(buf, static_cast<size_t>(n)) + "\n";
        return all_;
    }

private:
    fs::path path_;
    int fd_;
    std::string all_;
};

class Recorder : public sdbus::ProxyInterfaces<io::iopslimit1::Manager_proxy> {
public:
    explicit Recorder(sdbus::IConnection& bus) : ProxyInterfaces(bus, "io.iopslimit1", "/io/iopslimit1") { registerProxy(); }
    ~Recorder() { unregisterProxy(); }
    std::string applied() {
        std::lock_guard l(m_);
        return applied_;
    }

private:
    void onLimitApplied(const std::string& ns, const std::string& pod, const std::string& container,
                        const std::string&, const std::string& target, const uint64_t& ri, const uint64_t& wi,
                        const uint64_t&, const uint64_t&) override {
        std::lock_guard l(m_);
        applied_ += ns + "/" + pod + "/" + container + " " + std::to_string(ri) + " " + std::to_string(wi) + " " + target + "\n";
    }
    void onLimitFailed(const std::string&, const std::string&, const std::string&, const std::string&,
                       const std::string&) override {}
    void onAdaptiveLimitChanged(const std::string&, const std::string&, const std::string&, const std::string& id,
                                const std::string& action, const uint64_t& ri, const uint64_t&, const uint64_t&,
                                const uint64_t&, const std::string& reason) override {
        std::lock_guard l(m_);
        adaptive_ += action + " " + id + " " + std::to_string(ri) + " " + reason + "\n";
    }
    std::mutex m_;
    std::string applied_, adaptive_;

public:
    std::string adaptive() {
        std::lock_guard l(m_);
        return adaptive_;
    }
};

class RunningDaemon : public ::testing::Test {
protected:
    void SetUp() override {
        fs::permissions(tmp_.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                         fs::perms::others_read | fs::perms::others_exec);
        makeFakeDisk(tmp_.path());
        Json::Value list;
        std::ifstream(kFixture) >> list;
        for (auto& item : list["items"])
            if (item["metadata"]["name"].asString() == "e2e-statefulset-0")
                item["metadata"]["annotations"]["iops-limit/limit"] = "200";
        writeText(tmp_.path() / "pods.json", Json::writeString(Json::StreamWriterBuilder(), list));
        containers_ = runningContainers(list);
        writeText(tmp_.path() / "cgroup/cgroup.controllers", "io\n");
        for (const auto& c : containers_) writeText(tmp_.path() / "cgroup" / cgroupOf(c, true) / "io.max", "");
        emu_ = std::make_unique<Emulator>(Emulator::Options{(tmp_.path() / "pods.json").string()});
    }

    void startBus(bool strict) {
        fs::path sock = tmp_.path() / "bus.sock";
        writeText(tmp_.path() / "bus.conf", busConfig(sock, strict));
        bus_ = std::make_unique<Process>(
            std::vector<std::string>{"/usr/bin/dbus-daemon", "--config-file=" + (tmp_.path() / "bus.conf").string(),
                                     "--nofork", "--nopidfile"},
            std::map<std::string, std::string>{}, tmp_.path(), "dbus");
        ASSERT_TRUE(waitFor([&] { return fs::exists(sock); })) << bus_->err();
        address_ = "unix:path=" + sock.string();
    }

    std::map<std::string, std::string> daemonEnv() const {
        auto e = emu_->kubeletEnv();
        e["DBUS_SYSTEM_BUS_ADDRESS"] = address_;
        e["CGROUP_ROOT"] = (tmp_.path() / "cgroup").string();
        e["DATA_MOUNT"] = "/data";
        e["IOPS_LIMIT_PROC_ROOT"] = (tmp_.path() / "proc").string();
        e["IOPS_LIMIT_SYS_ROOT"] = (tmp_.path() / "sys").string();
        e["NODE_NAME"] = "datagen-1-35";
        e["STATE_DIRECTORY"] = (tmp_.path() / "state").string();
        e["CHECK_INTERVAL"] = "3600";
        e["IOPS_LIMIT_ENV_FILES"] = (tmp_.path() / "iops-limit.env").string();
        e["NOTIFY_SOCKET"] = (tmp_.path() / "notify").string();
        for (const auto& [k, v] : extraEnv_) e[k] = v;
        return e;
    }

    void startDaemon() {
        daemon_ = std::make_unique<Process>(std::vector<std::string>{IOPSLIMITD_PATH}, daemonEnv(), tmp_.path(), "daemon");
        ASSERT_TRUE(waitFor([&] {
            return busctl("status io.iopslimit1").exitCode == 0 || !daemon_->running();
        })) << daemon_->err();
        ASSERT_TRUE(daemon_->running()) << daemon_->err();
    }

    RunResult shell(const std::string& cmd, bool nobody = false) {
        std::string full = (nobody ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "") + cmd;
        return run({"/bin/sh", "-c", full}, {{"DBUS_SYSTEM_BUS_ADDRESS", address_}}, tmp_.path());
    }
    RunResult busctl(const std::string& args, bool nobody = false) {
        return shell("busctl --address=" + shellQuote(address_) + " " + args, nobody);
    }
    RunResult call(const std::string& methodAndArgs, bool nobody = false) {
        return busctl("call io.iopslimit1 /io/iopslimit1 io.iopslimit1.Manager " + methodAndArgs, nobody);
    }
    RunResult ctl(const std::string& args, bool nobody = false) {
        return shell(std::string(IOPSLIMITCTL_PATH) + " " + args, nobody);
    }
    // dbus-send prints the error's own message (busctl shows only "Access denied" for AccessDenied).
    RunResult send(const std::string& methodAndArgs, bool nobody = false) {
        return shell("dbus-send --bus=" + shellQuote(address_) +
                         " --print-reply --dest=io.iopslimit1 /io/iopslimit1 io.iopslimit1.Manager." + methodAndArgs,
                     nobody);
    }
    std::string property(const std::string& name) {
        RunResult r = busctl("get-property io.iopslimit1 /io/iopslimit1 io.iopslimit1.Manager " + name);
        return r.exitCode == 0 ? r.out : "busctl failed (" + std::to_string(r.exitCode) + "): " + r.err;
    }
    // The metrics page of a daemon started with METRICS_ADDRESS=127.0.0.1:port.
    std::string metrics(int port) { return shell("curl -sf http://127.0.0.1:" + std::to_string(port) + "/metrics").out; }
    const Ctr* containerOf(const std::string& pod) const {
        for (const auto& c : containers_)
            if (c.pod == pod) return &c;
        return nullptr;
    }
    std::string ioMax(const std::string& pod) const {
        for (const auto& c : containers_)
            if (c.pod == pod) return readText(tmp_.path() / "cgroup" / cgroupOf(c, true) / "io.max");
        return "no such pod";
    }

    TempDir tmp_;
    std::map<std::string, std::string> extraEnv_;  // over daemonEnv()
    std::vector<Ctr> containers_;
    std::unique_ptr<Emulator> emu_;
    std::unique_ptr<Process> bus_, daemon_;
    std::string address_;
};

// A container cgroup appearing after the daemon started: made in a staging directory and
// renamed into place, so io.max exists the moment the directory does (as with the kernel).
inline void appear(const fs::path& cgroupRoot, const std::string& rel, const fs::path& staging) {
    fs::create_directories(staging);
    writeText(staging / "io.max", "");
    fs::create_directories((cgroupRoot / rel).parent_path());
    fs::rename(staging, cgroupRoot / rel);
}

inline int kubeletRequests(const Emulator& emu) {
    Json::Value v;
    std::istringstream(emu.stats()) >> v;
    return v["kubelet_requests"].asInt();
}

}  // namespace testing_support
