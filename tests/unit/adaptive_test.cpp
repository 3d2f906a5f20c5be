// Adaptive limits, the pure decision, on a clock moved by hand: contention begins, persists and
// ends; who is tightened and by how much; the release step by step; a container that leaves; a
// static limit that changes under an adaptive one; what is never touched.
#include <gtest/gtest.h>

#include <optional>

#include "core/adaptive.h"

namespace iopslimit::core {
namespace {

using std::chrono::seconds;
using Kind = AdaptiveChange::Kind;

const DevNum kVdb{254, 16};

class Adaptive : public ::testing::Test {
protected:
    AdaptiveConfig cfg() {
        AdaptiveConfig c;
        c.on = true;
        c.pressure = 10;
        c.window = seconds(10);
        c.cooldown = seconds(60);
        c.factor = 0.75;
        c.floorIops = 50;
        c.floorBps = 1 << 20;
        return c;
    }
    DiskWindow disk(double pressure) { return DiskWindow{kVdb, "vdb", pressure, true, "kubepods", 97}; }
    ContainerUse use(const std::string& id, double readIops, Limits statics = Limits{500, 500, 0, 0}) {
        ContainerUse c;
        c.id = id;
        c.label = "ns/" + id + "/c";
        c.dev = kVdb;
        c.rates.readIops = readIops;
        c.rates.readBps = readIops * 4096;
        c.staticLimits = statics;
        return c;
    }
    // One window later.
    std::vector<AdaptiveChange> step(double pressure, const std::vector<ContainerUse>& cs) {
        now += seconds(10);
        return adaptiveStep(state, cfg(), now, {disk(pressure)}, cs);
    }

    AdaptiveState state;
    AdaptiveClock::time_point now{seconds(1'800'000'000)};
};

TEST_F(Adaptive, ContentionTightensOnlyTheContainerAboveItsFairShareInGradedSteps) {
    Limits unlimited{};
    // Not contended (pressure below 10 %): nothing, however busy.
    EXPECT_TRUE(step(5, {use("noisy", 1600, unlimited), use("victim", 40)}).empty());
    // Contended: the noisy one (1600 of 1640 IOPS, fair share 820) is tightened to 0.75 x 1600.
    auto ch = step(34, {use("noisy", 1600, unlimited), use("victim", 40)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].kind, Kind::Tighten);
    EXPECT_EQ(ch[0].id, "noisy");
    EXPECT_EQ(ch[0].after.readIops, 1200u);
    EXPECT_EQ(ch[0].after.readBps, 1200u * 4096);
    EXPECT_EQ(ch[0].after.writeIops, 0u);  // it did no writes: no write limit
    EXPECT_NE(ch[0].reason.find("disk vdb kubepods full pressure 34 % of the last 10 s (busy 97 %); 1600 IOPS = 98 % of the disk; "
                                "limited to read-iops 1200"),
              std::string::npos)
        << ch[0].reason;
    EXPECT_FALSE(state.entries.count("victim"));
    // Still contended: the next step goes from what it does now (throttled to 1200): 900.
    ch = step(30, {use("noisy", 1200, unlimited), use("victim", 60)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].after.readIops, 900u);
    // And down to the floor, not below.
    for (double r : {900.0, 675.0, 507.0, 381.0, 286.0, 215.0, 161.0, 121.0, 91.0, 68.0, 51.0})
        step(25, {use("noisy", r, unlimited), use("victim", 10)});
    EXPECT_EQ(state.entries.at("noisy").limits.readIops, 50u);
}

TEST_F(Adaptive, NeverAboveTheStaticLimitNeverForTheIneligibleNeverForOneContainerAlone) {
    // The static limit is tighter than factor x rate: it stays in force, no adaptive limit needed.
    auto ch = step(40, {use("capped", 1000, Limits{300, 300, 0, 0}), use("victim", 10)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].after.readIops, 300u);
    EXPECT_EQ(tighterOf(Limits{300, 300, 0, 0}, ch[0].after).readIops, 300u);
    state = {};
    // Excluded or exempt containers are never chosen.
    auto exempt = use("exempt", 1600, Limits{});
    exempt.eligible = false;
    EXPECT_TRUE(step(40, {exempt, use("victim", 40)}).empty());
    // One container doing IO is waiting for itself: no contention to resolve.
    EXPECT_TRUE(step(90, {use("alone", 1600, Limits{}), use("idle", 0)}).empty());
    // No pressure reading (no PSI): nothing.
    now += seconds(10);
    auto unknown = disk(90);
    unknown.pressureKnown = false;
    EXPECT_TRUE(adaptiveStep(state, cfg(), now, {unknown}, {use("a", 1600, Limits{}), use("b", 40)}).empty());
    // Off: nothing.
    auto off = cfg();
    off.on = false;
    now += seconds(10);
    EXPECT_TRUE(adaptiveStep(state, off, now, {disk(90)}, {use("a", 1600, Limits{}), use("b", 40)}).empty());
}

TEST_F(Adaptive, ReleasedStepByStepAfterTheCooldownAndForgottenWhenGone) {
    step(34, {use("noisy", 1600, Limits{}), use("victim", 40), use("leaver", 1500, Limits{})});
    ASSERT_EQ(state.entries.at("noisy").limits.readIops, 1200u);
    ASSERT_TRUE(state.entries.count("leaver"));
    // Contention ends; within the cooldown nothing loosens. The one that left is forgotten at once.
    auto ch = step(2, {use("noisy", 1200, Limits{}), use("victim", 40)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].kind, Kind::Forget);
    EXPECT_EQ(ch[0].id, "leaver");
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(step(2, {use("noisy", 1200, Limits{}), use("victim", 40)}).empty());
    // 60 s without contention: each window 1/0.75 up while it still presses against the limit
    // (does at least 0.75 of it), then released once it no longer does.
    ch = step(2, {use("noisy", 1200, Limits{}), use("victim", 40)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].kind, Kind::Loosen);
    EXPECT_EQ(ch[0].after.readIops, 1600u);
    ch = step(2, {use("noisy", 1600, Limits{}), use("victim", 40)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].kind, Kind::Loosen);
    EXPECT_EQ(ch[0].after.readIops, 2134u);
    // 1600 < 0.75 x 2134 (= 1600.5: limits are rounded up, so the step is 2134, not 2133.3)
    ch = step(2, {use("noisy", 1600, Limits{}), use("victim", 40)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].kind, Kind::Release);
    EXPECT_TRUE(state.entries.empty());
}

TEST_F(Adaptive, TheFirstStepFromAPartialWindowIsUndoneInStepsNotAtOnce) {
    // The noise began 2 s into the window: 1600 IOPS for 8 s of 10 reads as 1280, so the first
    // limit (960) is below 0.75 x what it really does. The release must not stop at "what it did
    // then": a container still pressing against its limit is loosened in steps, each window.
    step(34, {use("noisy", 1280, Limits{}), use("victim", 40)});
    ASSERT_EQ(state.entries.at("noisy").limits.readIops, 960u);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(step(2, {use("noisy", 960, Limits{}), use("victim", 40)}).empty());  // the cooldown
    std::vector<uint64_t> steps;
    for (double rate : {960.0, 1280.0, 1600.0, 1600.0}) {
        auto ch = step(2, {use("noisy", rate, Limits{}), use("victim", 40)});
        ASSERT_EQ(ch.size(), 1u);
        steps.push_back(ch[0].after.readIops);
        if (ch[0].kind == Kind::Release) break;
    }
    EXPECT_EQ(steps, (std::vector<uint64_t>{1280, 1707, 2276, 0}));  // released once 1600 < 0.75 x 2276
    // One that went quiet while held is released at the first step.
    state = {};
    step(34, {use("noisy", 1600, Limits{}), use("victim", 40)});
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(step(2, {use("noisy", 30, Limits{}), use("victim", 40)}).empty());
    auto ch = step(2, {use("noisy", 30, Limits{}), use("victim", 40)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].kind, Kind::Release);
}

TEST_F(Adaptive, AStaticLimitChangingUnderAnAdaptiveOne) {
    step(34, {use("noisy", 1600, Limits{}), use("victim", 40)});
    ASSERT_EQ(state.entries.at("noisy").limits.readIops, 1200u);
    // The operator sets a static 400: the tighter one is in force, and the release stops at it.
    EXPECT_EQ(tighterOf(Limits{400, 400, 0, 0}, state.entries.at("noisy").limits).readIops, 400u);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(step(0, {use("noisy", 400, Limits{400, 400, 0, 0}), use("victim", 40)}).empty());
    auto ch = step(0, {use("noisy", 400, Limits{400, 400, 0, 0}), use("victim", 40)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].kind, Kind::Release);  // 1200 / 0.75 >= 400, and 400 IOPS do not press against 1200
    // Still pressing against it, but the next step would reach a static limit set meanwhile
    // (1500): the IOPS limit goes, the bytes/s one (no static limit) is loosened.
    state = {};
    step(34, {use("noisy", 1600, Limits{}), use("victim", 40)});
    for (int i = 0; i < 5; ++i) step(0, {use("noisy", 1200, Limits{1500, 1500, 0, 0}), use("victim", 40)});
    ch = step(0, {use("noisy", 1200, Limits{1500, 1500, 0, 0}), use("victim", 40)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].kind, Kind::Loosen);
    EXPECT_EQ(ch[0].after.readIops, 0u);
    EXPECT_EQ(ch[0].after.readBps, 1600u * 4096);
    // A static limit raised above an adaptive one leaves the adaptive one in force while contended.
    state = {};
    step(34, {use("noisy", 1600, Limits{}), use("victim", 40)});
    EXPECT_EQ(tighterOf(Limits{5000, 5000, 0, 0}, state.entries.at("noisy").limits).readIops, 1200u);
}

TEST_F(Adaptive, OnceHoldingTheNoisyOneTheVictimsPressureDecides) {
    // The throttle itself stalls the container it holds, which PSI counts: with limits in force the
    // disk is contended only while the others still wait.
    auto victim = [&](double pressure) {
        auto v = use("victim", 40);
        v.pressure = pressure;
        return v;
    };
    step(40, {use("noisy", 1600, Limits{}), victim(35)});
    ASSERT_EQ(state.entries.at("noisy").limits.readIops, 1200u);
    // Still waiting behind it: the next step down.
    auto ch = step(40, {use("noisy", 1200, Limits{}), victim(30)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].after.readIops, 900u);
    // The victim runs freely now (2 %), though the held one keeps the disk-wide PSI at 40 %: no
    // further step, and the cooldown starts.
    EXPECT_TRUE(step(40, {use("noisy", 900, Limits{}), victim(2)}).empty());
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(step(40, {use("noisy", 900, Limits{}), victim(2)}).empty());
    ch = step(40, {use("noisy", 900, Limits{}), victim(2)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].kind, Kind::Loosen);
    EXPECT_EQ(ch[0].after.readIops, 1200u);
}

TEST_F(Adaptive, AVictimThatWaitsMakesTheDiskContendedThoughKubepodsFullStaysLow) {
    // As measured on the vm node: a noisy neighbour's own threads keep some pod task running, so
    // kubepods "full" stays at a few percent while the victim waits for a quarter of the time.
    auto with = [&](ContainerUse c, double pressure) {
        c.pressure = pressure;
        return c;
    };
    // The victim barely waits: not contended.
    EXPECT_TRUE(step(4, {with(use("noisy", 2300, Limits{}), 60), with(use("victim", 50), 6)}).empty());
    // The noisy one's own stalls (above its fair share) never speak for the disk.
    EXPECT_TRUE(step(4, {with(use("noisy", 2300, Limits{}), 95), with(use("victim", 50), 3)}).empty());
    // A lone container waiting for itself: not contended either.
    EXPECT_TRUE(step(4, {with(use("noisy", 2300, Limits{}), 95)}).empty());
    // The victim waits 25 % of the time: the noisy one is tightened, and the reason names the victim.
    auto ch = step(4, {with(use("noisy", 2300, Limits{}), 60), with(use("victim", 50), 25)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].id, "noisy");
    EXPECT_EQ(ch[0].after.readIops, 1725u);
    EXPECT_NE(ch[0].reason.find("disk vdb: ns/victim/c waited for IO 25 % of the last 10 s (busy 97 %); 2300 IOPS = 98 % of the disk; "
                                "limited to read-iops 1725"),
              std::string::npos)
        << ch[0].reason;
    // The worst of several victims is named; one above its fair share is not a victim.
    ch = step(4, {with(use("noisy", 1700, Limits{}), 60), with(use("victim", 50), 12), with(use("other", 30), 31),
                  with(use("big", 1000, Limits{}), 70)});
    ASSERT_EQ(ch.size(), 2u);
    EXPECT_NE(ch[0].reason.find("ns/other/c waited for IO 31 %"), std::string::npos) << ch[0].reason;
    EXPECT_EQ(ch[0].id, "noisy");
    EXPECT_EQ(ch[1].id, "big");
    // Without any pressure of the victims known, kubepods full alone decides, as before.
    state = {};
    EXPECT_TRUE(step(4, {use("noisy", 2300, Limits{}), use("victim", 50)}).empty());
}

TEST_F(Adaptive, WithTwoDataDisksInUseOnlyEachDisksVictimsDecide) {
    // kubepods full is one number for every disk the pods use: with two data disks busy it cannot
    // say which one the pods waited for.
    const DevNum kVdc{254, 32};
    auto on = [&](ContainerUse c, DevNum dev, std::optional<double> pressure = std::nullopt) {
        c.dev = dev;
        c.pressure = pressure;
        return c;
    };
    auto two = [&](double full, const std::vector<ContainerUse>& cs) {
        now += seconds(10);
        DiskWindow vdc{kVdc, "vdc", full, true, "kubepods", 40};
        return adaptiveStep(state, cfg(), now, {disk(full), vdc}, cs);
    };
    // Both disks busy with a big and a small user each, the pods' full stall at 34 %, no victim's
    // own pressure known: nothing (on one disk alone this tightens, as above).
    EXPECT_TRUE(two(34, {on(use("a-big", 1600, Limits{}), kVdb), on(use("a-small", 40), kVdb),
                         on(use("c-big", 900, Limits{}), kVdc), on(use("c-small", 30), kVdc)})
                    .empty());
    // A victim on vdb waits: only vdb's noisy one is tightened; vdc's victim does not wait.
    auto ch = two(34, {on(use("a-big", 1600, Limits{}), kVdb), on(use("a-small", 40), kVdb, 25.0),
                       on(use("c-big", 900, Limits{}), kVdc), on(use("c-small", 30), kVdc, 2.0)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].id, "a-big");
    EXPECT_NE(ch[0].reason.find("disk vdb: ns/a-small/c waited for IO 25 %"), std::string::npos) << ch[0].reason;
    // The second disk idle again (its containers did no IO): the pods' full stall speaks for vdb.
    ch = two(34, {on(use("a-big", 1200, Limits{}), kVdb), on(use("a-small", 40), kVdb),
                  on(use("c-big", 0, Limits{}), kVdc), on(use("c-small", 0), kVdc)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].id, "a-big");
    EXPECT_EQ(ch[0].after.readIops, 900u);
}

TEST_F(Adaptive, NoVictimIsStalledByItsOwnStaticLimitOrByAnotherDisk) {
    auto with = [&](ContainerUse c, double pressure) {
        c.pressure = pressure;
        return c;
    };
    // The small one does 480 of its static 500 IOPS: its own throttle stalls it (60 %), the disk
    // does not. kubepods full is low: nothing.
    EXPECT_TRUE(step(4, {with(use("noisy", 2300, Limits{}), 90), with(use("small", 480, Limits{500, 500, 0, 0}), 60)}).empty());
    // Well below its static limit (100 of 500), the same stall is the disk's: the noisy one is tightened.
    auto ch = step(4, {with(use("noisy", 2300, Limits{}), 90), with(use("small", 100, Limits{500, 500, 0, 0}), 60)});
    ASSERT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch[0].id, "noisy");
    // A container that also did IO on another data disk is no victim on this one.
    state = {};
    const DevNum kVdc{254, 32};
    auto elsewhere = use("small", 500, Limits{});
    elsewhere.dev = kVdc;
    EXPECT_TRUE(adaptiveStep(state, cfg(), now += seconds(10), {disk(4), DiskWindow{kVdc, "vdc", 4, true, "kubepods", 50}},
                             {with(use("noisy", 2300, Limits{}), 90), with(use("small", 100, Limits{}), 60), with(elsewhere, 60)})
                    .empty());
}

TEST_F(Adaptive, EntriesExpireAfterTheCooldownSoARestartNeverKeepsThemLonger) {
    step(34, {use("noisy", 1600, Limits{}), use("victim", 40)});
    EXPECT_EQ(expireAdaptive(state, now + seconds(59)), 0u);
    // Held while contended, even by a container no longer above its fair share.
    step(34, {use("noisy", 300, Limits{}), use("victim", 400), use("third", 500, Limits{})});
    EXPECT_EQ(state.entries.at("noisy").expires, now + seconds(60));
    EXPECT_EQ(expireAdaptive(state, now + seconds(61)), 2u);
    EXPECT_TRUE(state.entries.empty());
}

}  // namespace
}  // namespace iopslimit::core
