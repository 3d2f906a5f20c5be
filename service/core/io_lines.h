#pragma once
// The kernel's throttle file formats. v2 io.max: "MAJ:MIN rbps=… wbps=… riops=… wiops=…" with
// "max" for unlimited; a line names only devices with some limit. v1 blkio.throttle.*_device:
// "MAJ:MIN VALUE" lines, "MAJ:MIN 0" written to remove.
#include <map>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/result.h"

namespace iopslimit::core {

std::string renderIoMaxLine(DevNum dev, const Limits& l);
// All devices in an io.max file. Unknown keys are ignored; a malformed line is an error.
Result<std::map<DevNum, Limits>> parseIoMax(std::string_view content);

std::string renderBlkioLine(DevNum dev, uint64_t value);
Result<std::map<DevNum, uint64_t>> parseBlkioThrottle(std::string_view content);

Result<DevNum> parseDevNum(std::string_view s);

}  // namespace iopslimit::core
