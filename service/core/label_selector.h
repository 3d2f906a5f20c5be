#pragma once
// Kubernetes label selector (the string form of labels.Parse): `k=v`, `k==v`, `k!=v`,
// `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>N`, `k<N`; comma means AND.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace iopslimit::core {

class LabelSelector {
public:
    enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan };
    struct Requirement {
        std::string key;
        Op op;
        std::vector<std::string> values;
    };

    // An empty string gives a selector with no requirements, which matches nothing when used
    // for exclusion (see empty()); callers decide.
    static Result<LabelSelector> parse(std::string_view text);

    bool empty() const { return reqs_.empty(); }
    bool matches(const std::map<std::string, std::string>& labels) const;
    const std::vector<Requirement>& requirements() const { return reqs_; }
    std::string str() const;

private:
    std::vector<Requirement> reqs_;
};

}  // namespace iopslimit::core
