#pragma once
// Pod annotations -> limits. Per direction, the first valid value wins in this order:
// container key (`iops-limit/<key>.<container>`) > pod key (`iops-limit/<key>`) > node default;
// within a level the specific key beats the general one (read-iops > iops > limit).
#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"

namespace iopslimit::core {

inline constexpr std::string_view kAnnotationPrefix = "iops-limit/";
inline constexpr size_t kMaxAnnotationValue = 64;
// iops-limit/adaptive: "on" | "off" (Pod or Namespace): whether adaptive limits may apply, see
// core/adaptive.h; it sets no limit itself.
inline constexpr std::string_view kAdaptiveKey = "adaptive";

enum class Origin { Default, PodAnnotation, ContainerAnnotation, Override, NamespaceDefault };
std::string_view originName(Origin o);

enum Direction { ReadIops = 0, WriteIops = 1, ReadBps = 2, WriteBps = 3 };
std::string_view directionName(Direction d);  // "read-iops", …

struct AnnotationProblem {
    std::string key;    // full annotation key
    std::string value;  // as given (cut to 64 chars)
    std::string error;
};

struct LimitDecision {
    Limits limits;
    std::array<Origin, 4> origins{Origin::Default, Origin::Default, Origin::Default, Origin::Default};
    std::array<std::string, 4> keys;  // the annotation key that decided each direction, if any
    std::vector<AnnotationProblem> problems;

    bool fromAnnotation() const;
};

uint64_t& limitRef(Limits& l, Direction d);
uint64_t limitOf(const Limits& l, Direction d);

LimitDecision decideLimits(const std::map<std::string, std::string>& annotations, std::string_view container,
                           const Limits& defaults);

// Annotation keys under our prefix that name no known key (typos), as problems.
std::vector<AnnotationProblem> unknownAnnotationKeys(const std::map<std::string, std::string>& annotations);

}  // namespace iopslimit::core
