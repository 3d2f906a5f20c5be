// Cgroup names, for the event sources and the no-pod-source fallback: a path's components go
// through containerIdFromLeaf and podUidFromCgroupName, the whole through splitCgroupRoot; names
// built by containerLeaf / podCgroup / kubepodsCgroup must parse back to what built them.
// Seeded with the coroot-node-agent cgroup path vectors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/cgroup_path.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

namespace {

bool lowerHex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return !s.empty();
}

bool uidLike(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
    return !s.empty();
}

bool alnum(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return false;
    return !s.empty();
}

std::string lastComponent(const std::string& path) { return path.substr(path.rfind('/') + 1); }

void leafRoundTrip(const ContainerId& id) {
    for (CgroupDriver driver : {CgroupDriver::Systemd, CgroupDriver::Cgroupfs}) {
        std::string leaf = containerLeaf(driver, id);
        auto back = containerIdFromLeaf(leaf);
        // The leaf names the runtime except for cgroupfs containerd/docker and systemd "unknown":
        // there only a 64-hex ID is recognised, runtime unknown.
        bool named = driver == CgroupDriver::Systemd ? id.runtime != Runtime::Unknown : id.runtime == Runtime::Crio;
        if (named) {
            FUZZ_CHECK(back && back->id == id.id && back->runtime == id.runtime, "leaf \"%s\" of %s:%s",
                       escaped(leaf).c_str(), std::string(runtimeName(id.runtime)).c_str(), id.id.c_str());
        } else if (id.id.size() == 64) {
            FUZZ_CHECK(back && back->id == id.id && back->runtime == Runtime::Unknown, "leaf \"%s\"",
                       escaped(leaf).c_str());
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view path(reinterpret_cast<const char*>(data), size);
    path = path.substr(0, path.find_first_of("\t\n"));  // the vectors carry expectations after a tab

    size_t i = 0;
    while (i <= path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        std::string_view part = path.substr(i, j - i);
        i = j + 1;
        if (auto id = containerIdFromLeaf(part)) {
            FUZZ_CHECK(id->id.size() >= 12 && lowerHex(id->id), "ID \"%s\" from \"%s\"", escaped(id->id).c_str(),
                       escaped(part).c_str());
            FUZZ_CHECK(part.rfind("crio-conmon-", 0) != 0, "conmon scope \"%s\" taken for a container",
                       escaped(part).c_str());
            leafRoundTrip(*id);
        }
        if (auto uid = podUidFromCgroupName(part)) FUZZ_CHECK(!uid->empty(), "empty UID from \"%s\"", escaped(part).c_str());
        if (uidLike(part)) {
            for (QosClass qos : {QosClass::Guaranteed, QosClass::Burstable, QosClass::BestEffort}) {
                for (CgroupDriver driver : {CgroupDriver::Systemd, CgroupDriver::Cgroupfs}) {
                    CgroupLayout layout{driver, {}};
                    std::string pod = lastComponent(podCgroup(layout, part, qos));
                    auto uid = podUidFromCgroupName(pod);
                    FUZZ_CHECK(uid && *uid == part, "pod cgroup \"%s\" gives UID \"%s\", want \"%s\"",
                               escaped(pod).c_str(), uid ? escaped(*uid).c_str() : "(none)", escaped(part).c_str());
                }
            }
        }
    }

    std::vector<std::string> root = splitCgroupRoot(path);
    // An empty component is possible ("/x-.slice" gives ""): not a name systemd would create,
    // so only '/' inside a component is an error here.
    for (const auto& c : root) FUZZ_CHECK(c.find('/') == std::string::npos, "component \"%s\"", escaped(c).c_str());
    bool plain = !root.empty();
    for (const auto& c : root) plain = plain && alnum(c) && c != "kubepods";
    if (plain) {
        for (CgroupDriver driver : {CgroupDriver::Systemd, CgroupDriver::Cgroupfs}) {
            std::string kp = kubepodsCgroup(CgroupLayout{driver, root});
            FUZZ_CHECK(splitCgroupRoot(kp) == root, "kubepods cgroup \"%s\" does not give back the root",
                       escaped(kp).c_str());
        }
    }
    return 0;
}
