// core's reconcile decisions, table-driven: decide() for every intent against what is in force,
// targetForCgroup() for every kind of cgroup that appears, and the explain text.
#include <gtest/gtest.h>

#include "core/explain.h"
#include "core/reconcile.h"

namespace iopslimit::core {
namespace {

const Limits kDefault{500, 500, 0, 0};
const Limits kOurs{200, 200, 0, 0};
const Limits kOther{33, 33, 0, 0};

TEST(Decide, EveryIntentAgainstWhatIsInForce) {
    struct Case {
        const char* name;
        Intent intent;
        Limits want;
        std::vector<Limits> have;
        std::optional<Limits> ours;
        std::vector<std::optional<Limits>> writes;
        LimitState state;
        std::optional<Limits> oursAfter;
        // Per device: in the cgroup file only, not held by its owner (systemd); writing it again
        // hands it over, which alone is no change.
        std::vector<bool> kernelOnly = {};
        size_t handedOver = 0;
    };
    const Case cases[] = {
        {"enforce: differs on one disk", Intent::Enforce, kOurs, {kOurs, Limits{}}, std::nullopt,
         {std::nullopt, kOurs}, LimitState::Applied, kOurs},
        {"enforce: already in force", Intent::Enforce, kOurs, {kOurs, kOurs}, kOurs, {std::nullopt, std::nullopt},
         LimitState::Unchanged, kOurs},
        {"enforce: unlimited over a limit", Intent::Enforce, Limits{}, {kOther}, std::nullopt, {Limits{}},
         LimitState::Applied, Limits{}},
        {"remove: still ours", Intent::RemoveOurs, Limits{}, {kOurs, kOurs}, kOurs, {Limits{}, Limits{}},
         LimitState::Excluded, std::nullopt},
        {"remove: changed since on one disk", Intent::RemoveOurs, Limits{}, {kOurs, kOther}, kOurs,
         {Limits{}, std::nullopt}, LimitState::Excluded, std::nullopt},
        {"remove: never ours", Intent::RemoveOurs, Limits{}, {kOther}, std::nullopt, {std::nullopt},
         LimitState::Excluded, std::nullopt},
        {"remove: ours was unlimited", Intent::RemoveOurs, Limits{}, {Limits{}}, Limits{}, {std::nullopt},
         LimitState::Excluded, std::nullopt},
        {"default: nothing in force", Intent::DefaultIfNone, kDefault, {Limits{}, Limits{}}, std::nullopt,
         {kDefault, kDefault}, LimitState::Applied, kDefault},
        {"default: a limit on one disk keeps both", Intent::DefaultIfNone, kDefault, {Limits{}, kOther}, std::nullopt,
         {std::nullopt, std::nullopt}, LimitState::Unchanged, std::nullopt},
        {"enforce: in force, in the file only: handed over", Intent::Enforce, kOurs, {kOurs, kOurs}, kOurs,
         {kOurs, std::nullopt}, LimitState::Unchanged, kOurs, {true, false}, 1},
        {"enforce: another limit in the file only: replaced", Intent::Enforce, kOurs, {kOther}, kOurs, {kOurs},
         LimitState::Applied, kOurs, {true}, 0},
        {"enforce: a change on one disk, a handover on the other", Intent::Enforce, kOurs, {kOther, kOurs},
         std::nullopt, {kOurs, kOurs}, LimitState::Applied, kOurs, {false, true}, 1},
        {"enforce: unlimited, nothing in force: nothing to hand over", Intent::Enforce, Limits{}, {Limits{}},
         std::nullopt, {std::nullopt}, LimitState::Unchanged, Limits{}, {true}, 0},
        {"remove: ours in the file only, removed as usual", Intent::RemoveOurs, Limits{}, {kOurs}, kOurs, {Limits{}},
         LimitState::Excluded, std::nullopt, {true}, 0},
        {"default: someone's limit in the file only stays theirs", Intent::DefaultIfNone, kDefault, {kOther},
         std::nullopt, {std::nullopt}, LimitState::Unchanged, std::nullopt, {true}, 0},
    };
    for (const auto& c : cases) {
        PlanEntry e;
        e.limits = c.want;
        e.excludedReason = "namespace kube-system";
        Decision d = decide(e, c.intent, c.have, c.ours, c.kernelOnly);
        EXPECT_EQ(d.writes, c.writes) << c.name;
        EXPECT_EQ(d.state, c.state) << c.name;
        EXPECT_EQ(d.ours, c.oursAfter) << c.name;
        EXPECT_EQ(d.handedOver, c.handedOver) << c.name;
        if (c.intent == Intent::RemoveOurs) {
            EXPECT_EQ(d.note, "namespace kube-system") << c.name;
        }
    }
}

Pod podWith(std::string uid, std::map<std::string, std::string> annotations, std::string ns = "shop") {
    Pod p;
    p.ns = ns;
    p.name = "db-0";
    p.uid = std::move(uid);
    p.qos = QosClass::Burstable;
    p.qosKnown = true;
    p.annotations = std::move(annotations);
    Container c;
    c.name = "db";
    c.containerId = "containerd://" + std::string(64, 'b');
    c.state = ContainerState::Running;
    p.containers.push_back(c);
    return p;
}

TEST(TargetForCgroup, ListedPodKnownCachedOrNothing) {
    const std::string uid = "11111111-2222-3333-4444-555555555555";
    const std::string pod = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_3333_4444_555555555555.slice";
    const std::string listed = pod + "/cri-containerd-" + std::string(64, 'b') + ".scope";
    const std::string sibling = pod + "/cri-containerd-" + std::string(64, 'c') + ".scope";
    const std::string stranger =
        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod99999999_0000_0000_0000_000000000000.slice/"
        "cri-containerd-" + std::string(64, 'd') + ".scope";
    std::vector<Pod> pods{podWith(uid, {{"iops-limit/limit", "200"}, {"iops-limit/read-iops.db", "100"}})};
    DecisionCache cache{{std::string(64, 'd'), KnownDecision{"old", "p", Limits{70, 70, 0, 0}, false, LimitSource::Annotation}}};
    Filter none = Filter::create({}).value();
    PlanInput in{kDefault, &none, CgroupLayout{CgroupDriver::Systemd, {}}, nullptr};

    auto t = targetForCgroup(listed, pods, cache, in);
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->listed);
    EXPECT_EQ(t->intent, Intent::Enforce);
    EXPECT_EQ(t->entry.limits, (Limits{100, 200, 0, 0}));  // its own container key
    EXPECT_EQ(t->entry.cgroup, listed);

    // Created, not started yet: the kubelet lists it waiting, with its ID. It is this container.
    auto created = pods;
    created[0].containers[0].state = ContainerState::Waiting;
    t = targetForCgroup(listed, created, cache, in);
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->listed);
    EXPECT_EQ(t->entry.limits, (Limits{100, 200, 0, 0}));

    t = targetForCgroup(sibling, pods, cache, in);
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->listed);
    EXPECT_EQ(t->entry.limits, (Limits{200, 200, 0, 0}));  // the pod's
    EXPECT_EQ(t->entry.containerId.id, std::string(64, 'c'));
    EXPECT_EQ(t->entry.cgroup, sibling);
    EXPECT_TRUE(t->entry.idError.empty());

    t = targetForCgroup(stranger, pods, cache, in);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->intent, Intent::Enforce);
    EXPECT_EQ(t->entry.limits, (Limits{70, 70, 0, 0}));  // the last decision
    EXPECT_EQ(t->entry.source, LimitSource::Annotation);

    t = targetForCgroup(stranger, pods, {}, in);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->intent, Intent::DefaultIfNone);
    EXPECT_EQ(t->entry.limits, kDefault);
    EXPECT_EQ(t->entry.podUid, "99999999-0000-0000-0000-000000000000");

    // Excluded by its pod, or excluded when last seen: only our limit may go.
    Filter kubeSystem = Filter::create({{}, {"kube-system"}, {}, ""}).value();
    PlanInput ex{kDefault, &kubeSystem, CgroupLayout{CgroupDriver::Systemd, {}}, nullptr};
    t = targetForCgroup(sibling, {podWith(uid, {}, "kube-system")}, {}, ex);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->intent, Intent::RemoveOurs);
    cache.begin()->second.excluded = true;
    t = targetForCgroup(stranger, {}, cache, in);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->intent, Intent::RemoveOurs);
    EXPECT_EQ(t->entry.excludedReason, "excluded when last seen");

    for (const std::string& notContainer :
         {pod, std::string("kubepods.slice"), pod + "/crio-conmon-" + std::string(64, 'e') + ".scope", std::string("x")})
        EXPECT_FALSE(targetForCgroup(notContainer, pods, cache, in)) << notContainer;
}

TEST(Explain, SaysWhereEachDirectionComesFromAndWhatWasFound) {
    Pod p = podWith("u-1", {{"iops-limit/limit", "200"}, {"iops-limit/write-iops", "abc"}});
    Filter none = Filter::create({}).value();
    PlanInput in{kDefault, &none, CgroupLayout{CgroupDriver::Systemd, {}}, nullptr};
    std::vector<ExplainObserved> seen{{std::string(64, 'b'), "cri-containerd-bbbb.scope", LimitState::Applied, "", Limits{}, ""}};
    std::string text = renderExplain("shop", "db-0", &p, 1, "kubelet", in, seen);
    EXPECT_NE(text.find("Pod shop/db-0 (uid u-1, burstable, phase ?)"), std::string::npos) << text;
    EXPECT_NE(text.find("read-iops: 200 from pod-annotation (iops-limit/limit)"), std::string::npos) << text;
    EXPECT_NE(text.find("ignored iops-limit/write-iops: \"abc\" is not a non-negative integer"), std::string::npos) << text;
    EXPECT_NE(text.find("target: cri-containerd-bbbb.scope"), std::string::npos) << text;
    EXPECT_NE(text.find("state: applied"), std::string::npos) << text;

    std::map<std::string, Limits> overrides{{"shop/db-0", Limits{70, 500, 0, 0}}};
    in.overrides = &overrides;
    text = renderExplain("shop", "db-0", &p, 1, "kubelet", in, {});
    EXPECT_NE(text.find("Override: read 70 / write 500 IOPS"), std::string::npos) << text;
    EXPECT_NE(text.find("read-iops: 70 from override"), std::string::npos) << text;

    text = renderExplain("shop", "gone", nullptr, 24, "apiserver", in, {});
    EXPECT_EQ(text, "Pod shop/gone is not among the 24 pods last seen on this node (source: apiserver).\n");
}

}  // namespace
}  // namespace iopslimit::core
