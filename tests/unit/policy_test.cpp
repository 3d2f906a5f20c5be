// Who may lift a limit: the precedence table (override > annotation within the policy > namespace
// default > node default), every clamp direction, trusted namespaces, unlimited requests, the
// namespace annotations, and the POD_* variables.
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/namespace.h"
#include "core/planner.h"
#include "core/policy.h"

namespace iopslimit::core {
namespace {

const std::string kId = std::string(64, 'a');

Pod podIn(const std::string& ns, std::map<std::string, std::string> annotations) {
    Pod p;
    p.ns = ns;
    p.name = "app-0";
    p.uid = "11111111-2222-3333-4444-555555555555";
    p.qos = QosClass::Burstable;
    p.qosKnown = true;
    p.annotations = std::move(annotations);
    Container c;
    c.name = "app";
    c.containerId = "containerd://" + kId;
    c.state = ContainerState::Running;
    p.containers.push_back(c);
    return p;
}

Config configWith(const Environment& env) {
    auto c = parseConfig(env, "node-1");
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    if (!c.ok()) return {};
    return std::move(c).value();
}

struct Planned {
    Limits limits;
    LimitSource source;
    std::vector<Clamp> clamps;
};

Planned plan(const Pod& pod, const Config& cfg, const std::map<std::string, NamespacePolicy>& namespaces = {},
             const std::map<std::string, Limits>& overrides = {}) {
    Filter none = Filter::create({}).value();
    Policy policy{cfg.policy, namespaces};
    PlanInput in{cfg.defaults, &none, CgroupLayout{}, &overrides, &policy};
    auto e = planContainer(pod, pod.containers.front(), in);
    return {e.limits, e.source, e.clamps};
}

TEST(Policy, PrecedenceOverrideAnnotationWithinPolicyNamespaceDefaultNodeDefault) {
    Config cfg = configWith({{"CONTAINER_IOPS_LIMIT", "500"}, {"POD_MAX_IOPS", "2000"}});
    std::map<std::string, NamespacePolicy> ns{
        {"shop", parseNamespacePolicy({{"iops-limit/default-iops", "300"}, {"iops-limit/max-iops", "1500"}})}};
    struct Case {
        const char* name;
        std::string ns;
        std::map<std::string, std::string> annotations;
        std::map<std::string, Limits> overrides;
        Limits want;
        LimitSource source;
    };
    const Case cases[] = {
        {"node default", "other", {}, {}, {500, 500, 0, 0}, LimitSource::Default},
        {"namespace default", "shop", {}, {}, {300, 300, 0, 0}, LimitSource::Namespace},
        {"annotation within both ceilings", "shop", {{"iops-limit/limit", "1000"}}, {}, {1000, 1000, 0, 0}, LimitSource::Annotation},
        {"annotation above the namespace ceiling", "shop", {{"iops-limit/limit", "1800"}}, {}, {1500, 1500, 0, 0}, LimitSource::Annotation},
        {"annotation above the node ceiling", "other", {{"iops-limit/limit", "5000"}}, {}, {2000, 2000, 0, 0}, LimitSource::Annotation},
        {"override beats everything, unbounded", "shop", {{"iops-limit/limit", "100"}},
         {{"shop/app-0", Limits{9000, 0, 0, 0}}}, {9000, 0, 0, 0}, LimitSource::Override},
    };
    for (const auto& c : cases) {
        auto p = plan(podIn(c.ns, c.annotations), cfg, ns, c.overrides);
        EXPECT_EQ(p.limits, c.want) << c.name;
        EXPECT_EQ(p.source, c.source) << c.name;
    }
}

TEST(Policy, EveryDirectionClampedToItsCeilingOrRaisedToItsFloor) {
    Config cfg = configWith({{"POD_MAX_READ_IOPS", "1000"}, {"POD_MAX_WRITE_IOPS", "800"}, {"POD_MAX_READ_BPS", "100Mi"},
                             {"POD_MAX_WRITE_BPS", "50Mi"}, {"POD_MIN_IOPS", "20"}, {"POD_MIN_BPS", "1Mi"}});
    // Unlimited in every direction: each clamped to its own ceiling, named by its variable.
    auto p = plan(podIn("shop", {{"iops-limit/limit", "0"}, {"iops-limit/bps", "max"}}), cfg);
    EXPECT_EQ(p.limits, (Limits{1000, 800, 100 << 20, 50 << 20}));
    ASSERT_EQ(p.clamps.size(), 4u);
    EXPECT_EQ(p.clamps[0].describe(), "read-iops: annotation 0 (unlimited) -> clamped to POD_MAX_READ_IOPS 1000");
    EXPECT_EQ(p.clamps[3].describe(), "write-bps: annotation 0 (unlimited) -> clamped to POD_MAX_WRITE_BPS 50Mi");
    // Too much in every direction.
    p = plan(podIn("shop", {{"iops-limit/limit", "999999999"}, {"iops-limit/bps", "10Gi"}}), cfg);
    EXPECT_EQ(p.limits, (Limits{1000, 800, 100 << 20, 50 << 20}));
    // Too little in every direction: raised to the floors.
    p = plan(podIn("shop", {{"iops-limit/limit", "5"}, {"iops-limit/bps", "1k"}}), cfg);
    EXPECT_EQ(p.limits, (Limits{20, 20, 1 << 20, 1 << 20}));
    ASSERT_EQ(p.clamps.size(), 4u);
    EXPECT_EQ(p.clamps[0].describe(), "read-iops: annotation 5 -> raised to POD_MIN_IOPS 20");
    EXPECT_EQ(p.clamps[2].describe(), "read-bps: annotation 1k -> raised to POD_MIN_BPS 1Mi");
    // Within the bounds: untouched, nothing recorded.
    p = plan(podIn("shop", {{"iops-limit/limit", "500"}}), cfg);
    EXPECT_EQ(p.limits.readIops, 500u);
    EXPECT_TRUE(p.clamps.empty());
    // Per-container keys are pod-author requests too.
    p = plan(podIn("shop", {{"iops-limit/read-iops.app", "0"}}), cfg);
    EXPECT_EQ(p.limits.readIops, 1000u);
    // Directions the annotations do not set keep the node default, unbounded (the operator's).
    Config lowDefault = configWith({{"CONTAINER_IOPS_LIMIT", "0"}, {"POD_MAX_IOPS", "100"}});
    p = plan(podIn("shop", {{"iops-limit/write-iops", "0"}}), lowDefault);
    EXPECT_EQ(p.limits, (Limits{0, 100, 0, 0}));
}

TEST(Policy, TrustedNamespacesAreNotBoundedByNodeOrNamespaceCeilings) {
    Config cfg = configWith({{"POD_MAX_IOPS", "100"}, {"POD_MIN_IOPS", "10"}, {"TRUSTED_NAMESPACES", "db, monitoring"}});
    std::map<std::string, NamespacePolicy> ns{{"db", parseNamespacePolicy({{"iops-limit/max-iops", "50"}})}};
    EXPECT_EQ(plan(podIn("db", {{"iops-limit/limit", "0"}}), cfg, ns).limits, Limits{});
    EXPECT_EQ(plan(podIn("monitoring", {{"iops-limit/limit", "5"}}), cfg).limits, (Limits{5, 5, 0, 0}));
    EXPECT_EQ(plan(podIn("dbx", {{"iops-limit/limit", "0"}}), cfg).limits, (Limits{100, 100, 0, 0}));  // exact names
}

TEST(Policy, TheLowerCeilingWinsAndANamespaceDefaultStaysWithinItsOwnCeiling) {
    Config cfg = configWith({{"POD_MAX_IOPS", "1000"}});
    std::map<std::string, NamespacePolicy> ns{
        {"low", parseNamespacePolicy({{"iops-limit/max-iops", "200"}, {"iops-limit/default-iops", "0"}})},
        {"high", parseNamespacePolicy({{"iops-limit/max-read-iops", "5000"}})}};
    auto p = plan(podIn("low", {{"iops-limit/limit", "0"}}), cfg, ns);
    EXPECT_EQ(p.limits, (Limits{200, 200, 0, 0}));
    EXPECT_EQ(p.clamps.at(0).describe(), "read-iops: annotation 0 (unlimited) -> clamped to namespace low iops-limit/max-iops 200");
    p = plan(podIn("high", {{"iops-limit/limit", "0"}}), cfg, ns);
    EXPECT_EQ(p.limits, (Limits{1000, 1000, 0, 0}));  // the node's is lower
    p = plan(podIn("low", {}), cfg, ns);  // default 0 (unlimited) above the namespace's own ceiling
    EXPECT_EQ(p.limits, (Limits{200, 200, 0, 0}));
    EXPECT_EQ(p.source, LimitSource::Namespace);
    EXPECT_EQ(p.clamps.at(0).describe(),
              "read-iops: namespace default 0 (unlimited) -> clamped to namespace low iops-limit/max-iops 200");
}

TEST(NamespacePolicy, SpecificKeysBeatGeneralOnesAndBadValuesAreReported) {
    auto p = parseNamespacePolicy({{"iops-limit/default-iops", "300"},
                                   {"iops-limit/default-write-iops", "100"},
                                   {"iops-limit/max-bps", "100Mi"},
                                   {"iops-limit/max-read-bps", "abc"},
                                   {"iops-limit/max-write-iops", "-5"},
                                   {"iops-limit/maximum", "1"},
                                   {"other/annotation", "x"}});
    EXPECT_EQ(p.defaults[ReadIops], 300u);
    EXPECT_EQ(p.defaults[WriteIops], 100u);
    EXPECT_FALSE(p.defaults[ReadBps]);
    EXPECT_EQ(p.max, (Limits{0, 0, 100 << 20, 100 << 20}));  // the bad read-bps falls back to max-bps
    ASSERT_EQ(p.problems.size(), 3u);
    std::set<std::string> keys;
    for (const auto& pr : p.problems) keys.insert(pr.key);
    EXPECT_EQ(keys, (std::set<std::string>{"iops-limit/max-read-bps", "iops-limit/max-write-iops", "iops-limit/maximum"}));
}

TEST(PolicyConfig, VariablesPerDirectionAndTheirErrors) {
    Config c = configWith({{"POD_MAX_IOPS", "2000"}, {"POD_MAX_WRITE_IOPS", "500"}, {"POD_MAX_BPS", "100Mi"},
                           {"POD_MIN_READ_IOPS", "10"}, {"TRUSTED_NAMESPACES", "a,b"}});
    EXPECT_EQ(c.policy.bounds.max, (Limits{2000, 500, 100 << 20, 100 << 20}));
    EXPECT_EQ(c.policy.bounds.min, (Limits{10, 0, 0, 0}));
    EXPECT_EQ(c.policy.maxSetBy[WriteIops], "POD_MAX_WRITE_IOPS");
    EXPECT_EQ(c.policy.maxSetBy[ReadIops], "POD_MAX_IOPS");
    EXPECT_EQ(c.policy.trustedNamespaces, (std::set<std::string>{"a", "b"}));
    EXPECT_FALSE(configWith({}).policy.bounds.any());
    const std::pair<Environment, const char*> bad[] = {
        {{{"POD_MAX_IOPS", "abc"}}, "POD_MAX_IOPS=\"abc\""},
        {{{"POD_MAX_READ_BPS", "-5"}}, "POD_MAX_READ_BPS=\"-5\""},
        {{{"POD_MIN_IOPS", "1.5"}}, "POD_MIN_IOPS=\"1.5\""},
        {{{"POD_MAX_IOPS", "100"}, {"POD_MIN_IOPS", "200"}}, "POD_MIN_IOPS=\"200\": above POD_MAX_IOPS=100"},
        {{{"POD_MAX_BPS", "10Mi"}, {"POD_MIN_WRITE_BPS", "20Mi"}}, "POD_MIN_WRITE_BPS=\"20971520\": above POD_MAX_BPS"},
    };
    for (const auto& [env, want] : bad) {
        auto r = parseConfig(env, "node-1");
        ASSERT_FALSE(r.ok()) << want;
        EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
    }
}

TEST(NamespaceDecoding, ListsAndWatchLinesKeepOnlyOurAnnotations) {
    auto list = decodeNamespaceList(
        R"({"kind":"NamespaceList","apiVersion":"v1","metadata":{"resourceVersion":"77"},"items":[)"
        R"({"metadata":{"name":"shop","annotations":{"iops-limit/max-iops":"200","owner":"team-a"}}},)"
        R"({"metadata":{"name":"Bad Name"}},{"metadata":{"name":"plain"}},{"kind":"Namespace"}]})");
    ASSERT_TRUE(list.ok()) << list.error().message;
    EXPECT_EQ(list->resourceVersion, "77");
    ASSERT_EQ(list->items.size(), 2u);  // the malformed items are skipped, not fatal
    EXPECT_EQ(list->items[0].annotations, (std::map<std::string, std::string>{{"iops-limit/max-iops", "200"}}));
    for (const char* bad : {"", "{", "[]", R"({"kind":"PodList","items":[]})", R"({"kind":"NamespaceList","items":{}})"})
        EXPECT_FALSE(decodeNamespaceList(bad).ok()) << bad;

    auto ev = decodeNamespaceEvent(
        R"({"type":"MODIFIED","object":{"kind":"Namespace","metadata":{"name":"shop","resourceVersion":"80","annotations":{"iops-limit/max-iops":"100"}}}})");
    ASSERT_TRUE(ev.ok());
    EXPECT_EQ(ev->type, WatchEvent::Type::Modified);
    EXPECT_EQ(ev->resourceVersion, "80");
    EXPECT_EQ(ev->ns.annotations.at("iops-limit/max-iops"), "100");
    ev = decodeNamespaceEvent(R"({"type":"BOOKMARK","object":{"kind":"Namespace","metadata":{"resourceVersion":"81"}}})");
    ASSERT_TRUE(ev.ok());
    EXPECT_EQ(ev->type, WatchEvent::Type::Bookmark);
    ev = decodeNamespaceEvent(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})");
    ASSERT_TRUE(ev.ok());
    EXPECT_EQ(ev->code, 410);
    for (const char* bad : {"{}", R"({"type":"ADDED"})", R"({"type":"SIDEWAYS","object":{"metadata":{"name":"x"}}})",
                            R"({"type":"ADDED","object":{"metadata":{"name":7}}})", "null", "[1]"})
        EXPECT_FALSE(decodeNamespaceEvent(bad).ok()) << bad;
}

}  // namespace
}  // namespace iopslimit::core
