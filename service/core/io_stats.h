#pragma once
// Per-cgroup IO counters and pressure, as the kernel reports them: cgroup v2 io.stat and
// io.pressure, cgroup v1 blkio.throttle.io_serviced / io_service_bytes. Pure parsing and
// arithmetic; the files are read by the daemon.
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>

#include "core/limits.h"
#include "core/result.h"

namespace iopslimit::core {

struct IoCounters {
    uint64_t readIos = 0, writeIos = 0, readBytes = 0, writeBytes = 0;
    IoCounters& operator+=(const IoCounters& o) {
        readIos += o.readIos;
        writeIos += o.writeIos;
        readBytes += o.readBytes;
        writeBytes += o.writeBytes;
        return *this;
    }
    bool operator==(const IoCounters&) const = default;
};

// By device. Unknown keys (dbytes, cost.*) are ignored; a malformed line is an error.
Result<std::map<DevNum, IoCounters>> parseIoStat(std::string_view text);
// v1: "MAJ:MIN Read N" lines of blkio.throttle.io_serviced and io_service_bytes ("Total N" and
// the Sync/Async/Discard/Total lines are ignored).
Result<std::map<DevNum, IoCounters>> parseBlkioThrottle(std::string_view serviced, std::string_view serviceBytes);

struct Pressure {
    double someAvg10 = 0, someAvg60 = 0, someAvg300 = 0;
    uint64_t someTotalUsec = 0;
    double fullAvg10 = 0;
    uint64_t fullTotalUsec = 0;
};
// io.pressure (PSI): "some avg10=… avg60=… avg300=… total=…" and the "full" line.
Result<Pressure> parsePressure(std::string_view text);

// The share of `seconds` spent stalled, in percent (0-100), from two readings of a PSI `total=`
// counter (microseconds of stall time, Documentation/accounting/psi.rst): what PSI's own triggers
// ("some 150000 1000000") compare against. nullopt when the counter went backwards (the cgroup was
// re-created) or seconds <= 0.
std::optional<double> stallShare(uint64_t beforeUsec, uint64_t afterUsec, double seconds);

struct IoRates {
    double readIops = 0, writeIops = 0, readBps = 0, writeBps = 0;
};
// Rates between two samples `seconds` apart; a counter that went backwards (the cgroup was
// re-created) counts from zero. seconds <= 0 gives zero rates.
IoRates ratesBetween(const IoCounters& before, const IoCounters& after, double seconds);

}  // namespace iopslimit::core
