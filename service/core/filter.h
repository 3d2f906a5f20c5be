#pragma once
// Exclusions: a container excluded here gets no limit from us (and loses one we set before).
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "core/label_selector.h"
#include "core/pod.h"

namespace iopslimit::core {

struct FilterSpec {
    std::vector<std::string> keywords;    // substring of pod name, container name or image
    std::vector<std::string> namespaces;  // exact
    std::vector<std::string> regexps;     // ECMAScript, searched in "namespace/pod/container"
    std::string labelSelector;            // Kubernetes selector on pod labels; empty = none
};

class Filter {
public:
    // Errors name the environment variable at fault.
    static Result<Filter> create(const FilterSpec& spec);

    // Why the container is excluded, or nullopt.
    std::optional<std::string> excludedReason(const Pod& pod, const Container& c) const;

private:
    FilterSpec spec_;
    std::vector<std::regex> regexps_;
    std::optional<LabelSelector> selector_;
};

}  // namespace iopslimit::core
