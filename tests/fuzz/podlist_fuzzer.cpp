// PodList decoding: decodePodList on the whole body, then PodListDecoder fed the same bytes in
// chunks (one byte at a time for inputs up to 8 KiB, and at offsets taken from the input's last
// bytes). Whatever the
// split, the result must equal the whole-body one: the HTTP layer hands over arbitrary chunks.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/pod.h"
#include "core/podlist_decoder.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

namespace {

std::string describe(const Result<PodList>& r) {
    if (!r) return "error \"" + escaped(r.error().message) + "\"";
    return std::to_string(r->pods.size()) + " pods, " + std::to_string(r->problems.size()) + " problems, rv \"" +
           escaped(r->resourceVersion) + "\"";
}

bool sameContainer(const Container& a, const Container& b) {
    return a.name == b.name && a.image == b.image && a.containerId == b.containerId && a.kind == b.kind &&
           a.state == b.state;
}

bool samePod(const Pod& a, const Pod& b) {
    if (a.uid != b.uid || a.ns != b.ns || a.name != b.name || a.phase != b.phase || a.nodeName != b.nodeName ||
        a.resourceVersion != b.resourceVersion || a.qos != b.qos || a.qosKnown != b.qosKnown ||
        a.labels != b.labels || a.annotations != b.annotations || a.containers.size() != b.containers.size())
        return false;
    for (size_t i = 0; i < a.containers.size(); ++i)
        if (!sameContainer(a.containers[i], b.containers[i])) return false;
    return true;
}

bool sameResult(const Result<PodList>& a, const Result<PodList>& b) {
    if (a.ok() != b.ok()) return false;
    if (!a.ok()) return a.error().message == b.error().message;
    if (a->resourceVersion != b->resourceVersion || a->problems != b->problems || a->pods.size() != b->pods.size())
        return false;
    for (size_t i = 0; i < a->pods.size(); ++i)
        if (!samePod(a->pods[i], b->pods[i])) return false;
    return true;
}

// What decodePodList promises about every pod it returns.
void checkPods(const PodList& list) {
    for (const Pod& p : list.pods) {
        FUZZ_CHECK(!p.uid.empty() && !p.name.empty() && !p.ns.empty(), "pod \"%s/%s\" uid \"%s\"",
                   escaped(p.ns).c_str(), escaped(p.name).c_str(), escaped(p.uid).c_str());
        for (const auto& [k, v] : p.annotations)
            FUZZ_CHECK(k.rfind("iops-limit/", 0) == 0 || k == Pod::kMirrorAnnotation, "kept annotation \"%s\"",
                       escaped(k).c_str());
        for (const Container& c : p.containers) FUZZ_CHECK(!c.name.empty(), "container without a name");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    Result<PodList> whole = decodePodList(body);
    if (whole) checkPods(*whole);

    // Same item-size cap as decodePodList (size + 1), so only the split differs. Every offset as a
    // chunk boundary; bounded, as a 128 KiB PodList fed byte by byte would cut exec/s tenfold.
    if (size <= 8192) {
        PodListDecoder byte(size + 1);
        for (size_t i = 0; i < size && byte.feed(body.substr(i, 1)); ++i) {}
        Result<PodList> r = byte.finish();
        FUZZ_CHECK(sameResult(whole, r), "1-byte chunks: %s, whole body: %s", describe(r).c_str(),
                   describe(whole).c_str());
    }
    {
        // Chunk lengths come from the input's tail (FuzzedDataProvider consumes integers from the
        // end), so the fuzzer steers them; the body is still the whole input.
        FuzzedDataProvider fdp(data, size);
        PodListDecoder chunked(size + 1);
        size_t off = 0;
        while (off < size) {
            size_t n = fdp.remaining_bytes() ? fdp.ConsumeIntegralInRange<size_t>(0, 4096) : size - off;
            n = std::min(n, size - off);
            if (!chunked.feed(body.substr(off, n))) break;  // also feeds empty chunks
            off += n;
        }
        Result<PodList> r = chunked.finish();
        FUZZ_CHECK(sameResult(whole, r), "fuzzed chunks: %s, whole body: %s", describe(r).c_str(),
                   describe(whole).c_str());
        FUZZ_CHECK(!r || chunked.bytesSeen() == size, "bytesSeen %zu of %zu", chunked.bytesSeen(), size);
    }
    return 0;
}
