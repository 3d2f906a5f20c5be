// The streaming PodList decoder: any split of the body into chunks decodes to the same list
// as the whole body (decodePodList), and the item size cap holds.
#include "core/podlist_decoder.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace iopslimit::core {
namespace {

std::string readData(const std::string& name) {
    std::ifstream in(std::string(IOPSLIMIT_TEST_DATA) + "/" + name, std::ios::binary);
    EXPECT_TRUE(in.good()) << name;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Result<PodList> decodeInChunks(std::string_view body, size_t chunk, size_t maxItemBytes = 4u << 20) {
    PodListDecoder d(maxItemBytes);
    for (size_t i = 0; i < body.size(); i += chunk)
        if (!d.feed(body.substr(i, chunk))) break;
    return d.finish();
}

void expectSame(const PodList& a, const PodList& b) {
    EXPECT_EQ(a.resourceVersion, b.resourceVersion);
    EXPECT_EQ(a.problems, b.problems);
    ASSERT_EQ(a.pods.size(), b.pods.size());
    for (size_t i = 0; i < a.pods.size(); ++i) {
        const Pod& x = a.pods[i];
        const Pod& y = b.pods[i];
        SCOPED_TRACE(x.name);
        EXPECT_EQ(x.uid, y.uid);
        EXPECT_EQ(x.ns, y.ns);
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.phase, y.phase);
        EXPECT_EQ(x.nodeName, y.nodeName);
        EXPECT_EQ(x.qos, y.qos);
        EXPECT_EQ(x.qosKnown, y.qosKnown);
        EXPECT_EQ(x.labels, y.labels);
        EXPECT_EQ(x.annotations, y.annotations);
        ASSERT_EQ(x.containers.size(), y.containers.size());
        for (size_t c = 0; c < x.containers.size(); ++c) {
            EXPECT_EQ(x.containers[c].name, y.containers[c].name);
            EXPECT_EQ(x.containers[c].image, y.containers[c].image);
            EXPECT_EQ(x.containers[c].containerId, y.containers[c].containerId);
            EXPECT_EQ(x.containers[c].kind, y.containers[c].kind);
            EXPECT_EQ(x.containers[c].state, y.containers[c].state);
        }
    }
}

TEST(PodListDecoder, AnyChunkingOfTheFixturesDecodesTheSame) {
    for (const char* file : {"nri-kubernetes_1_35_kubelet_pods.json", "nri-kubernetes_1_18_docker_kubelet_pods.json"}) {
        SCOPED_TRACE(file);
        const std::string body = readData(file);
        auto whole = decodePodList(body);
        ASSERT_TRUE(whole.ok()) << whole.error().message;
        ASSERT_FALSE(whole->pods.empty());
        for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{61}, size_t{1000}, size_t{16384}}) {
            SCOPED_TRACE(chunk);
            auto r = decodeInChunks(body, chunk);
            ASSERT_TRUE(r.ok()) << r.error().message;
            expectSame(*r, *whole);
        }
    }
}

// Escapes, brackets and quotes inside strings, split at every possible byte.
TEST(PodListDecoder, StringsWithBracketsAndEscapesSplitAnywhere) {
    const std::string body = R"({"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"9\"9"},"items":[)"
                             R"({"metadata":{"name":"a","namespace":"n","uid":"u-1","labels":{"x":"}]\"[{\\"},)"
                             R"("annotations":{"iops-limit/iops":"5","note":"{\"items\":[1,2]}"}},)"
                             R"("status":{"phase":"Running","containerStatuses":[{"name":"c\u0041","state":{"running":{}}}]}},)"
                             R"(7,"str",null,)"
                             R"({"metadata":{"name":"b","uid":"u-2"},"spec":{"nodeName":"n1"}}]})";
    auto whole = decodePodList(body);
    ASSERT_TRUE(whole.ok()) << whole.error().message;
    ASSERT_EQ(whole->pods.size(), 2u);
    EXPECT_EQ(whole->resourceVersion, "9\"9");
    EXPECT_EQ(whole->pods[0].labels.at("x"), "}]\"[{\\");
    EXPECT_EQ(whole->pods[0].annotations, (std::map<std::string, std::string>{{"iops-limit/iops", "5"}}));
    ASSERT_EQ(whole->pods[0].containers.size(), 1u);
    EXPECT_EQ(whole->pods[0].containers[0].name, "cA");
    EXPECT_EQ(whole->pods[1].nodeName, "n1");
    EXPECT_EQ(whole->problems.size(), 3u);  // 7, "str", null
    for (size_t split = 1; split < body.size(); ++split) {
        SCOPED_TRACE(split);
        PodListDecoder d;
        ASSERT_TRUE(d.feed(std::string_view(body).substr(0, split)));
        ASSERT_TRUE(d.feed(std::string_view(body).substr(split)));
        auto r = d.finish();
        ASSERT_TRUE(r.ok()) << r.error().message;
        expectSame(*r, *whole);
    }
}

TEST(PodListDecoder, ItemLargerThanTheCapIsAnError) {
    const std::string big(4096, 'x');
    const std::string body = R"({"kind":"PodList","items":[{"metadata":{"name":"a","uid":"u","labels":{"big":")" + big +
                             R"("}}}]})";
    auto capped = decodeInChunks(body, 512, 1024);
    ASSERT_FALSE(capped.ok());
    EXPECT_NE(capped.error().message.find("larger than"), std::string::npos) << capped.error().message;
    auto roomy = decodeInChunks(body, 512, 1 << 20);
    ASSERT_TRUE(roomy.ok()) << roomy.error().message;
    EXPECT_EQ(roomy->pods.size(), 1u);
}

TEST(PodListDecoder, FailureIsSticky) {
    PodListDecoder d;
    EXPECT_FALSE(d.feed("[1,2]"));
    EXPECT_FALSE(d.error().empty());
    EXPECT_FALSE(d.feed(R"({"kind":"PodList","items":[]})"));
    EXPECT_FALSE(d.finish().ok());
}

TEST(PodListDecoder, TruncatedBodyIsAnError) {
    const std::string body = readData("nri-kubernetes_1_18_docker_kubelet_pods.json");
    for (size_t cut : {body.size() / 3, body.size() / 2, body.rfind('}')}) {  // the last: all but the closing brace
        SCOPED_TRACE(cut);
        PodListDecoder d;
        d.feed(std::string_view(body).substr(0, cut));
        EXPECT_FALSE(d.finish().ok());
    }
    PodListDecoder empty;
    EXPECT_FALSE(empty.finish().ok());
}

TEST(PodListDecoder, CountsBytes) {
    PodListDecoder d;
    ASSERT_TRUE(d.feed(R"({"kind":)"));
    ASSERT_TRUE(d.feed(R"("PodList"})"));
    EXPECT_EQ(d.bytesSeen(), 18u);
    auto r = d.finish();
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->pods.empty());
}

}  // namespace
}  // namespace iopslimit::core
