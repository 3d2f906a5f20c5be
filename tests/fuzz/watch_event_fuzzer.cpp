// One line of an API-server watch stream: decodeWatchEvent must return an event or an error,
// and an event must keep the promises the watch loop relies on.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/pod.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    Result<WatchEvent> r = decodeWatchEvent(line);
    if (!r) {
        FUZZ_CHECK(!r.error().message.empty(), "error without a message");
        return 0;
    }
    const WatchEvent& ev = *r;
    FUZZ_CHECK(ev.resourceVersion == ev.pod.resourceVersion, "resourceVersion \"%s\" vs pod's \"%s\"",
               escaped(ev.resourceVersion).c_str(), escaped(ev.pod.resourceVersion).c_str());
    switch (ev.type) {
        case WatchEvent::Type::Added:
        case WatchEvent::Type::Modified:
        case WatchEvent::Type::Deleted:
            FUZZ_CHECK(!ev.pod.uid.empty() && !ev.pod.name.empty() && !ev.pod.ns.empty(),
                       "pod event with pod \"%s/%s\" uid \"%s\"", escaped(ev.pod.ns).c_str(),
                       escaped(ev.pod.name).c_str(), escaped(ev.pod.uid).c_str());
            for (const Container& c : ev.pod.containers) FUZZ_CHECK(!c.name.empty(), "container without a name");
            break;
        case WatchEvent::Type::Bookmark:
        case WatchEvent::Type::Error:
            break;
    }
    // A decoded line decodes the same way again (the thread-local parser keeps no state).
    Result<WatchEvent> again = decodeWatchEvent(line);
    FUZZ_CHECK(again && again->type == ev.type && again->code == ev.code && again->message == ev.message &&
                   again->pod.uid == ev.pod.uid && again->pod.containers.size() == ev.pod.containers.size(),
               "second decode differs");
    return 0;
}
