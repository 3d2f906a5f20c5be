// kube's fetching through fakes: the kubelet-then-API-server chain with FakePodSource, and the
// API-server list + watch with FakeHttpGetter delivering the stream in chunks (a split event, a
// bookmark, a 410 that forces a relist), merged by WatchedPods.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "kube/pod_watch.h"
#include "support/fakes.h"

namespace iopslimit::kube {
namespace {

using core::PodSourceKind;
using testing_support::FakeHttpGetter;
using testing_support::FakePodSource;

core::PodList listOf(std::initializer_list<const char*> names) {
    core::PodList l;
    for (const char* n : names) {
        core::Pod p;
        p.ns = "shop";
        p.name = n;
        p.uid = std::string("uid-") + n;
        l.pods.push_back(p);
    }
    return l;
}

TEST(PodSourceChain, KubeletFirstThenTheApiServerAndEveryFailureSaid) {
    FakePodSource kubelet(PodSourceKind::Kubelet), api(PodSourceKind::ApiServer);
    kubelet.pods = listOf({"a", "b"});
    api.pods = listOf({"a"});
    PodSourceChain chain(&kubelet, &api);

    auto f = chain.fetch();
    ASSERT_TRUE(f.pods);
    EXPECT_EQ(f.source, PodSourceKind::Kubelet);
    EXPECT_EQ(f.pods->pods.size(), 2u);
    EXPECT_TRUE(f.failures.empty());
    EXPECT_EQ(api.calls, 0);  // never asked while the kubelet answers

    kubelet.error = "HTTP 403: Forbidden";
    f = chain.fetch();
    ASSERT_TRUE(f.pods);
    EXPECT_EQ(f.source, PodSourceKind::ApiServer);
    ASSERT_EQ(f.failures.size(), 1u);
    EXPECT_EQ(f.failures[0].source, PodSourceKind::Kubelet);

    api.error = "timed out";
    f = chain.fetch();
    EXPECT_FALSE(f.pods);
    EXPECT_EQ(f.source, PodSourceKind::None);
    EXPECT_EQ(f.error(), "HTTP 403: Forbidden; API server: timed out");

    PodSourceChain kubeletOnly(&kubelet, nullptr);
    f = kubeletOnly.fetch();
    EXPECT_FALSE(f.pods);
    EXPECT_EQ(f.error(), "HTTP 403: Forbidden");
    EXPECT_FALSE(kubeletOnly.hasApiServer());
}

std::string podJson(const std::string& name, const std::string& node = "node-1") {
    return R"({"metadata":{"name":")" + name + R"(","namespace":"shop","uid":"uid-)" + name +
           R"(","annotations":{"iops-limit/limit":"300"}},"spec":{"nodeName":")" + node +
           R"("},"status":{"phase":"Running","qosClass":"BestEffort","containerStatuses":[{"name":"c","image":"i",)"
           R"("containerID":"containerd://)" + std::string(64, 'a') + R"(","state":{"running":{}}}]}})";
}

std::string listJson(const std::string& rv, std::initializer_list<std::string> names) {
    std::string items;
    for (const auto& n : names) items += (items.empty() ? "" : ",") + podJson(n);
    return R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":")" + rv + R"("},"items":[)" + items + "]}";
}

TEST(PodWatch, ListsWatchesFollowsBookmarksAndRelistsOn410) {
    auto cfg = core::parseConfig({{"NODE_NAME", "node-1"}, {"KUBE_API_SERVER", "https://api.example:6443"}}, "h").value();
    FakeHttpGetter http;
    const std::string list = "https://api.example:6443/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1";
    http.script(list + "&watch=1", {200,
                                    {R"({"type":"ADDED","object":)" + podJson("b").substr(0, 40),  // split mid-event
                                     podJson("b").substr(40) + "}\n",
                                     R"({"type":"ADDED","object":)" + podJson("elsewhere", "node-2") + "}\n",
                                     R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"12"}}})" "\n",
                                     R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})" "\n"},
                                    ""});
    http.script(list, {200, {listJson("10", {"a"})}, ""});
    http.script(list, {200, {listJson("20", {"c"})}, ""});

    std::atomic<int> wakes{0};
    PodWatch watch(cfg, http, [&] { ++wakes; });
    watch.start();
    WatchedPods pods;
    size_t events = 0;
    std::vector<std::string> seen;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
        events += pods.apply(watch.drain());
        seen.clear();
        for (const auto& p : pods.list().pods) seen.push_back(p.name);
        if (seen == std::vector<std::string>{"c"}) break;  // the relist replaced everything
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    watch.stop();
    EXPECT_EQ(seen, std::vector<std::string>{"c"});
    EXPECT_GE(wakes.load(), 3);
    EXPECT_GE(watch.restarts(), 1u);  // the 410 (and a failed watch after the scripted answers ran out)
    auto urls = http.requested();
    ASSERT_GE(urls.size(), 3u);
    EXPECT_EQ(urls[0], list);
    EXPECT_EQ(urls[1], list + "&watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=10");
    EXPECT_EQ(urls[2], list);  // relisted after the 410, not watched from the bookmark
}

TEST(WatchedPods, SnapshotsReplaceEventsAddChangeAndDelete) {
    WatchedPods w;
    WatchUpdate snap;
    snap.snapshot = true;
    snap.pods = listOf({"a", "b"}).pods;
    WatchUpdate evs;
    core::WatchEvent del;
    del.type = core::WatchEvent::Type::Deleted;
    del.pod = listOf({"a"}).pods[0];
    core::WatchEvent mod;
    mod.type = core::WatchEvent::Type::Modified;
    mod.pod = listOf({"b"}).pods[0];
    mod.pod.annotations["iops-limit/limit"] = "7";
    evs.events = {del, mod};
    std::vector<WatchUpdate> updates;
    updates.push_back(snap);
    updates.push_back(evs);
    EXPECT_EQ(w.apply(std::move(updates)), 2u);
    auto l = w.list();
    ASSERT_EQ(l.pods.size(), 1u);
    EXPECT_EQ(l.pods[0].name, "b");
    EXPECT_EQ(l.pods[0].annotations.at("iops-limit/limit"), "7");
}

}  // namespace
}  // namespace iopslimit::kube
