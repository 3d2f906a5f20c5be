// The engine through its ports: a recording FakeLimitWriter over a temp cgroup tree (directories
// say which cgroups exist), a FakeClock, pods built here. Every path goes through apply(): a full
// list, no pods at all, cgroups that appeared, and the memory a restart brings back.
#include <gtest/gtest.h>

#include "core/cgroup_path.h"
#include "daemon/engine.h"
#include "support/fakes.h"
#include "support/temp_tree.h"

namespace iopslimit::daemon {
namespace {

using core::LimitState;
using core::Limits;
using core::PodSourceKind;
using core::QosClass;
using testing_support::FakeClock;
using testing_support::FakeLimitWriter;
using testing_support::TempDir;

const core::DevNum kDisk{259, 0};

std::string hexId(int n) {
    std::string id = std::to_string(n);
    return std::string(64 - id.size(), 'a') + id;
}

struct PodSpec {
    std::string ns, name;
    int uid;
    QosClass qos = QosClass::Burstable;
    std::vector<std::pair<std::string, int>> containers;  // name, id number
    std::map<std::string, std::string> annotations;
};

core::Pod makePod(const PodSpec& p) {
    core::Pod pod;
    pod.ns = p.ns;
    pod.name = p.name;
    pod.uid = "0000000" + std::to_string(p.uid) + "-0000-4000-8000-000000000000";
    pod.qos = p.qos;
    pod.qosKnown = true;
    pod.annotations = p.annotations;
    for (const auto& [name, id] : p.containers) {
        core::Container c;
        c.name = name;
        c.image = "registry.example/" + name + ":1";
        c.containerId = "containerd://" + hexId(id);
        c.state = core::ContainerState::Running;
        pod.containers.push_back(c);
    }
    return pod;
}

class EngineTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto cfg = core::parseConfig({{"CONTAINER_IOPS_LIMIT", "500"}, {"EXCLUDE_NAMESPACES", "kube-system"}}, "node-1");
        ASSERT_TRUE(cfg.ok());
        host::CgroupSetup cg;
        cg.hierarchy = tree_.path().string();
        cg.layout.driver = core::CgroupDriver::Systemd;
        cg.driverDetected = true;
        host::BlockDevice disk;
        disk.dev = kDisk;
        disk.name = "nvme0n1";
        auto writer = std::make_unique<FakeLimitWriter>(tree_.path());
        writer_ = writer.get();
        setup_ = setupFromParts(*cfg, cg, {disk}, std::move(writer));
        engine_.use(*setup_);
        engine_.onApplied = [this](const core::ContainerStatus& s) { applied_.push_back(s.entry.containerId.id); };
        engine_.onFailed = [this](const core::ContainerStatus& s) { failed_.push_back(s.entry.containerId.id); };
        engine_.onUnknownContainer = [this] { ++unknownNotices_; };
    }

    // The container's cgroup as the kubelet (systemd driver) names it; made on disk unless told not to.
    std::string cgroupOf(const PodSpec& p, int id, bool make = true) {
        auto pod = makePod(p);
        auto cg = core::containerCgroup(setup_->cgroups.layout, pod.uid, p.qos,
                                        core::ContainerId{core::Runtime::Containerd, hexId(id)});
        if (make) tree_.makeDir(cg);
        return cg;
    }
    ReconcileReport pass(const std::vector<PodSpec>& specs) {
        core::PodList list;
        for (const auto& s : specs) list.pods.push_back(makePod(s));
        return engine_.apply(Update::fresh(std::move(list), PodSourceKind::Kubelet));
    }
    Limits inForce(const std::string& cg) { return writer_->inForce[{cg, kDisk}]; }
    const core::ContainerStatus* status(const ReconcileReport& r, int id) {
        for (const auto& c : r.containers)
            if (c.entry.containerId.id == hexId(id)) return &c;
        return nullptr;
    }

    TempDir tree_;
    FakeClock clock_;
    Telemetry telemetry_;
    Engine engine_{telemetry_, clock_};
    FakeLimitWriter* writer_ = nullptr;
    std::unique_ptr<daemon::Setup> setup_;
    std::vector<std::string> applied_, failed_;
    int unknownNotices_ = 0;
};

const PodSpec kPlain{"shop", "web-0", 1, QosClass::Burstable, {{"web", 1}}, {}};
const PodSpec kAnnotated{"shop", "db-0", 2, QosClass::Guaranteed, {{"db", 2}, {"backup", 3}},
                         {{"iops-limit/limit", "200"}, {"iops-limit/read-iops.backup", "50"}, {"iops-limit/write-bps", "10Mi"}}};
const PodSpec kSystem{"kube-system", "kube-proxy-x", 4, QosClass::BestEffort, {{"kube-proxy", 4}}, {}};

TEST_F(EngineTest, EnforcesThePrecedenceOfOverrideAnnotationsAndTheDefault) {
    for (auto [spec, id] : {std::pair{kPlain, 1}, {kAnnotated, 2}, {kAnnotated, 3}, {kSystem, 4}}) cgroupOf(spec, id);
    engine_.setOverrides({{"shop/web-0", Limits{70, 80, 0, 0}}});
    auto r = pass({kPlain, kAnnotated, kSystem});

    EXPECT_EQ(inForce(cgroupOf(kPlain, 1)), (Limits{70, 80, 0, 0}));                // override beats the default
    EXPECT_EQ(inForce(cgroupOf(kAnnotated, 2)), (Limits{200, 200, 0, 10 << 20}));  // pod annotations
    EXPECT_EQ(inForce(cgroupOf(kAnnotated, 3)), (Limits{50, 200, 0, 10 << 20}));   // container key beats pod key
    EXPECT_EQ(inForce(cgroupOf(kSystem, 4)), Limits{});                           // excluded: nothing written
    EXPECT_EQ(writer_->writes.size(), 3u);
    for (const auto& w : writer_->writes) EXPECT_EQ(w.stage, host::Stage::Started);  // listed running
    EXPECT_EQ(r.changed, 3u);
    EXPECT_EQ(r.excluded, 1u);
    EXPECT_EQ(status(r, 4)->state, LimitState::Excluded);
    EXPECT_EQ(status(r, 4)->message, "namespace kube-system");
    EXPECT_EQ(applied_.size(), 3u);
    EXPECT_EQ(engine_.podSource(), PodSourceKind::Kubelet);
    EXPECT_EQ(engine_.managedContainers(), 3u);

    // Level-triggered: the same pods again change nothing.
    writer_->writes.clear();
    r = pass({kPlain, kAnnotated, kSystem});
    EXPECT_TRUE(writer_->writes.empty());
    EXPECT_EQ(r.unchanged, 3u);
}

TEST_F(EngineTest, AnExcludedContainerLosesOnlyALimitThatIsStillOurs) {
    auto mine = cgroupOf(kPlain, 1);
    auto same = cgroupOf(kAnnotated, 2);
    auto changed = cgroupOf(kAnnotated, 3);
    pass({kPlain, kAnnotated});
    writer_->inForce[{changed, kDisk}] = Limits{33, 33, 0, 0};  // an operator changed it since

    // The same pods (same UIDs, same cgroups), now in an excluded namespace.
    PodSpec plainExcluded = kPlain, annotatedExcluded = kAnnotated;
    plainExcluded.ns = annotatedExcluded.ns = "kube-system";
    auto r = pass({plainExcluded, annotatedExcluded});
    EXPECT_EQ(inForce(mine), Limits{});                     // ours: removed
    EXPECT_EQ(inForce(same), Limits{});                     // ours, with annotations: removed
    EXPECT_EQ(inForce(changed), (Limits{33, 33, 0, 0}));    // not ours any more: left alone
    EXPECT_EQ(r.excluded, 3u);
    EXPECT_FALSE(engine_.memory().ours.count(hexId(3)));    // and forgotten
    // Back to a normal namespace: enforced again.
    r = pass({kPlain});
    EXPECT_EQ(inForce(mine), (Limits{500, 500, 0, 0}));
}

TEST_F(EngineTest, AVanishedCgroupIsMissingAndTheRestIsApplied) {
    cgroupOf(kAnnotated, 2);
    cgroupOf(kAnnotated, 3, /*make=*/false);  // not started yet, or gone
    auto r = pass({kAnnotated});
    EXPECT_EQ(status(r, 2)->state, LimitState::Applied);
    EXPECT_EQ(status(r, 3)->state, LimitState::Missing);
    EXPECT_TRUE(status(r, 3)->cgroup.empty());
    EXPECT_EQ(r.missing, 1u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_TRUE(failed_.empty());  // a missing cgroup is not a failure
    EXPECT_FALSE(engine_.memory().ours.count(hexId(3)));
}

TEST_F(EngineTest, AFailedWriteIsAnErrorCountedByCauseAndNeverRecordedAsOurs) {
    auto ok = cgroupOf(kAnnotated, 2);
    auto denied = cgroupOf(kAnnotated, 3);
    writer_->failWrite[denied] = EACCES;
    auto r = pass({kAnnotated});
    EXPECT_EQ(status(r, 3)->state, LimitState::Error);
    EXPECT_EQ(status(r, 3)->errorCode, EACCES);
    EXPECT_NE(status(r, 3)->message.find("Failed to write limit"), std::string::npos);
    EXPECT_EQ(inForce(ok), (Limits{200, 200, 0, 10 << 20}));  // one bad container never stops a pass
    EXPECT_EQ(failed_, std::vector<std::string>{hexId(3)});
    EXPECT_EQ(telemetry_.applyErrors["permission"], 1u);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_FALSE(engine_.memory().ours.count(hexId(3)));
    EXPECT_TRUE(engine_.memory().ours.count(hexId(2)));
}

TEST_F(EngineTest, ASystemdThatCannotAnswerNowIsRetryingNotAFailureAndKeepsTheOldLimit) {
    auto ok = cgroupOf(kAnnotated, 2);
    auto busy = cgroupOf(kAnnotated, 3);
    pass({kAnnotated});
    ASSERT_EQ(inForce(busy), (Limits{50, 200, 0, 10 << 20}));
    // systemd reexecuting: the bus call times out or the name has no owner (EAGAIN from the adapter).
    writer_->failWrite[busy] = EAGAIN;
    auto changed = kAnnotated;
    changed.annotations["iops-limit/read-iops.backup"] = "40";
    auto r = pass({changed});
    EXPECT_EQ(status(r, 3)->state, LimitState::Retrying);
    EXPECT_EQ(core::publicStateName(LimitState::Retrying), "pending");
    EXPECT_EQ(r.retrying, 1u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_TRUE(failed_.empty());
    EXPECT_TRUE(telemetry_.applyErrors.empty());
    EXPECT_EQ(inForce(busy), (Limits{50, 200, 0, 10 << 20}));  // nothing loosened meanwhile
    EXPECT_EQ(status(r, 2)->state, LimitState::Unchanged);
    EXPECT_EQ(inForce(ok), (Limits{200, 200, 0, 10 << 20}));
    // systemd answers again: the next pass puts the new value in force.
    writer_->failWrite.erase(busy);
    r = pass({changed});
    EXPECT_EQ(status(r, 3)->state, LimitState::Applied);
    EXPECT_EQ(r.retrying, 0u);
    EXPECT_EQ(inForce(busy), (Limits{40, 200, 0, 10 << 20}));
}

TEST_F(EngineTest, NoPodSourceNeverLoosensAnythingAndKeepsWhatItShowed) {
    auto cg = cgroupOf(kAnnotated, 2);
    cgroupOf(kAnnotated, 3);
    pass({kAnnotated});
    writer_->writes.clear();
    clock_.advance(std::chrono::seconds(30));
    Update failed;
    failed.failures = {{PodSourceKind::Kubelet, "HTTP 500"}, {PodSourceKind::ApiServer, "timed out"}};
    auto r = engine_.apply(failed);
    EXPECT_TRUE(writer_->writes.empty());
    EXPECT_EQ(inForce(cg), (Limits{200, 200, 0, 10 << 20}));
    EXPECT_FALSE(r.podsFresh);
    EXPECT_EQ(r.containers.size(), 2u);                // the last pass stays what the API shows
    EXPECT_EQ(engine_.podSource(), PodSourceKind::Kubelet);
    EXPECT_EQ(engine_.managedContainers(), 2u);
    EXPECT_EQ(telemetry_.sourceFailures["kubelet"], 1u);
    EXPECT_EQ(telemetry_.sourceFailures["apiserver"], 1u);
}

TEST_F(EngineTest, ANewContainerGetsItsPlanItsPodsSettingsTheLastDecisionOrTheDefault) {
    pass({kAnnotated});  // lists db (2) and backup (3), neither cgroup exists yet
    EXPECT_EQ(unknownNotices_, 0);

    // Listed: its own plan, at once.
    auto listed = cgroupOf(kAnnotated, 3);
    auto r = engine_.apply(Update::appeared({listed}));
    EXPECT_EQ(inForce(listed), (Limits{50, 200, 0, 10 << 20}));
    ASSERT_EQ(writer_->writes.size(), 1u);
    EXPECT_EQ(writer_->writes[0].stage, host::Stage::Starting);  // just made: its runtime may be at it
    EXPECT_EQ(telemetry_.newContainers["known"], 1u);
    EXPECT_EQ(unknownNotices_, 0);

    // Reported again (inotify and UnitNew): nothing is done twice.
    writer_->writes.clear();
    engine_.apply(Update::appeared({listed}));
    EXPECT_TRUE(writer_->writes.empty());
    EXPECT_EQ(telemetry_.newContainers["known"], 1u);

    // Not listed, but its pod is known: what the pod asks for; a fetch is asked for.
    auto sidecar = cgroupOf(kAnnotated, 9);
    r = engine_.apply(Update::appeared({sidecar}));
    EXPECT_EQ(inForce(sidecar), (Limits{200, 200, 0, 10 << 20}));
    EXPECT_EQ(r.containers.at(0).entry.source, core::LimitSource::Annotation);
    EXPECT_EQ(unknownNotices_, 1);

    // Nothing known at all: the default, but only where no limit is in force.
    PodSpec stranger{"other", "x", 7, QosClass::BestEffort, {{"x", 7}}, {}};
    auto fresh = cgroupOf(stranger, 7);
    engine_.apply(Update::appeared({fresh}));
    EXPECT_EQ(inForce(fresh), (Limits{500, 500, 0, 0}));
    PodSpec limited{"other", "y", 8, QosClass::BestEffort, {{"y", 8}}, {}};
    auto kept = cgroupOf(limited, 8);
    writer_->inForce[{kept, kDisk}] = Limits{42, 42, 0, 0};
    r = engine_.apply(Update::appeared({kept}));
    EXPECT_EQ(inForce(kept), (Limits{42, 42, 0, 0}));
    EXPECT_EQ(r.containers.at(0).message, "limit already in force, kept");
    EXPECT_EQ(telemetry_.newContainers["unknown"], 3u);

    // Not a container cgroup (a pod slice): ignored.
    r = engine_.apply(Update::appeared({"kubepods.slice/kubepods-burstable.slice"}));
    EXPECT_TRUE(r.containers.empty());
}

TEST_F(EngineTest, NewContainersShowInTheLastPassUntilTheNextFullOne) {
    int stateChanges = 0;
    engine_.onStateChanged = [&] { ++stateChanges; };
    pass({kAnnotated});  // db (2) and backup (3) listed, no cgroup yet: nothing managed
    EXPECT_EQ(engine_.managedContainers(), 0u);
    EXPECT_EQ(engine_.last().missing, 2u);
    int before = stateChanges;

    auto listed = cgroupOf(kAnnotated, 3);
    engine_.apply(Update::appeared({listed}));
    // list, ManagedContainers and STATUS read last(): the container is there, once, applied.
    EXPECT_EQ(engine_.managedContainers(), 1u);
    EXPECT_EQ(engine_.last().containers.size(), 2u);
    EXPECT_EQ(engine_.last().missing, 1u);
    EXPECT_EQ(engine_.last().changed, 1u);
    EXPECT_EQ(stateChanges, before + 1);

    // One the pod list does not show yet is added, not lost.
    PodSpec stranger{"other", "x", 7, QosClass::BestEffort, {{"x", 7}}, {}};
    engine_.apply(Update::appeared({cgroupOf(stranger, 7)}));
    EXPECT_EQ(engine_.last().containers.size(), 3u);
    EXPECT_EQ(engine_.managedContainers(), 2u);

    // Reported again: nothing new, no signal.
    before = stateChanges;
    engine_.apply(Update::appeared({listed}));
    EXPECT_EQ(engine_.last().containers.size(), 3u);
    EXPECT_EQ(stateChanges, before);

    // The next full pass is what the pods say again.
    pass({kAnnotated});
    EXPECT_EQ(engine_.last().containers.size(), 2u);
    EXPECT_EQ(engine_.managedContainers(), 1u);
}

TEST_F(EngineTest, ARestartRemembersWhatWasOursAndCorrectsItOnTheFirstPass) {
    auto ours = cgroupOf(kPlain, 1);
    auto operators = cgroupOf(kAnnotated, 2);
    writer_->inForce[{ours, kDisk}] = Limits{500, 500, 0, 0};       // we set it before the restart
    writer_->inForce[{operators, kDisk}] = Limits{500, 500, 0, 0};  // someone else did, same value
    EngineMemory memory;
    memory.decisions[hexId(1)] = core::KnownDecision{"shop", "web-0", Limits{500, 500, 0, 0}, false};
    memory.ours[hexId(1)] = core::InForce{ours, Limits{500, 500, 0, 0}};
    engine_.restore(memory, nullptr);

    // Both pods became excluded while the daemon was down.
    PodSpec a = kPlain, b = kAnnotated;
    a.ns = b.ns = "kube-system";
    pass({a, b});
    EXPECT_EQ(inForce(ours), Limits{});                         // exactly what a reload would do
    EXPECT_EQ(inForce(operators), (Limits{500, 500, 0, 0}));  // never ours: untouched
}

TEST_F(EngineTest, WithoutAnyPodSourceAtStartTheLastDecisionsComeBack) {
    auto restored = cgroupOf(kAnnotated, 2);
    auto excluded = cgroupOf(kSystem, 4);
    auto unknown = cgroupOf(kPlain, 1);
    PodSpec limited{"other", "y", 8, QosClass::BestEffort, {{"y", 8}}, {}};
    auto kept = cgroupOf(limited, 8);
    writer_->inForce[{kept, kDisk}] = Limits{42, 42, 0, 0};
    tree_.makeDir("kubepods.slice/kubepods-burstable.slice");  // not a container: skipped
    EngineMemory memory;
    memory.decisions[hexId(2)] = core::KnownDecision{"shop", "db-0", Limits{200, 200, 0, 10 << 20}, false,
                                                     core::LimitSource::Annotation};
    memory.decisions[hexId(4)] = core::KnownDecision{"kube-system", "kube-proxy-x", Limits{}, true,
                                                     core::LimitSource::Excluded};
    engine_.restore(memory, nullptr);

    Update none;
    none.failures = {{PodSourceKind::Kubelet, "connection refused"}};
    auto r = engine_.apply(none);
    EXPECT_TRUE(r.fallback);
    EXPECT_EQ(r.source, PodSourceKind::Cache);
    EXPECT_EQ(engine_.podSource(), PodSourceKind::Cache);
    EXPECT_EQ(inForce(restored), (Limits{200, 200, 0, 10 << 20}));
    EXPECT_EQ(inForce(excluded), Limits{});
    EXPECT_EQ(inForce(unknown), (Limits{500, 500, 0, 0}));
    EXPECT_EQ(inForce(kept), (Limits{42, 42, 0, 0}));
    EXPECT_EQ(r.changed, 2u);
    EXPECT_EQ(r.unchanged, 1u);
    EXPECT_EQ(r.excluded, 1u);
}

TEST_F(EngineTest, ADryRunReadsAndPlansButWritesNothing) {
    cgroupOf(kAnnotated, 2);
    cgroupOf(kAnnotated, 3);
    core::PodList list;
    list.pods.push_back(makePod(kAnnotated));
    Update u = Update::fresh(std::move(list), PodSourceKind::Kubelet);
    u.dryRun = true;
    auto r = engine_.apply(u);
    EXPECT_TRUE(writer_->writes.empty());
    EXPECT_GT(writer_->reads, 0);
    EXPECT_EQ(status(r, 2)->state, LimitState::Planned);
    EXPECT_EQ(r.changed, 2u);
    EXPECT_TRUE(engine_.memory().ours.empty());

    // A limit in force in the file only would only be handed to systemd: no change to plan.
    auto cg = cgroupOf(kAnnotated, 2);
    writer_->inForce[{cg, kDisk}] = Limits{200, 200, 0, 10 << 20};
    writer_->kernelOnly.insert({cg, kDisk});
    list.pods.assign({makePod(kAnnotated)});
    u = Update::fresh(std::move(list), PodSourceKind::Kubelet);
    u.dryRun = true;
    r = engine_.apply(u);
    EXPECT_TRUE(writer_->writes.empty());
    EXPECT_EQ(status(r, 2)->state, LimitState::Unchanged);
    EXPECT_EQ(status(r, 3)->state, LimitState::Planned);
}

TEST_F(EngineTest, TheMemoryIsWrittenOnlyWhenItChanges) {
    TempDir state;
    DecisionCacheStore store(state.path().string());
    engine_.restore({}, &store);
    cgroupOf(kAnnotated, 2);
    pass({kAnnotated});
    auto first = testing_support::readText(state.path() / "decisions.json");
    ASSERT_NE(first.find(hexId(2)), std::string::npos);
    auto mtime = std::filesystem::last_write_time(state.path() / "decisions.json");
    std::filesystem::last_write_time(state.path() / "decisions.json", mtime - std::chrono::hours(1));
    pass({kAnnotated});
    EXPECT_EQ(std::filesystem::last_write_time(state.path() / "decisions.json"), mtime - std::chrono::hours(1));

    EngineMemory loaded;
    EXPECT_EQ(DecisionCacheStore(state.path().string()).load(loaded), "");
    EXPECT_EQ(loaded, engine_.memory());
    EXPECT_EQ(loaded.ours.at(hexId(2)).limits, (Limits{200, 200, 0, 10 << 20}));
}

// The systemd backend end to end over a temp tree with io.max files and a fake systemd. A container
// whose scope just appeared is limited in io.max and systemd is not asked: a SetUnitProperties
// makes systemd re-attach the unit's device filter, which runc may be replacing right then. The
// first pass that lists the container running hands the limit to systemd, once, as no change;
// later changes go through systemd; one that turns out excluded loses the line we wrote.
TEST(EngineOnSystemd, AStartingContainerIsLimitedInIoMaxAndHandedToSystemdOnceItRuns) {
    TempDir tree;
    auto cfg = core::parseConfig({{"CONTAINER_IOPS_LIMIT", "500"}, {"EXCLUDE_NAMESPACES", "kube-system"}}, "node-1");
    ASSERT_TRUE(cfg.ok());
    host::CgroupSetup cgroups;
    cgroups.hierarchy = tree.path().string();
    cgroups.version = core::CgroupVersion::V2;
    cgroups.layout.driver = core::CgroupDriver::Systemd;
    cgroups.driverDetected = true;
    host::BlockDevice disk;
    disk.dev = kDisk;
    disk.name = "nvme0n1";
    auto manager = std::make_unique<testing_support::FakeSystemdManager>();
    auto& systemd = *manager;
    auto writer = std::make_unique<host::SystemdUnitWriter>(
        systemd, host::makeRawWriter(core::CgroupVersion::V2, tree.path().string()),
        std::map<core::DevNum, std::string>{{kDisk, "/dev/nvme0n1"}});
    auto setup = setupFromParts(*cfg, cgroups, {disk}, std::move(writer), std::move(manager));
    FakeClock clock;
    Telemetry telemetry;
    Engine engine{telemetry, clock};
    engine.use(*setup);
    int applied = 0;
    engine.onApplied = [&](const core::ContainerStatus&) { ++applied; };

    PodSpec moved{"shop", "job-0", 5, QosClass::BestEffort, {{"job", 5}}, {}};
    auto scopeOf = [&](const PodSpec& p, int id) {
        auto pod = makePod(p);
        auto cg = core::containerCgroup(cgroups.layout, pod.uid, p.qos, core::ContainerId{core::Runtime::Containerd, hexId(id)});
        tree.makeFile(cg + "/io.max");  // systemd makes the scope's cgroup; the kernel gives it io.max
        systemd.units[cg.substr(cg.rfind('/') + 1)];  // a loaded unit, no IO limits
        return cg;
    };
    auto podList = [](std::vector<PodSpec> specs, core::ContainerState state) {
        core::PodList list;
        for (const auto& s : specs) {
            list.pods.push_back(makePod(s));
            for (auto& c : list.pods.back().containers) c.state = state;
        }
        return list;
    };
    auto ioMax = [&](const std::string& cg) { return tree.read(cg + "/io.max"); };

    // The kubelet lists db (2) and backup (3) created, not started: nothing to do yet.
    engine.apply(Update::fresh(podList({kAnnotated}, core::ContainerState::Waiting), PodSourceKind::Kubelet));
    EXPECT_TRUE(systemd.calls.empty());

    // runc starts them (and job-0, not listed yet): the limits go into io.max at once, systemd
    // hears nothing.
    auto db = scopeOf(kAnnotated, 2), backup = scopeOf(kAnnotated, 3), job = scopeOf(moved, 5);
    engine.apply(Update::appeared({db, backup, job}));
    EXPECT_EQ(ioMax(db), "259:0 rbps=max wbps=10485760 riops=200 wiops=200\n");
    EXPECT_EQ(ioMax(backup), "259:0 rbps=max wbps=10485760 riops=50 wiops=200\n");  // its own key, while created
    EXPECT_EQ(ioMax(job), "259:0 rbps=max wbps=max riops=500 wiops=500\n");         // nothing known: the default
    EXPECT_TRUE(systemd.calls.empty());
    EXPECT_EQ(applied, 3);

    // They run (job-0 in kube-system after all): systemd gets the limits of db and backup, as no
    // change; job-0 loses the line we wrote (systemd writes "max" for the explicit UINT64_MAX).
    moved.ns = "kube-system";
    auto r = engine.apply(Update::fresh(podList({kAnnotated, moved}, core::ContainerState::Running), PodSourceKind::Kubelet));
    ASSERT_EQ(systemd.calls.size(), 3u);
    std::map<std::string, Limits> handed;
    for (const auto& c : systemd.calls) handed[c.unit] = c.limits;
    EXPECT_EQ(handed.at(db.substr(db.rfind('/') + 1)), (Limits{200, 200, 0, 10 << 20}));
    EXPECT_EQ(handed.at(backup.substr(backup.rfind('/') + 1)), (Limits{50, 200, 0, 10 << 20}));
    EXPECT_EQ(handed.at(job.substr(job.rfind('/') + 1)), Limits{});
    EXPECT_EQ(r.unchanged, 2u);
    EXPECT_EQ(r.changed, 0u);
    EXPECT_EQ(r.excluded, 1u);
    EXPECT_EQ(applied, 3);  // a handover is no new limit
    EXPECT_EQ(engine.managedContainers(), 2u);

    // Held by systemd now: the same pods again ask nothing of it.
    systemd.calls.clear();
    engine.apply(Update::fresh(podList({kAnnotated, moved}, core::ContainerState::Running), PodSourceKind::Kubelet));
    EXPECT_TRUE(systemd.calls.empty());

    // A change for a running container goes through systemd.
    PodSpec raised = kAnnotated;
    raised.annotations["iops-limit/limit"] = "300";
    r = engine.apply(Update::fresh(podList({raised, moved}, core::ContainerState::Running), PodSourceKind::Kubelet));
    ASSERT_EQ(systemd.calls.size(), 2u);
    EXPECT_EQ(systemd.units.at(db.substr(db.rfind('/') + 1)).at("/dev/nvme0n1"), (Limits{300, 300, 0, 10 << 20}));
    EXPECT_EQ(r.changed, 2u);
}

}  // namespace
}  // namespace iopslimit::daemon
