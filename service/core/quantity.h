#pragma once
// Annotation value parsing: IOPS (non-negative integers) and byte rates (Kubernetes quantities).
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace iopslimit::core {

// Largest value we accept for any limit: what the kernel and systemd handle without overflow
// in their own arithmetic (io.max parses u64; we keep below UINT64_MAX, which systemd uses as "unset").
inline constexpr uint64_t kMaxLimitValue = (uint64_t{1} << 53);

// "0"/"max" -> 0 (unlimited); "500" -> 500. Rejects signs, decimals, exponents, suffixes, spaces.
Result<uint64_t> parseIops(std::string_view text);

// Kubernetes quantity to bytes per second: "1048576", "100M", "100Mi", "1.5Gi", "1e9", "0", "max".
// Fractions round up to a whole byte, as resource.Quantity.Value() does. Negative values,
// milli ("100m" is 0.1 byte), unknown suffixes and overflow are errors.
Result<uint64_t> parseByteQuantity(std::string_view text);

// Human form used in tables and logs: 104857600 -> "100Mi", 1000000 -> "1M", 0 -> "max".
std::string formatBytes(uint64_t v);

}  // namespace iopslimit::core
