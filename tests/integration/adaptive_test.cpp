// Adaptive limits in the running daemon, with the kernel's numbers written by the test: the
// kubepods io.pressure, the disk's io_ticks (/sys/block/<disk>/stat) and every container's io.stat.
// A noisy container and a modest victim: contention makes the noisy one (and only it) tighter in
// steps, visibly; the end of contention undoes it after the cooldown; the adaptive limits survive a
// restart and expire over one.
#include <regex>

#include "daemon_fixture.h"

using namespace testing_support;

namespace {

class Adaptive : public RunningDaemon {
protected:
    void SetUp() override {
        RunningDaemon::SetUp();
        extraEnv_["CONTAINER_IOPS_LIMIT"] = "0";  // unlimited by default: only adaptive limits bind
        extraEnv_["ADAPTIVE_LIMITS"] = "on";
        extraEnv_["ADAPTIVE_WINDOW"] = "2";
        extraEnv_["ADAPTIVE_COOLDOWN"] = "4";
        extraEnv_["ADAPTIVE_PRESSURE"] = "10";
        metricsPort_ = freePort();
        extraEnv_["METRICS_ADDRESS"] = "127.0.0.1:" + std::to_string(metricsPort_);
        noisy_ = containerOf("e2e-deployment-79967c5968-8bnn8");
        victim_ = containerOf("e2e-scraper-5f97dc94d8-vkcjl");
        setPressure(0);
        writer_ = std::thread([this] { feed(); });
    }
    void TearDown() override {
        stop_ = true;
        writer_.join();
    }
    // From now on every pod task waits for IO `full` percent of the time: the kernel's stall time
    // counter (total=, microseconds) advances at that share; avg10 is written as PSI would show it
    // but is not what decides.
    void setPressure(double full) {
        std::lock_guard l(m_);
        full_ = full;
        writePressure();
    }
    // From now on the victim's own tasks wait for IO `some` percent of the time (its io.pressure;
    // until the first call it has none, as on cgroup v1, and only the pods' full stall decides).
    void setVictimStall(double some) {
        std::lock_guard l(m_);
        victimSome_ = some;
        victimKnown_ = true;
        writePressure();
    }
    void writePressure() {
        auto now = std::chrono::steady_clock::now();
        if (fullSince_ != std::chrono::steady_clock::time_point{}) {
            double us = std::chrono::duration<double, std::micro>(now - fullSince_).count();
            fullUsec_ += us * fullWas_ / 100;
            victimUsec_ += us * victimSomeWas_ / 100;
        }
        fullSince_ = now;
        fullWas_ = full_;
        victimSomeWas_ = victimSome_;
        if (victimKnown_) {
            fs::path victim = tmp_.path() / "cgroup" / cgroupOf(*victim_, true);
            writeText(victim / "io.pressure.new", "some avg10=" + std::to_string(victimSome_) + " avg60=0.00 avg300=0.00 total=" +
                                                      std::to_string(static_cast<uint64_t>(victimUsec_)) +
                                                      "\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
            fs::rename(victim / "io.pressure.new", victim / "io.pressure");
        }
        auto total = std::to_string(static_cast<uint64_t>(fullUsec_));
        writeText(tmp_.path() / "cgroup/kubepods.slice/io.pressure.new",
                  "some avg10=" + std::to_string(full_) + " avg60=0.00 avg300=0.00 total=" + total + "\nfull avg10=" +
                      std::to_string(full_) + " avg60=0.00 avg300=0.00 total=" + total + "\n");
        fs::rename(tmp_.path() / "cgroup/kubepods.slice/io.pressure.new", tmp_.path() / "cgroup/kubepods.slice/io.pressure");
    }
    // The kernel's counters move every 100 ms: the noisy container at 1600 IOPS, the victim at 40,
    // the disk busy all along.
    void feed() {
        auto start = std::chrono::steady_clock::now(), last = start;
        double noisy = 0, victim = 0;
        while (!stop_) {
            auto now = std::chrono::steady_clock::now();
            double seconds = std::chrono::duration<double>(now - last).count();
            last = now;
            // The noisy one wants 1600 IOPS and gets what its io.max allows, as under blk-throttle.
            long limit = riops(noisy_);
            noisy += seconds * (limit > 0 ? std::min(1600.0, static_cast<double>(limit)) : 1600.0);
            victim += seconds * 40;
            auto ticks = static_cast<uint64_t>(std::chrono::duration<double, std::milli>(now - start).count());
            auto ioStat = [&](const Ctr* c, double count) {
                auto ios = static_cast<uint64_t>(count);
                fs::path dir = tmp_.path() / "cgroup" / cgroupOf(*c, true);
                writeText(dir / "io.stat.new", "259:0 rbytes=" + std::to_string(ios * 4096) + " wbytes=0 rios=" +
                                                   std::to_string(ios) + " wios=0 dbytes=0 dios=0\n");
                fs::rename(dir / "io.stat.new", dir / "io.stat");
            };
            ioStat(noisy_, noisy);
            ioStat(victim_, victim);
            {
                std::lock_guard l(m_);
                writePressure();
            }
            writeText(tmp_.path() / "sys/block/nvme0n1/stat.new",
                      "1 0 2 3 4 0 5 6 0 " + std::to_string(ticks) + " 7 0 0 0 0 0 0\n");
            fs::rename(tmp_.path() / "sys/block/nvme0n1/stat.new", tmp_.path() / "sys/block/nvme0n1/stat");
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    long riops(const Ctr* c) {
        std::string m = readText(tmp_.path() / "cgroup" / cgroupOf(*c, true) / "io.max");
        auto p = m.find("riops=");
        if (p == std::string::npos) return -1;  // nothing written: no limit
        std::string v = m.substr(p + 6, m.find(' ', p) - p - 6);
        return v == "max" ? -1 : std::stol(v);
    }

    const Ctr* noisy_ = nullptr;
    const Ctr* victim_ = nullptr;
    int metricsPort_ = 0;
    std::mutex m_;
    double full_ = 0, fullWas_ = 0, fullUsec_ = 0;  // guarded by m_
    double victimSome_ = 0, victimSomeWas_ = 0, victimUsec_ = 0;
    bool victimKnown_ = false;
    std::chrono::steady_clock::time_point fullSince_{};
    std::atomic<bool> stop_{false};
    std::thread writer_;
};

TEST_F(Adaptive, ContentionTightensTheNoisyOneVisiblyAndTheCooldownUndoesIt) {
    startBus(false);
    startDaemon();
    auto conn = sdbus::createSessionBusConnectionWithAddress(address_);
    Recorder signals(*conn);
    conn->enterEventLoopAsync();
    // Busy but not contended: nothing.
    std::this_thread::sleep_for(std::chrono::seconds(5));
    EXPECT_EQ(riops(noisy_), -1) << daemon_->err();

    auto t0 = std::chrono::steady_clock::now();
    setPressure(34);
    // 0.75 x 1600 IOPS (the window's rate is measured from the counters: within a few %).
    ASSERT_TRUE(waitFor([&] { return riops(noisy_) > 0; }, std::chrono::seconds(10))) << riops(noisy_) << daemon_->err();
    long first = riops(noisy_);
    EXPECT_NEAR(first, 1200, 60);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LE(took, 2 * 2 + 1.5) << "first action within two windows (2 s each)";
    std::cout << "contention -> first tightening: " << took << " s\n";
    EXPECT_EQ(riops(victim_), -1);  // the victim is left alone

    std::string list = ctl("list --full").out;
    EXPECT_NE(list.find("adaptive"), std::string::npos) << list;
    std::string explain = ctl("explain scraper/e2e-deployment-79967c5968-8bnn8").out;
    EXPECT_NE(explain.find("adaptive limit in force: read " + std::to_string(first)), std::string::npos) << explain;
    // The disk is busy all along; the pods stalled 34 % of the time since setPressure(34), so the
    // first contended window (which may have begun before) shows at least 10 % and at most 34 %
    // (the shares lag the fed counters by up to one feed step, 50 ms, at either end).
    std::smatch busy;
    ASSERT_TRUE(std::regex_search(explain, busy, std::regex("disk nvme0n1 kubepods full pressure ([0-9]+) % of the last 2 s \\(busy ([0-9]+) %\\); ")))
        << explain;
    EXPECT_GE(std::stoi(busy[1]), 10) << explain;
    EXPECT_LE(std::stoi(busy[1]), 36) << explain;
    EXPECT_GE(std::stoi(busy[2]), 90) << explain;
    EXPECT_NE(explain.find(" IOPS = 98 % of the disk; limited to read-iops " + std::to_string(first)), std::string::npos)
        << explain;
    std::string page = metrics(metricsPort_);
    EXPECT_EQ(metricValue(page, "iopslimit_adaptive_limits{namespace=\"scraper\",pod=\"e2e-deployment-79967c5968-8bnn8\","
                                "container=\"compute-pi-digits\",limit=\"read_iops\"}"),
              first)
        << page;
    EXPECT_GE(metricValue(page, "iopslimit_adaptive_actions_total{kind=\"tighten\"}"), 1);
    EXPECT_TRUE(waitFor([&] { return signals.adaptive().find("tighten " + noisy_->id + " " + std::to_string(first)) != std::string::npos; }))
        << signals.adaptive();
    EXPECT_NE(daemon_->err().find("Tightened the adaptive limit of container " + noisy_->id), std::string::npos);

    // Contention goes on: graded steps, each 0.75 of what it did in the window before.
    EXPECT_TRUE(waitFor([&] { return riops(noisy_) > 0 && riops(noisy_) < first; }, std::chrono::seconds(5)))
        << riops(noisy_) << daemon_->err();
    // That window was all at 34 %: the metric shows the last window's share.
    EXPECT_NEAR(metricValue(metrics(metricsPort_), "iopslimit_disk_pressure{device=\"259:0\",disk=\"nvme0n1\",of=\"kubepods\"}"), 34, 2.5);

    // It ends: after the cooldown (4 s) loosened step by step, then back to the static limit.
    setPressure(1);
    EXPECT_TRUE(waitFor([&] { return signals.adaptive().find("release " + noisy_->id) != std::string::npos; },
                        std::chrono::seconds(30)))
        << signals.adaptive() << daemon_->err();
    EXPECT_EQ(riops(noisy_), -1);
    EXPECT_NE(signals.adaptive().find("loosen " + noisy_->id), std::string::npos) << signals.adaptive();  // in steps
    page = metrics(metricsPort_);
    EXPECT_GE(metricValue(page, "iopslimit_adaptive_actions_total{kind=\"release\"}"), 1);
    EXPECT_GE(metricValue(page, "iopslimit_adaptive_actions_total{kind=\"tighten\"}"), 2);  // the graded steps
    conn->leaveEventLoop();
}

TEST_F(Adaptive, AVictimsOwnStallMakesTheDiskContendedThoughThePodsFullStallIsLow) {
    startBus(false);
    startDaemon();
    setPressure(2);  // the pods' full stall stays low throughout
    std::this_thread::sleep_for(std::chrono::seconds(5));
    EXPECT_EQ(riops(noisy_), -1) << "the victim does not wait yet" << daemon_->err();

    setVictimStall(25);
    ASSERT_TRUE(waitFor([&] { return riops(noisy_) > 0; }, std::chrono::seconds(10))) << daemon_->err();
    EXPECT_EQ(riops(victim_), -1);
    std::string explain = ctl("explain scraper/e2e-deployment-79967c5968-8bnn8").out;
    std::smatch m;
    const std::string victim = victim_->ns + "/" + victim_->pod + "/" + victim_->name;
    ASSERT_TRUE(std::regex_search(explain, m, std::regex("disk nvme0n1: " + victim + " waited for IO ([0-9]+) % of the last 2 s")))
        << explain;
    EXPECT_LE(std::stoi(m[1]), 27) << explain;  // its share of the window, not more

    // It recovers (the held one's own stall no longer counts): after the cooldown the limit is
    // raised in steps while the noisy one presses against it, then dropped.
    setVictimStall(1);
    EXPECT_TRUE(waitFor([&] { return riops(noisy_) == -1; }, std::chrono::seconds(30))) << riops(noisy_) << daemon_->err();
    EXPECT_NE(daemon_->err().find("Loosened the adaptive limit of container " + noisy_->id), std::string::npos) << daemon_->err();
}

TEST_F(Adaptive, AdaptiveLimitsSurviveARestartAndExpireOverALongOne) {
    startBus(false);
    startDaemon();
    setPressure(40);
    ASSERT_TRUE(waitFor([&] { return riops(noisy_) > 0; }, std::chrono::seconds(10))) << daemon_->err();
    setPressure(0);
    long held = riops(noisy_);
    EXPECT_EQ(daemon_->stop(), 0);
    Json::Value state;
    std::ifstream(tmp_.path() / "state/decisions.json") >> state;
    ASSERT_EQ(state["adaptive"].size(), 1u) << Json::writeString(Json::StreamWriterBuilder(), state);
    EXPECT_EQ(state["adaptive"][0]["id"].asString(), noisy_->id);

    // A quick restart resumes it (the cooldown has not passed).
    startDaemon();
    EXPECT_EQ(riops(noisy_), held) << daemon_->err();
    EXPECT_NE(daemon_->err().find("Resumed 1 adaptive limit(s)"), std::string::npos);
    EXPECT_EQ(daemon_->stop(), 0);

    // A restart after its expiry: back to the static limit on the first pass.
    std::ifstream(tmp_.path() / "state/decisions.json") >> state;
    state["adaptive"][0]["expires"] = Json::Int64(1000);
    writeText(tmp_.path() / "state/decisions.json", Json::writeString(Json::StreamWriterBuilder(), state));
    startDaemon();
    EXPECT_EQ(riops(noisy_), -1) << daemon_->err();
    EXPECT_NE(daemon_->err().find("1 had expired and are back to their static limit"), std::string::npos) << daemon_->err();
}

}  // namespace
