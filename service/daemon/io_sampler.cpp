#include "daemon/io_sampler.h"

#include <cerrno>
#include <set>

#include "core/kernel_files.h"

namespace iopslimit::daemon {

using host::isDirectory;

std::string applyErrorCause(int code, bool systemdBackend) {
    switch (code) {
        case EACCES:
        case EPERM:
        case EROFS: return "permission";
        case ENOTSUP: return "controller";
        case EINVAL:
        case ERANGE: return "invalid";
        case ENODEV:
        case ENXIO: return "device";
        case EIO: return systemdBackend ? "systemd" : "io";
        default: return "other";
    }
}

std::vector<ContainerIo> sampleContainers(const std::vector<core::ContainerStatus>& containers,
                                          const host::CgroupSetup& setup,
                                          const std::vector<host::BlockDevice>& devices) {
    std::set<core::DevNum> throttled;
    for (const auto& d : devices) throttled.insert(d.dev);
    const bool v2 = setup.version == core::CgroupVersion::V2;
    std::vector<ContainerIo> out;
    out.reserve(containers.size());
    for (const auto& c : containers) {
        const std::string& rel = c.cgroup.empty() ? c.entry.cgroup : c.cgroup;
        if (rel.empty() || c.entry.containerId.id.empty()) continue;
        const std::string dir = setup.hierarchy + "/" + rel;
        ContainerIo io;
        io.ns = c.entry.ns;
        io.pod = c.entry.pod;
        io.container = c.entry.container;
        io.id = c.entry.containerId.id;
        io.source = c.entry.source;
        io.limits = c.entry.limits;
        core::Result<std::map<core::DevNum, core::IoCounters>> counters = std::map<core::DevNum, core::IoCounters>{};
        if (v2) {
            // PSI is there with or without the io controller; io.stat only with it.
            auto pressure = host::readFile(dir + "/" + core::files::kIoPressure);
            if (!pressure && pressure.error().code == ENOENT && c.cgroup.empty() && !isDirectory(dir)) continue;
            if (pressure)
                if (auto pr = core::parsePressure(*pressure); pr) io.pressure = *pr;
            auto text = host::readFile(dir + "/" + core::files::kIoStat);
            if (!text) {
                if (text.error().code == ENOENT && c.cgroup.empty() && !isDirectory(dir)) continue;  // not started yet
                io.error = text.error().message;
                out.push_back(std::move(io));
                continue;
            }
            counters = core::parseIoStat(*text);
        } else {
            auto serviced = host::readFile(dir + "/" + core::files::kBlkioServiced);
            if (!serviced) {
                if (serviced.error().code == ENOENT && c.cgroup.empty()) continue;
                io.error = serviced.error().message;
                out.push_back(std::move(io));
                continue;
            }
            auto bytes = host::readFile(dir + "/" + core::files::kBlkioServiceBytes);
            counters = core::parseBlkioThrottle(*serviced, bytes ? *bytes : std::string());
        }
        if (!counters) {
            io.error = dir + ": " + counters.error().message;
        } else {
            for (const auto& [dev, cnt] : *counters)
                if (throttled.count(dev)) {
                    io.devices[dev] = cnt;
                    io.total += cnt;
                }
            // A device with no IO yet has no line: report it at zero.
            for (const auto& dev : throttled) io.devices.try_emplace(dev);
        }
        out.push_back(std::move(io));
    }
    return out;
}

std::vector<RateTracker::Row> RateTracker::update(std::vector<ContainerIo> sample, Clock::time_point now) {
    std::vector<Row> rows;
    rows.reserve(sample.size());
    double seconds = last_ ? std::chrono::duration<double>(now - *last_).count() : 0;
    std::map<std::string, core::IoCounters> next;
    for (auto& io : sample) {
        Row r;
        if (io.error.empty()) {
            auto it = prev_.find(io.id);
            if (it != prev_.end() && seconds > 0) r.rates = core::ratesBetween(it->second, io.total, seconds);
            next[io.id] = io.total;
        }
        r.io = std::move(io);
        rows.push_back(std::move(r));
    }
    prev_ = std::move(next);  // vanished containers drop out
    window_ = last_ ? std::chrono::duration_cast<std::chrono::microseconds>(now - *last_) : std::chrono::microseconds(0);
    last_ = now;
    return rows;
}

}  // namespace iopslimit::daemon
