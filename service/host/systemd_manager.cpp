#include "host/systemd_manager.h"

#include <sdbus-c++/sdbus-c++.h>

#include <cerrno>
#include <cstdio>
#include <limits>
#include <set>

#include "systemd1_manager_proxy.h"

namespace iopslimit::host {

using core::Limits;
using core::makeError;

namespace {

constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr const char* kSystemdPath = "/org/freedesktop/systemd1";
constexpr uint64_t kUnset = std::numeric_limits<uint64_t>::max();

using DeviceValues = std::vector<sdbus::Struct<std::string, uint64_t>>;

struct Property {
    const char* name;
    uint64_t Limits::*field;
};
constexpr Property kProperties[] = {
    {"IOReadIOPSMax", &Limits::readIops},
    {"IOWriteIOPSMax", &Limits::writeIops},
    {"IOReadBandwidthMax", &Limits::readBps},
    {"IOWriteBandwidthMax", &Limits::writeBps},
};

std::string unitInterface(const std::string& unit) {
    auto dot = unit.rfind('.');
    std::string type = dot == std::string::npos ? "" : unit.substr(dot + 1);
    if (type == "scope") return "org.freedesktop.systemd1.Scope";
    if (type == "service") return "org.freedesktop.systemd1.Service";
    if (type == "slice") return "org.freedesktop.systemd1.Slice";
    return "org.freedesktop.systemd1.Scope";
}

// ENOENT: no such unit. EAGAIN: systemd did not answer for now; it is reexecuting or restarting
// (daemon-reexec, a package upgrade: the call in flight gets NoReply, the next ones find no owner
// of org.freedesktop.systemd1 until it is back) or the bus is congested. EIO: anything else.
core::Error fromBus(const sdbus::Error& e, const std::string& what) {
    const std::string& n = e.getName();
    static const std::set<std::string> kGone = {"org.freedesktop.systemd1.NoSuchUnit",
                                                "org.freedesktop.DBus.Error.UnknownObject",
                                                "org.freedesktop.DBus.Error.UnknownInterface"};
    static const std::set<std::string> kBusy = {"org.freedesktop.DBus.Error.NoReply",
                                                "org.freedesktop.DBus.Error.Timeout",
                                                "org.freedesktop.DBus.Error.TimedOut",
                                                "org.freedesktop.DBus.Error.ServiceUnknown",
                                                "org.freedesktop.DBus.Error.NameHasNoOwner",
                                                "org.freedesktop.DBus.Error.Disconnected",
                                                "org.freedesktop.DBus.Error.LimitsExceeded"};
    int code = kGone.count(n) ? ENOENT : kBusy.count(n) ? EAGAIN : EIO;
    return makeError(what + ": " + n + ": " + e.getMessage(), code);
}

class ManagerProxy : public sdbus::ProxyInterfaces<org::freedesktop::systemd1::Manager_proxy> {
public:
    ManagerProxy(sdbus::IConnection& bus) : ProxyInterfaces(bus, kSystemd, kSystemdPath) { registerProxy(); }
    ~ManagerProxy() { unregisterProxy(); }
    // The generated SetUnitProperties with a bound on the wait (the bus default is 25 s).
    void setUnitProperties(const std::string& name, bool runtime,
                           const std::vector<sdbus::Struct<std::string, sdbus::Variant>>& properties) {
        getProxy()
            .callMethod("SetUnitProperties")
            .onInterface(INTERFACE_NAME)
            .withTimeout(kSystemdCallTimeout)
            .withArguments(name, runtime, properties);
    }
    std::function<void(const std::string&)> onNew;

private:
    // UnitNew can come before the scope's cgroup exists; a finished job comes after it.
    void onUnitNew(const std::string& id, const sdbus::ObjectPath&) override {
        if (onNew) onNew(id);
    }
    void onJobRemoved(const uint32_t&, const sdbus::ObjectPath&, const std::string& unit,
                      const std::string& result) override {
        if (onNew && result == "done") onNew(unit);
    }
    void onUnitRemoved(const std::string&, const sdbus::ObjectPath&) override {}
    void onReloading(const bool&) override {}
};

}  // namespace

std::string unitObjectPath(const std::string& unit) {
    std::string out = "/org/freedesktop/systemd1/unit/";
    for (size_t i = 0; i < unit.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(unit[i]);
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
        if (plain) {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "_%02x", c);
            out += buf;
        }
    }
    return out;
}

struct SdbusSystemdManager::Impl {
    explicit Impl(sdbus::IConnection& bus) : manager(bus) {}
    ManagerProxy manager;
};

SdbusSystemdManager::SdbusSystemdManager(sdbus::IConnection& bus) : bus_(bus), impl_(std::make_unique<Impl>(bus)) {}
SdbusSystemdManager::~SdbusSystemdManager() = default;

std::optional<core::Error> SdbusSystemdManager::stillQuiet(const std::string& what) const {
    if (std::chrono::steady_clock::now() >= quietUntil_) return std::nullopt;
    return makeError(what + ": systemd did not answer a moment ago; not asked again yet", EAGAIN);
}

core::Error SdbusSystemdManager::noted(core::Error err) {
    if (err.code == EAGAIN) quietUntil_ = std::chrono::steady_clock::now() + kSystemdQuiet;
    return err;
}

bool SdbusSystemdManager::available() {
    try {
        auto proxy = sdbus::createProxy(bus_, kSystemd, kSystemdPath);
        sdbus::Variant v;
        proxy->callMethod("Get")
            .onInterface("org.freedesktop.DBus.Properties")
            .withTimeout(kSystemdCallTimeout)
            .withArguments(std::string("org.freedesktop.systemd1.Manager"), std::string("Version"))
            .storeResultsTo(v);
        return true;
    } catch (const sdbus::Error&) {
        return false;
    }
}

core::Result<Limits> SdbusSystemdManager::unitLimits(const std::string& unit, const std::string& devicePath) {
    const std::string what = "Failed to read limits of " + unit;
    if (auto quiet = stillQuiet(what)) return *quiet;
    try {
        auto proxy = sdbus::createProxy(bus_, kSystemd, unitObjectPath(unit));
        std::map<std::string, sdbus::Variant> props;
        proxy->callMethod("GetAll")
            .onInterface("org.freedesktop.DBus.Properties")
            .withTimeout(kSystemdCallTimeout)
            .withArguments(unitInterface(unit))
            .storeResultsTo(props);
        if (props.empty()) return makeError("unit " + unit + " not loaded", ENOENT);
        Limits out;
        for (const auto& p : kProperties) {
            auto it = props.find(p.name);
            if (it == props.end()) continue;
            for (const auto& entry : it->second.get<DeviceValues>()) {
                if (entry.get<0>() != devicePath) continue;
                uint64_t v = entry.get<1>();
                out.*p.field = v == kUnset ? 0 : v;
            }
        }
        return out;
    } catch (const sdbus::Error& e) {
        return noted(fromBus(e, what));
    }
}

core::Status SdbusSystemdManager::watchUnits(std::function<void(const std::string&)> onNew) {
    impl_->manager.onNew = std::move(onNew);
    try {
        impl_->manager.Subscribe();  // systemd sends UnitNew only to subscribed clients
        return core::okStatus();
    } catch (const sdbus::Error& e) {
        // Subscriptions are per connection: after a reload the new proxy finds it in place.
        if (e.getName() == "org.freedesktop.systemd1.AlreadySubscribed") return core::okStatus();
        impl_->manager.onNew = nullptr;
        return fromBus(e, "Failed to subscribe to systemd's unit signals");
    }
}

core::Status SdbusSystemdManager::setUnitLimits(const std::string& unit, const std::string& devicePath,
                                                const Limits& limits) {
    std::vector<sdbus::Struct<std::string, sdbus::Variant>> props;
    for (const auto& p : kProperties) {
        uint64_t v = limits.*p.field;
        props.emplace_back(std::string(p.name), sdbus::Variant(DeviceValues{{devicePath, v == 0 ? kUnset : v}}));
    }
    const std::string what = "Failed to set limits of " + unit;
    if (auto quiet = stillQuiet(what)) return *quiet;
    try {
        impl_->manager.setUnitProperties(unit, true, props);
        return core::okStatus();
    } catch (const sdbus::Error& e) {
        return noted(fromBus(e, what));
    }
}

}  // namespace iopslimit::host
