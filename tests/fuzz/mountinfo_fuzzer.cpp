// /proc/self/mountinfo parsing and the lookup of a data mount (DATA_MOUNT) in it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/mountinfo.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    Result<std::vector<MountEntry>> r = parseMountInfo(text);
    if (!r) {
        FUZZ_CHECK(!r.error().message.empty(), "error without a message");
        // findMount on nothing, with a fuzzed path.
        FUZZ_CHECK(!findMount({}, text), "found a mount in an empty table");
        return 0;
    }
    const std::vector<MountEntry>& mounts = *r;
    for (const MountEntry& m : mounts) {
        // The kernel prints mount points without a trailing '/' (except "/"): only those are
        // looked up exactly; with one more '/', the same entry must be found (DATA_MOUNT=/data/).
        std::string_view mp = m.mountPoint;
        if (mp.size() > 1 && mp.back() == '/') continue;
        auto found = findMount(mounts, mp);
        FUZZ_CHECK(found && found->mountPoint == m.mountPoint, "mount point \"%s\" not found",
                   escaped(m.mountPoint).c_str());
        // Over-mounts: the last entry at that point wins.
        const MountEntry* last = nullptr;
        for (const MountEntry& o : mounts)
            if (o.mountPoint == m.mountPoint) last = &o;
        FUZZ_CHECK(found->dev == last->dev && found->root == last->root && found->source == last->source &&
                       found->fsType == last->fsType,
                   "\"%s\": not the last entry", escaped(m.mountPoint).c_str());
        if (!mp.empty()) {
            auto slash = findMount(mounts, std::string(mp) + "/");
            FUZZ_CHECK(slash && slash->mountPoint == m.mountPoint, "\"%s/\" not found", escaped(mp).c_str());
        }
    }
    // Paths taken from the input itself: a hit is the entry at exactly that path, trailing '/' aside.
    iopslimit::fuzz::forEachLine(text, [&](std::string_view line) {
        std::string_view want = line;
        while (want.size() > 1 && want.back() == '/') want.remove_suffix(1);
        auto found = findMount(mounts, line);
        if (found) FUZZ_CHECK(found->mountPoint == want, "\"%s\" found \"%s\"", escaped(line).c_str(),
                              escaped(found->mountPoint).c_str());
    });
    return 0;
}
