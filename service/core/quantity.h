#pragma once
// Annotation and environment values: IOPS (non-negative integers) and byte rates (Kubernetes
// quantities, read as Kubernetes reads them).
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

// A byte rate (bytes per second) from a Kubernetes quantity; 0 means unlimited.
//
// Grammar (k8s.io/apimachinery pkg/api/resource/quantity.go, the comment on Quantity and
// ParseQuantity, v0.36.3 = 40bf4b2b): [+|-] number [suffix], where number is digits, digits.digits,
// digits. or .digits, and suffix is one of
//   binary   Ki Mi Gi Ti Pi Ei                 (2^10 ... 2^60)
//   decimal  n u m "" k M G T P E              (10^-9 ... 10^18; m is milli, M is mega)
//   exponent e or E and a signed integer       (1e9, 1E-3, 1.3E+6, 1e0003)
// Nothing else: no spaces, no other letters (K, ki, KiB, kB), no second sign or dot.
//
// The value is the exact number the text denotes, rounded up to a whole byte as
// resource.Quantity.Value() rounds (its ceiling: "1.5" -> 2, "0.05Gi" -> 53687092,
// "100.035Ki" -> 102436); "1.5" is accepted as 2 bytes/s, as Kubernetes reads it. Then:
//   exactly zero, in any spelling ("0", "0Mi", "0.0", "0e3", "-0", "0m")
//                 -> 0, unlimited: the same quantity as "0" to Kubernetes, so it means the same
//                    here; "max" (our word, not a quantity) is unlimited too
//   below zero    -> error: "-5" is negative: a byte rate must be 0 (unlimited) or positive
//   above zero, below one byte ("0.5", "100m", "999m", "5n", "1e-3")
//                 -> error: "100m" is less than one byte per second (0.1; ...): Kubernetes' Value()
//                    would make it 1, which nobody meant; m is milli, not mega (M)
//   above kMaxLimitValue after rounding ("9Pi", "1E", "1e19")
//                 -> error: "9Pi" is too large: ...
//   anything Kubernetes' ParseQuantity rejects ("1 ", "10K", "1KiB", "0x10", "1e", "1.5.5")
//                 -> error: "10K" is not a Kubernetes quantity: ...
// Where Kubernetes' parser is laxer than its grammar or its arithmetic breaks, the grammar and
// exact arithmetic win, and the value is refused with its reason, never read as something else:
//   - a number without digits (".", "+", "-", "M", "Mi", "e5", ".e3") parses as 0 in Kubernetes;
//     here it is "not a Kubernetes quantity: the number has no digits" (0 would mean unlimited)
//   - exponents that do not fit in 32 bits wrap around there ("1e4294967296" is 1, "1e2147483648"
//     does not finish); here they are what they say: too large, or less than one byte
//   - Value() overflows above 2^63 ("12E" gives 0); here that is too large
//   - exponents beyond 64 bits are refused there and here ("not a Kubernetes quantity")
// At most 64 characters (annotation values are capped there too); longer: "... is too long".
// Every error message starts with the quoted text and names the fault: it is shown in the
// journal and by `iops-limitctl explain`.
Result<uint64_t> parseByteQuantity(std::string_view text);

// Human form used in tables and logs: 104857600 -> "100Mi", 1000000 -> "1M", 0 -> "max".
std::string formatBytes(uint64_t v);

}  // namespace iopslimit::core
