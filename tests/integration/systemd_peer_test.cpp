// The systemd adapter (SdbusSystemdManager) against a fake org.freedesktop.systemd1 on a private
// dbus-daemon: every way systemd can fail to answer maps to the errno the engine acts on (EAGAIN:
// retrying, the limit in force kept; ENOENT: the unit is gone; EIO: a real failure), and a systemd
// that hangs costs the daemon's loop one bounded wait, not one per container. The neighbours of
// daemon-reexec (faults test, case c), which shows NoReply and NameHasNoOwner from a real systemd.
#include <sdbus-c++/sdbus-c++.h>

#include <atomic>

#include "daemon_fixture.h"
#include "host/systemd_manager.h"

using namespace testing_support;
using namespace iopslimit;

namespace {

using Props = std::vector<sdbus::Struct<std::string, sdbus::Variant>>;

// Owns org.freedesktop.systemd1 and answers SetUnitProperties as told: success, one of systemd's
// errors, or never (the call is kept unanswered, as by a PID 1 that is stuck).
class FakeSystemd {
public:
    enum class Mode { Answer, Hang, NoSuchUnit, AccessDenied };
    FakeSystemd(const std::string& address, Mode mode) : mode_(mode) {
        conn_ = sdbus::createSessionBusConnectionWithAddress(address);
        obj_ = sdbus::createObject(*conn_, "/org/freedesktop/systemd1");
        obj_->registerMethod("SetUnitProperties")
            .onInterface("org.freedesktop.systemd1.Manager")
            .implementedAs([this](sdbus::Result<>&& result, const std::string& unit, bool, const Props&) {
                ++calls_;
                switch (mode_.load()) {
                    case Mode::Answer: result.returnResults(); break;
                    case Mode::Hang: hung_.push_back(std::move(result)); break;
                    case Mode::NoSuchUnit:
                        result.returnError(sdbus::Error("org.freedesktop.systemd1.NoSuchUnit", "Unit " + unit + " not loaded."));
                        break;
                    case Mode::AccessDenied:
                        result.returnError(sdbus::Error("org.freedesktop.DBus.Error.AccessDenied", "Access denied"));
                        break;
                }
            });
        obj_->finishRegistration();
        conn_->requestName("org.freedesktop.systemd1");
        conn_->enterEventLoopAsync();
    }
    ~FakeSystemd() { conn_->leaveEventLoop(); }
    void set(Mode m) { mode_ = m; }
    int calls() const { return calls_; }

private:
    std::atomic<Mode> mode_;
    std::atomic<int> calls_{0};
    std::unique_ptr<sdbus::IConnection> conn_;
    std::unique_ptr<sdbus::IObject> obj_;
    std::vector<sdbus::Result<>> hung_;  // on the fake's loop thread; destroyed before the connection
};

class SystemdPeer : public RunningDaemon {
protected:
    void SetUp() override {
        RunningDaemon::SetUp();
        startBus(false);
        client_ = sdbus::createSessionBusConnectionWithAddress(address_);
        manager_ = std::make_unique<host::SdbusSystemdManager>(*client_);
    }
    // setUnitLimits on a container scope: the errno (0 = ok) and how long the call took.
    std::pair<int, double> set() {
        auto t0 = std::chrono::steady_clock::now();
        auto st = manager_->setUnitLimits("cri-containerd-" + std::string(64, 'a') + ".scope", "/dev/nvme0n1",
                                          core::Limits{200, 200, 0, 0});
        double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return {st ? 0 : st.error().code, took};
    }

    std::unique_ptr<sdbus::IConnection> client_;
    std::unique_ptr<host::SdbusSystemdManager> manager_;
};

const double kTimeout = std::chrono::duration<double>(host::kSystemdCallTimeout).count();
const double kQuiet = std::chrono::duration<double>(host::kSystemdQuiet).count();

TEST_F(SystemdPeer, NoSystemdOnTheBusIsRetryingAtOnceAndAnUnknownUnitIsGone) {
    // Nobody owns the name (systemd reexecuting): EAGAIN without waiting.
    auto [code, took] = set();
    EXPECT_EQ(code, EAGAIN);
    EXPECT_LT(took, 1.0);
    // systemd is back and does not know the unit: gone, not a failure, and asked every time.
    std::this_thread::sleep_for(host::kSystemdQuiet);
    FakeSystemd systemd(address_, FakeSystemd::Mode::NoSuchUnit);
    EXPECT_EQ(set().first, ENOENT);
    EXPECT_EQ(set().first, ENOENT);
    EXPECT_EQ(systemd.calls(), 2);
    // Any other answer is a real failure (EIO), not retried as if systemd were away.
    systemd.set(FakeSystemd::Mode::AccessDenied);
    EXPECT_EQ(set().first, EIO);
    systemd.set(FakeSystemd::Mode::Answer);
    EXPECT_EQ(set().first, 0);
    EXPECT_EQ(systemd.calls(), 4);
}

TEST_F(SystemdPeer, ASystemdThatHangsCostsOneBoundedWaitNotOnePerContainer) {
    FakeSystemd systemd(address_, FakeSystemd::Mode::Hang);
    auto [code, took] = set();
    EXPECT_EQ(code, EAGAIN);
    EXPECT_GE(took, kTimeout - 0.1);
    EXPECT_LT(took, kTimeout + 2.0) << "the bus default (25 s) instead of ours";
    // The next containers of the same pass fail at once, without asking.
    for (int i = 0; i < 20; ++i) {
        auto [again, fast] = set();
        EXPECT_EQ(again, EAGAIN);
        EXPECT_LT(fast, 0.1);
    }
    EXPECT_EQ(systemd.calls(), 1);
    // Once the quiet time is over systemd is asked again; it answers now.
    systemd.set(FakeSystemd::Mode::Answer);
    std::this_thread::sleep_for(std::chrono::duration<double>(kQuiet + 0.1));
    EXPECT_EQ(set().first, 0);
    EXPECT_EQ(systemd.calls(), 2);
}

}  // namespace
