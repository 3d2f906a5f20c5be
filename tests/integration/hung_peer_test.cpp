// Nothing asked over the bus blocks the loop: a kubelet that accepts connections and never
// answers (not even the TLS handshake) while Reload, Resync, SetPodOverride, ClearPodOverride,
// property reads, new containers, the watchdog and SIGTERM go on.
#include "daemon_fixture.h"

using namespace testing_support;

namespace {

// Accepts every connection and never reads or writes a byte.
class HungPeer {
public:
    HungPeer() {
        fd_ = bindLoopback(port_);
        listen(fd_, 64);
        thread_ = std::thread([this] {
            while (!stop_) {
                int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (c < 0) return;
                std::lock_guard l(m_);
                accepted_.push_back(c);
            }
        });
    }
    ~HungPeer() {
        stop_ = true;
        shutdown(fd_, SHUT_RDWR);
        close(fd_);
        thread_.join();
        for (int c : accepted_) close(c);
    }
    int port() const { return port_; }
    size_t accepted() {
        std::lock_guard l(m_);
        return accepted_.size();
    }

private:
    int fd_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::mutex m_;
    std::vector<int> accepted_;
};

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

TEST_F(RunningDaemon, AKubeletThatNeverAnswersBlocksNoBusCallNoNewContainerAndNoStop) {
    HungPeer hung;
    const Ctr* annotated = containerOf("e2e-statefulset-0");
    const Ctr* plain = containerOf("e2e-deployment-79967c5968-8bnn8");
    ASSERT_TRUE(annotated && plain);
    fs::path cg = tmp_.path() / "cgroup";
    fs::remove_all(cg / cgroupOf(*annotated, true));
    extraEnv_["HTTP_TIMEOUT"] = "60";
    extraEnv_["CHECK_INTERVAL"] = "1";   // a poll every second, each one hanging
    extraEnv_["WATCHDOG_USEC"] = "400000";
    NotifySocket notify(tmp_.path() / "notify");
    startBus(false);
    startDaemon();  // pods from the working emulator first
    ASSERT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=500 wiops=500\n");

    // Reload onto the kubelet that hangs: the reply does not wait for it.
    writeText(tmp_.path() / "iops-limit.env", "KUBELET_PORT=" + std::to_string(hung.port()) + "\n");
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(call("Reload").exitCode, 0);
    EXPECT_LT(msSince(t0), 1000) << "Reload waited for the kubelet";
    ASSERT_TRUE(waitFor([&] { return hung.accepted() > 0; })) << "the fetch reached the hung kubelet";

    // Resync replies only with fresh data: not while the kubelet hangs; meanwhile everything else
    // answers at once.
    std::atomic<int> resyncExit{-1};
    std::thread resync([&] { resyncExit = busctl("--timeout=4 call io.iopslimit1 /io/iopslimit1 io.iopslimit1.Manager Resync").exitCode; });
    // Property reads through a D-Bus proxy in this process (busctl's own start-up would be measured
    // otherwise): each answered within 100 ms for the whole hang.
    auto conn = sdbus::createSessionBusConnectionWithAddress(address_);
    Recorder proxy(*conn);
    double worstRead = 0;
    for (int i = 0; i < 15; ++i) {
        notify.drain();  // as systemd reads them
        auto r0 = std::chrono::steady_clock::now();
        EXPECT_EQ(proxy.PodSource(), "kubelet");
        EXPECT_GT(proxy.ManagedContainers(), 0u);
        worstRead = std::max(worstRead, msSince(r0));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_LT(worstRead, 100) << "two property reads took " << worstRead << " ms during the hang";
    EXPECT_EQ(property("PodSource"), "s \"kubelet\"\n");  // and through busctl

    t0 = std::chrono::steady_clock::now();
    appear(cg, cgroupOf(*annotated, true), tmp_.path() / "staging");
    EXPECT_TRUE(waitFor([&] { return ioMax("e2e-statefulset-0") == "259:0 rbps=max wbps=max riops=200 wiops=200\n"; },
                        std::chrono::seconds(2)));
    EXPECT_LT(msSince(t0), 300) << "a new container waited for the hung kubelet";

    // An override is in force on the last-known pods when the call returns.
    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(call("SetPodOverride sstttt scraper e2e-deployment-79967c5968-8bnn8 70 71 0 0").exitCode, 0);
    EXPECT_LT(msSince(t0), 1000);
    EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=70 wiops=71\n");
    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(call("ClearPodOverride ss scraper e2e-deployment-79967c5968-8bnn8").exitCode, 0);
    EXPECT_LT(msSince(t0), 1000);
    EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=500 wiops=500\n");

    resync.join();
    EXPECT_NE(resyncExit.load(), 0) << "Resync replied although no source answered";
    // The loop itself fed the watchdog all along (every 200 ms for WATCHDOG_USEC=400000).
    std::string n = notify.drain();
    size_t feeds = 0;
    for (size_t p = 0; (p = n.find("WATCHDOG=1", p)) != std::string::npos; ++p) ++feeds;
    EXPECT_GE(feeds, 15u) << n;

    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(daemon_->stop(), 0);
    EXPECT_LT(msSince(t0), 4000) << "the hung request is aborted on SIGTERM";
}

// A service manager that stops reading sd_notify datagrams (a hung PID 1) fills the socket's
// queue; the loop must not wait for it.
TEST_F(RunningDaemon, AServiceManagerThatStopsReadingNeverStallsTheLoop) {
    extraEnv_["WATCHDOG_USEC"] = "10000";  // a datagram every 5 ms, none of them read
    NotifySocket notify(tmp_.path() / "notify");
    const Ctr* annotated = containerOf("e2e-statefulset-0");
    fs::path cg = tmp_.path() / "cgroup";
    fs::remove_all(cg / cgroupOf(*annotated, true));
    startBus(false);
    startDaemon();
    std::this_thread::sleep_for(std::chrono::seconds(3));  // far more than the queue holds
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(property("PodSource"), "s \"kubelet\"\n");
    EXPECT_LT(msSince(t0), 1000);
    appear(cg, cgroupOf(*annotated, true), tmp_.path() / "staging");
    EXPECT_TRUE(waitFor([&] { return ioMax("e2e-statefulset-0") == "259:0 rbps=max wbps=max riops=200 wiops=200\n"; },
                        std::chrono::seconds(2)));
    EXPECT_NE(daemon_->err().find("dropping them rather than stalling"), std::string::npos) << daemon_->err();
    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(daemon_->stop(), 0);
    EXPECT_LT(msSince(t0), 4000);
}

TEST_F(RunningDaemon, ResyncRepliesOnceAFetchStartedAfterTheCallIsApplied) {
    startBus(false);
    startDaemon();
    int before = kubeletRequests(*emu_);
    EXPECT_EQ(call("Resync").exitCode, 0);
    EXPECT_GT(kubeletRequests(*emu_), before);  // not the answer of an older fetch
    emu_->control("/mode?kubelet=403");
    auto r = send("Resync");
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.err.find("no pod source reachable: HTTP 403: Forbidden"), std::string::npos) << r.err;
    EXPECT_EQ(ctl("resync").exitCode, 1);
    emu_->control("/mode?kubelet=normal");
    EXPECT_EQ(ctl("resync").exitCode, 0);
}

}  // namespace
