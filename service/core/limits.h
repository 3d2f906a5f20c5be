#pragma once
#include <cstdint>
#include <string>

namespace iopslimit::core {

// Per-device throttle for one cgroup. 0 means unlimited ("max").
struct Limits {
    uint64_t readIops = 0;
    uint64_t writeIops = 0;
    uint64_t readBps = 0;
    uint64_t writeBps = 0;

    bool unlimited() const { return readIops == 0 && writeIops == 0 && readBps == 0 && writeBps == 0; }
    bool operator==(const Limits&) const = default;
};

// "max" for 0, the number otherwise.
std::string limitValueString(uint64_t v);

struct DevNum {
    unsigned major = 0;
    unsigned minor = 0;
    bool operator==(const DevNum&) const = default;
    bool operator<(const DevNum& o) const { return major != o.major ? major < o.major : minor < o.minor; }
    std::string str() const { return std::to_string(major) + ":" + std::to_string(minor); }
};

}  // namespace iopslimit::core
