// makePlan: pods + configuration -> one entry per running container, with exclusions,
// overrides and annotations applied; one bad pod never hides a container.
#include "core/planner.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/filter.h"

namespace iopslimit::core {
namespace {

const std::string kHexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kHexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string kHexC = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
const std::string kHexD = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
const std::string kHexE = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const Limits kDefaults{500, 500, 0, 0};

Container running(const std::string& name, const std::string& hex, ContainerKind kind = ContainerKind::Regular,
                  const std::string& image = "docker.io/library/busybox:1.36") {
    return Container{name, image, "containerd://" + hex, kind, ContainerState::Running};
}

Container inState(const std::string& name, ContainerState state, ContainerKind kind = ContainerKind::Regular,
                  const std::string& id = "") {
    return Container{name, "busybox", id, kind, state};
}

Pod makePod(const std::string& ns, const std::string& name, const std::string& uid, std::vector<Container> cs,
            QosClass qos = QosClass::Burstable) {
    Pod p;
    p.ns = ns;
    p.name = name;
    p.uid = uid;
    p.phase = "Running";
    p.qos = qos;
    p.qosKnown = true;
    p.containers = std::move(cs);
    return p;
}

Filter makeFilter(const FilterSpec& spec) {
    auto f = Filter::create(spec);
    EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
    return f.ok() ? *f : *Filter::create({});
}

std::string readData(const std::string& name) {
    std::ifstream in(std::string(IOPSLIMIT_TEST_DATA) + "/" + name, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const PlanEntry* entryFor(const Plan& plan, const std::string& pod, const std::string& container) {
    for (const auto& e : plan.entries)
        if (e.pod == pod && e.container == container) return &e;
    return nullptr;
}

TEST(MakePlan, OnlyRunningContainersOfEveryKind) {
    Pod p = makePod("shop", "web-1", "11111111-2222-3333-4444-555555555555",
                    {
                        running("sidecar", kHexA, ContainerKind::Init),
                        inState("setup", ContainerState::Terminated, ContainerKind::Init, "containerd://" + kHexB),
                        running("app", kHexC),
                        inState("starting", ContainerState::Waiting),
                        inState("done", ContainerState::Terminated, ContainerKind::Regular, "containerd://" + kHexD),
                        inState("odd", ContainerState::Unknown),
                        running("debug", kHexE, ContainerKind::Ephemeral),
                        inState("old-debug", ContainerState::Terminated, ContainerKind::Ephemeral),
                    });
    PlanInput in;
    in.defaults = kDefaults;
    Plan plan = makePlan({p}, in);
    ASSERT_EQ(plan.entries.size(), 3u);
    EXPECT_EQ(plan.entries[0].container, "sidecar");
    EXPECT_EQ(plan.entries[0].kind, ContainerKind::Init);
    EXPECT_EQ(plan.entries[1].container, "app");
    EXPECT_EQ(plan.entries[1].kind, ContainerKind::Regular);
    EXPECT_EQ(plan.entries[2].container, "debug");
    EXPECT_EQ(plan.entries[2].kind, ContainerKind::Ephemeral);
    EXPECT_TRUE(plan.podProblems.empty());

    const PlanEntry& e = plan.entries[1];
    EXPECT_EQ(e.ns, "shop");
    EXPECT_EQ(e.pod, "web-1");
    EXPECT_EQ(e.podUid, "11111111-2222-3333-4444-555555555555");
    EXPECT_EQ(e.qos, QosClass::Burstable);
    EXPECT_TRUE(e.qosKnown);
    EXPECT_EQ(e.rawContainerId, "containerd://" + kHexC);
    EXPECT_EQ(e.containerId.runtime, Runtime::Containerd);
    EXPECT_EQ(e.containerId.id, kHexC);
    EXPECT_TRUE(e.idError.empty());
    EXPECT_EQ(e.cgroup,
              "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_3333_4444_555555555555.slice/"
              "cri-containerd-" + kHexC + ".scope");
    EXPECT_EQ(e.limits, kDefaults);
    EXPECT_EQ(e.source, LimitSource::Default);
    EXPECT_TRUE(e.excludedReason.empty());
}

TEST(MakePlan, CgroupFollowsTheLayout) {
    Pod p = makePod("shop", "db-0", "u-1", {running("db", kHexA)}, QosClass::Guaranteed);
    PlanInput in;
    in.defaults = kDefaults;
    in.layout = {CgroupDriver::Cgroupfs, {"kubelet"}};
    Plan plan = makePlan({p}, in);
    ASSERT_EQ(plan.entries.size(), 1u);
    EXPECT_EQ(plan.entries[0].cgroup, "kubelet/kubepods/podu-1/" + kHexA);
    EXPECT_EQ(plan.entries[0].qos, QosClass::Guaranteed);
}

TEST(MakePlan, UnusableContainerIdStillYieldsAnEntry) {
    Pod p = makePod("shop", "web-2", "u-2",
                    {Container{"noid", "busybox", "", ContainerKind::Regular, ContainerState::Running},
                     Container{"weird", "busybox", "rkt://abc", ContainerKind::Regular, ContainerState::Running},
                     running("ok", kHexA)});
    PlanInput in;
    in.defaults = kDefaults;
    Plan plan = makePlan({p}, in);
    ASSERT_EQ(plan.entries.size(), 3u);
    for (int i : {0, 1}) {
        SCOPED_TRACE(plan.entries[i].container);
        EXPECT_FALSE(plan.entries[i].idError.empty());
        EXPECT_TRUE(plan.entries[i].cgroup.empty());
        EXPECT_EQ(plan.entries[i].limits, kDefaults);  // still planned; the writer reports the missing ID
    }
    EXPECT_EQ(plan.entries[1].rawContainerId, "rkt://abc");
    EXPECT_TRUE(plan.entries[2].idError.empty());
    EXPECT_FALSE(plan.entries[2].cgroup.empty());
}

struct ExclusionCase {
    std::string name;
    FilterSpec spec;
    Pod pod;
    bool excluded;
};

TEST(MakePlan, Exclusions) {
    auto pod = [](const std::string& ns, const std::string& name, const std::string& container,
                  const std::string& image, std::map<std::string, std::string> labels = {}) {
        Pod p = makePod(ns, name, "uid-" + name, {running(container, kHexA, ContainerKind::Regular, image)});
        p.labels = std::move(labels);
        // An annotation that would otherwise set a limit: exclusion must win over it.
        p.annotations = {{"iops-limit/iops", "42"}};
        return p;
    };
    const std::vector<ExclusionCase> cases = {
        {"namespace", {{}, {"kube-system", "monitoring"}, {}, ""}, pod("monitoring", "prom-0", "prom", "prom:v2"), true},
        {"namespace is exact", {{}, {"kube"}, {}, ""}, pod("kube-system", "x", "c", "img"), false},
        {"keyword in pod name", {{"istio-proxy", "psmdb"}, {}, {}, ""}, pod("db", "psmdb-rs0-0", "mongod", "mongo:6"), true},
        {"keyword in container name", {{"istio-proxy"}, {}, {}, ""}, pod("shop", "web", "istio-proxy", "envoy:1"), true},
        {"keyword in image", {{"koordinator"}, {}, {}, ""}, pod("shop", "web", "app", "registry/koordinator/agent:1"), true},
        {"no keyword matches", {{"pause", "apisix"}, {}, {}, ""}, pod("shop", "web", "app", "nginx:1"), false},
        {"empty keyword matches nothing", {{""}, {}, {}, ""}, pod("shop", "web", "app", "nginx:1"), false},
        {"regexp on namespace/pod/container", {{}, {}, {"^batch/.*/worker$"}, ""}, pod("batch", "job-1", "worker", "w:1"), true},
        {"regexp must match the joined subject", {{}, {}, {"^batch/.*/worker$"}, ""}, pod("batch", "job-1", "helper", "w:1"), false},
        {"regexp searches, not full match", {{}, {}, {"job-"}, ""}, pod("batch", "job-1", "helper", "w:1"), true},
        {"label selector", {{}, {}, {}, "tier in (db,cache),!canary"}, pod("shop", "redis-0", "redis", "redis:7", {{"tier", "cache"}}), true},
        {"label selector not matching", {{}, {}, {}, "tier in (db,cache),!canary"},
         pod("shop", "redis-1", "redis", "redis:7", {{"tier", "cache"}, {"canary", "true"}}), false},
        {"label selector on absent label", {{}, {}, {}, "tier=db"}, pod("shop", "web", "app", "nginx:1"), false},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        Filter f = makeFilter(c.spec);
        PlanInput in;
        in.defaults = kDefaults;
        in.filter = &f;
        Plan plan = makePlan({c.pod}, in);
        ASSERT_EQ(plan.entries.size(), 1u);
        const PlanEntry& e = plan.entries[0];
        if (c.excluded) {
            EXPECT_EQ(e.source, LimitSource::Excluded);
            EXPECT_EQ(e.limits, Limits{});
            EXPECT_FALSE(e.excludedReason.empty());
            EXPECT_FALSE(e.cgroup.empty());  // still located, so a limit set earlier can be removed
        } else {
            EXPECT_EQ(e.source, LimitSource::Annotation);
            EXPECT_EQ(e.limits, (Limits{42, 42, 0, 0}));
            EXPECT_TRUE(e.excludedReason.empty());
        }
    }
}

TEST(MakePlan, OverridesBeatAnnotationsAndDefaults) {
    Pod annotated = makePod("shop", "web", "u-web", {running("app", kHexA), running("side", kHexB)});
    annotated.annotations = {{"iops-limit/iops", "42"}, {"iops-limit/read-bps.app", "1Mi"}};
    Pod plain = makePod("shop", "plain", "u-plain", {running("app", kHexC)});
    Pod other = makePod("other", "web", "u-other", {running("app", kHexD)});  // same name, other namespace
    const std::map<std::string, Limits> overrides = {{"shop/web", Limits{1, 2, 3, 4}}, {"shop/plain", Limits{}}};
    PlanInput in;
    in.defaults = kDefaults;
    in.overrides = &overrides;
    Plan plan = makePlan({annotated, plain, other}, in);
    ASSERT_EQ(plan.entries.size(), 4u);
    for (const char* c : {"app", "side"}) {
        const PlanEntry* e = entryFor(plan, "web", c);
        ASSERT_NE(e, nullptr);
        SCOPED_TRACE(c);
        EXPECT_EQ(e->ns, "shop");
        EXPECT_EQ(e->source, LimitSource::Override);
        EXPECT_EQ(e->limits, (Limits{1, 2, 3, 4}));
        for (auto o : e->decision.origins) EXPECT_EQ(o, Origin::Override);
    }
    const PlanEntry* p = entryFor(plan, "plain", "app");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->source, LimitSource::Override);
    EXPECT_EQ(p->limits, Limits{});  // an override of "unlimited" is still an override
    const PlanEntry& o = plan.entries[3];
    EXPECT_EQ(o.ns, "other");
    EXPECT_EQ(o.source, LimitSource::Default);
    EXPECT_EQ(o.limits, kDefaults);
}

TEST(MakePlan, AnnotationsPerContainer) {
    Pod p = makePod("shop", "web", "u", {running("app", kHexA), running("db", kHexB), running("cache", kHexC)});
    p.annotations = {{"iops-limit/iops", "100"}, {"iops-limit/write-iops.db", "10"}, {"iops-limit/bps.cache", "1Mi"}};
    PlanInput in;
    in.defaults = kDefaults;
    Plan plan = makePlan({p}, in);
    ASSERT_EQ(plan.entries.size(), 3u);
    EXPECT_EQ(plan.entries[0].limits, (Limits{100, 100, 0, 0}));
    EXPECT_EQ(plan.entries[1].limits, (Limits{100, 10, 0, 0}));
    EXPECT_EQ(plan.entries[2].limits, (Limits{100, 100, 1048576, 1048576}));
    for (const auto& e : plan.entries) EXPECT_EQ(e.source, LimitSource::Annotation);
}

TEST(MakePlan, BadAnnotationsAreReportedOncePerPodAndEveryContainerIsPlanned) {
    Pod bad = makePod("shop", "web", "u-bad", {running("a", kHexA), running("b", kHexB), running("c", kHexC)});
    bad.annotations = {{"iops-limit/iops", "lots"},
                       {"iops-limit/read-iops.b", "-1"},
                       {"iops-limit/bogus", "1"},
                       {"iops-limit/write-iops", "20"}};
    Pod good = makePod("shop", "fine", "u-good", {running("x", kHexD)});
    PlanInput in;
    in.defaults = kDefaults;
    Plan plan = makePlan({bad, good}, in);
    ASSERT_EQ(plan.entries.size(), 4u);
    EXPECT_EQ(plan.entries[0].limits, (Limits{500, 20, 0, 0}));
    EXPECT_EQ(plan.entries[1].limits, (Limits{500, 20, 0, 0}));
    EXPECT_EQ(plan.entries[2].limits, (Limits{500, 20, 0, 0}));
    EXPECT_EQ(plan.entries[3].limits, kDefaults);
    EXPECT_EQ(plan.entries[3].source, LimitSource::Default);

    ASSERT_EQ(plan.podProblems.size(), 1u);
    ASSERT_EQ(plan.podProblems.count("shop/web"), 1u);
    std::multiset<std::string> keys;
    for (const auto& pr : plan.podProblems.at("shop/web")) keys.insert(pr.key);
    EXPECT_EQ(keys, (std::multiset<std::string>{"iops-limit/bogus", "iops-limit/iops", "iops-limit/read-iops.b"}));
}

TEST(MakePlan, EmptyInput) {
    PlanInput in;
    Plan plan = makePlan({}, in);
    EXPECT_TRUE(plan.entries.empty());
    EXPECT_TRUE(plan.podProblems.empty());
    Pod noContainers = makePod("a", "b", "c", {});
    plan = makePlan({noContainers}, in);
    EXPECT_TRUE(plan.entries.empty());
}

// The kubelet fixtures with the default configuration: kube-system is excluded (namespace and
// keyword), everything else gets CONTAINER_IOPS_LIMIT=500 both ways.
TEST(MakePlan, KubeletFixturesWithDefaultConfig) {
    auto cfg = parseConfig({}, "node-1");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    Filter f = makeFilter(cfg->filter);
    struct Fixture {
        const char* file;
        size_t running, excluded;
    };
    // Counted with python3 from the JSON: running containers, of which in kube-system.
    for (const Fixture& fx : {Fixture{"nri-kubernetes_1_35_kubelet_pods.json", 17, 9},
                              Fixture{"nri-kubernetes_1_18_docker_kubelet_pods.json", 15, 8}}) {
        SCOPED_TRACE(fx.file);
        auto list = decodePodList(readData(fx.file));
        ASSERT_TRUE(list.ok()) << list.error().message;
        PlanInput in;
        in.defaults = cfg->defaults;
        in.filter = &f;
        in.layout = {CgroupDriver::Systemd, {}};
        Plan plan = makePlan(list->pods, in);
        EXPECT_EQ(plan.entries.size(), fx.running);
        size_t excluded = 0;
        for (const auto& e : plan.entries) {
            SCOPED_TRACE(e.ns + "/" + e.pod + "/" + e.container);
            EXPECT_TRUE(e.idError.empty());
            EXPECT_FALSE(e.cgroup.empty());
            if (e.ns == "kube-system") {
                ++excluded;
                EXPECT_EQ(e.source, LimitSource::Excluded);
                EXPECT_EQ(e.limits, Limits{});
            } else {
                EXPECT_EQ(e.source, LimitSource::Default);
                EXPECT_EQ(e.limits, (Limits{500, 500, 0, 0}));
            }
        }
        EXPECT_EQ(excluded, fx.excluded);
        EXPECT_TRUE(plan.podProblems.empty());
    }
}

TEST(MakePlan, KubeletFixtureWithLabelSelectorAndAnnotatedPod) {
    auto cfg = parseConfig({{"EXCLUDE_LABEL_SELECTOR", "app in (statefulset,deployment)"}}, "node-1");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    Filter f = makeFilter(cfg->filter);
    auto list = decodePodList(readData("nri-kubernetes_1_35_kubelet_pods.json"));
    ASSERT_TRUE(list.ok());
    std::vector<Pod> pods = list->pods;
    for (auto& p : pods) {
        if (p.name != "e2e-hpa-6cd8d99884-tggnr") continue;
        p.annotations["iops-limit/read-iops.php-apache"] = "50";
        p.annotations["iops-limit/bps"] = "oops";
    }
    PlanInput in;
    in.defaults = cfg->defaults;
    in.filter = &f;
    Plan plan = makePlan(pods, in);
    ASSERT_EQ(plan.entries.size(), 17u);
    std::set<std::string> excludedByLabel;
    for (const auto& e : plan.entries)
        if (e.source == LimitSource::Excluded && e.ns != "kube-system") excludedByLabel.insert(e.pod);
    EXPECT_EQ(excludedByLabel, (std::set<std::string>{"e2e-statefulset-0", "e2e-statefulset-1",
                                                      "e2e-deployment-79967c5968-8bnn8",
                                                      "e2e-deployment-79967c5968-zjslc"}));
    const PlanEntry* hpa = entryFor(plan, "e2e-hpa-6cd8d99884-tggnr", "php-apache");
    ASSERT_NE(hpa, nullptr);
    EXPECT_EQ(hpa->source, LimitSource::Annotation);
    EXPECT_EQ(hpa->limits, (Limits{50, 500, 0, 0}));
    EXPECT_EQ(hpa->cgroup,
              "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3ea3ef66_5f89_43b7_b88b_6ee26f5b18a4.slice/"
              "cri-containerd-77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83.scope");
    ASSERT_EQ(plan.podProblems.size(), 1u);
    ASSERT_EQ(plan.podProblems.at("scraper/e2e-hpa-6cd8d99884-tggnr").size(), 1u);
    EXPECT_EQ(plan.podProblems.at("scraper/e2e-hpa-6cd8d99884-tggnr")[0].key, "iops-limit/bps");
}

TEST(FilterCreate, ErrorsNameTheVariable) {
    auto re = Filter::create({{}, {}, {"ok", "(["}, ""});
    ASSERT_FALSE(re.ok());
    EXPECT_EQ(re.error().message.rfind("EXCLUDE_REGEXPS", 0), 0u) << re.error().message;
    auto sel = Filter::create({{}, {}, {}, "a in b"});
    ASSERT_FALSE(sel.ok());
    EXPECT_EQ(sel.error().message.rfind("EXCLUDE_LABEL_SELECTOR", 0), 0u) << sel.error().message;
    EXPECT_TRUE(Filter::create({}).ok());
}

TEST(PlannerNames, Sources) {
    EXPECT_EQ(sourceName(LimitSource::Default), "default");
    EXPECT_EQ(sourceName(LimitSource::Annotation), "annotation");
    EXPECT_EQ(sourceName(LimitSource::Override), "override");
    EXPECT_EQ(sourceName(LimitSource::Excluded), "excluded");
}

}  // namespace
}  // namespace iopslimit::core

namespace {

TEST(PlannerLimits, MoreThanTenThousandContainersAreCountedNotPlanned) {
    using namespace iopslimit::core;
    std::vector<Pod> pods;
    for (size_t i = 0; i < kMaxContainers + 5; ++i) {
        Pod p;
        p.uid = "u" + std::to_string(i);
        p.ns = "ns";
        p.name = "p" + std::to_string(i);
        Container c;
        c.name = "c";
        c.state = ContainerState::Running;
        c.containerId = "containerd://" + std::string(64, 'a');
        p.containers.push_back(c);
        pods.push_back(std::move(p));
    }
    PlanInput in;
    in.defaults = Limits{500, 500, 0, 0};
    Plan plan = makePlan(pods, in);
    EXPECT_EQ(plan.entries.size(), kMaxContainers);
    EXPECT_EQ(plan.skippedContainers, 5u);
    EXPECT_EQ(plan.entries.front().pod, "p0");
    EXPECT_EQ(plan.entries.front().limits.readIops, 500u);
}

}  // namespace
