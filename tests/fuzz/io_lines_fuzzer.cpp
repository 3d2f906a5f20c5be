// The kernel's throttle files: cgroup v2 io.max and v1 blkio.throttle.*_device. Whatever parses
// must render back (renderIoMaxLine / renderBlkioLine) to text that parses to the same values,
// because the reconciler compares what it reads with what it would write.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/io_lines.h"
#include "core/limits.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto io = parseIoMax(text)) {
        std::string rendered;
        for (const auto& [dev, l] : *io) rendered += renderIoMaxLine(dev, l);
        auto back = parseIoMax(rendered);
        FUZZ_CHECK(back && *back == *io, "io.max \"%s\" renders as \"%s\", which reads back differently",
                   escaped(text).c_str(), escaped(rendered).c_str());
    }

    if (auto blkio = parseBlkioThrottle(text)) {
        std::string rendered;
        for (const auto& [dev, v] : *blkio) {
            FUZZ_CHECK(v != 0, "blkio entry with 0 kept (0 removes a limit)");
            rendered += renderBlkioLine(dev, v);
        }
        auto back = parseBlkioThrottle(rendered);
        FUZZ_CHECK(back && *back == *blkio, "blkio \"%s\" renders as \"%s\", which reads back differently",
                   escaped(text).c_str(), escaped(rendered).c_str());
    }

    std::string_view first = text.substr(0, text.find_first_of(" \n"));
    if (auto dev = parseDevNum(first)) {
        auto back = parseDevNum(dev->str());
        FUZZ_CHECK(back && *back == *dev, "device \"%s\" prints as \"%s\"", escaped(first).c_str(), dev->str().c_str());
    }

    // Rendering any values, the largest included, reads back the same.
    FuzzedDataProvider fdp(data, size);
    DevNum dev{fdp.ConsumeIntegral<unsigned>(), fdp.ConsumeIntegral<unsigned>()};
    Limits l{fdp.ConsumeIntegral<uint64_t>(), fdp.ConsumeIntegral<uint64_t>(), fdp.ConsumeIntegral<uint64_t>(),
             fdp.ConsumeIntegral<uint64_t>()};
    std::string line = renderIoMaxLine(dev, l);
    auto io = parseIoMax(line);
    FUZZ_CHECK(io && io->size() == 1 && io->begin()->first == dev && io->begin()->second == l,
               "rendered io.max line \"%s\" reads back differently", escaped(line).c_str());
    std::string bline = renderBlkioLine(dev, l.readIops);
    auto blkio = parseBlkioThrottle(bline);
    FUZZ_CHECK(blkio && blkio->size() == (l.readIops ? 1u : 0u) && (!l.readIops || blkio->at(dev) == l.readIops),
               "rendered blkio line \"%s\" reads back differently", escaped(bline).c_str());
    return 0;
}
