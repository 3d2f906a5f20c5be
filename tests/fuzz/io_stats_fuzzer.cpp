// Per-container IO files (io.stat, blkio.throttle.io_serviced/io_service_bytes, io.pressure) and
// the Prometheus label escaping their numbers go out with. Whatever parses must be consistent:
// io.stat rendered back from the parsed counters reads the same; pressure averages are finite and
// non-negative; an escaped label value has no raw newline or lone quote and unescapes to itself.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/io_stats.h"
#include "core/prometheus.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto stat = parseIoStat(text)) {
        std::string rendered;
        for (const auto& [dev, c] : *stat)
            rendered += dev.str() + " rbytes=" + std::to_string(c.readBytes) + " wbytes=" + std::to_string(c.writeBytes) +
                        " rios=" + std::to_string(c.readIos) + " wios=" + std::to_string(c.writeIos) + "\n";
        auto back = parseIoStat(rendered);
        FUZZ_CHECK(back && *back == *stat, "io.stat \"%s\" renders as \"%s\", which reads back differently",
                   escaped(text).c_str(), escaped(rendered).c_str());
    }

    // The two v1 files: split at the first NUL.
    size_t nul = text.find('\0');
    std::string_view serviced = text.substr(0, nul);
    std::string_view bytes = nul == std::string_view::npos ? std::string_view() : text.substr(nul + 1);
    (void)parseBlkioThrottle(serviced, bytes);

    if (auto p = parsePressure(text)) {
        for (double v : {p->someAvg10, p->someAvg60, p->someAvg300, p->fullAvg10})
            FUZZ_CHECK(std::isfinite(v) && v >= 0, "io.pressure \"%s\" gives average %g", escaped(text).c_str(), v);
    }

    std::string esc = escapeLabelValue(text);
    std::string un;
    for (size_t i = 0; i < esc.size(); ++i) {
        FUZZ_CHECK(esc[i] != '\n', "escaped label value has a raw newline: \"%s\"", escaped(esc).c_str());
        FUZZ_CHECK(esc[i] != '"', "escaped label value has a bare quote: \"%s\"", escaped(esc).c_str());
        if (esc[i] == '\\') {
            FUZZ_CHECK(i + 1 < esc.size(), "escaped label value ends in a backslash");
            char n = esc[++i];
            FUZZ_CHECK(n == '\\' || n == '"' || n == 'n', "unknown escape \\%c", n);
            un += n == 'n' ? '\n' : n;
        } else {
            un += esc[i];
        }
    }
    FUZZ_CHECK(un == text, "label value \"%s\" does not unescape to itself", escaped(text).c_str());
    return 0;
}
