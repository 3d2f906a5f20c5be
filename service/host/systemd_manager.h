#pragma once
// systemd's Manager over D-Bus, as far as limits go: read a unit's IO*Max properties and set them
// with SetUnitProperties(runtime=true). The port is small so tests can fake it.
#include <cerrno>
#include <chrono>
#include <optional>
#include <functional>
#include <memory>
#include <string>

#include "core/limits.h"
#include "core/result.h"

namespace sdbus {
class IConnection;
}

namespace iopslimit::host {

class SystemdManager {
public:
    virtual ~SystemdManager() = default;
    // The unit's limits for devicePath ("/dev/nvme0n1"); unset or UINT64_MAX entries are unlimited.
    // ENOENT: no such unit.
    virtual core::Result<core::Limits> unitLimits(const std::string& unit, const std::string& devicePath) = 0;
    // All four properties in one call; unlimited is UINT64_MAX written explicitly, because dropping
    // an entry leaves the old value in io.max (systemd issue 27302).
    virtual core::Status setUnitLimits(const std::string& unit, const std::string& devicePath,
                                       const core::Limits& limits) = 0;
    // True when org.freedesktop.systemd1 answers on the bus.
    virtual bool available() = 0;
    // Subscribes to systemd's UnitNew and JobRemoved (result "done") signals: onNew(unit name)
    // runs on the bus's dispatch thread (the daemon's loop), maybe twice for one unit, maybe before
    // its cgroup exists. A second path to new container scopes beside inotify.
    virtual core::Status watchUnits(std::function<void(const std::string&)> onNew) {
        (void)onNew;
        return core::makeError("not supported", ENOTSUP);
    }
};

// Errors: ENOENT no such unit; EAGAIN systemd cannot answer now (reexecuting, restarting, not on
// the bus, or no answer within kSystemdCallTimeout), the caller retries later; EIO anything else.
// A call runs on the caller's thread (the daemon's loop), so a systemd that hangs costs at most
// one timeout: for kSystemdQuiet after an EAGAIN, calls fail at once with EAGAIN without asking.
inline constexpr std::chrono::milliseconds kSystemdCallTimeout{5000};
inline constexpr std::chrono::milliseconds kSystemdQuiet{1000};

class SdbusSystemdManager : public SystemdManager {
public:
    explicit SdbusSystemdManager(sdbus::IConnection& bus);
    ~SdbusSystemdManager() override;
    core::Result<core::Limits> unitLimits(const std::string& unit, const std::string& devicePath) override;
    core::Status setUnitLimits(const std::string& unit, const std::string& devicePath,
                               const core::Limits& limits) override;
    bool available() override;
    core::Status watchUnits(std::function<void(const std::string&)> onNew) override;

private:
    // EAGAIN at once while systemd was found not answering a moment ago.
    std::optional<core::Error> stillQuiet(const std::string& what) const;
    core::Error noted(core::Error err);  // starts the quiet time on EAGAIN
    sdbus::IConnection& bus_;
    std::chrono::steady_clock::time_point quietUntil_{};
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// systemd's D-Bus object path for a unit name (bus_label_escape).
std::string unitObjectPath(const std::string& unit);

}  // namespace iopslimit::host
