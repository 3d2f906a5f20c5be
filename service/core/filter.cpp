#include "core/filter.h"

namespace iopslimit::core {

Result<Filter> Filter::create(const FilterSpec& spec) {
    Filter f;
    f.spec_ = spec;
    for (const auto& re : spec.regexps) {
        try {
            f.regexps_.emplace_back(re, std::regex::ECMAScript | std::regex::optimize);
        } catch (const std::regex_error& e) {
            return makeError("EXCLUDE_REGEXPS: invalid regular expression \"" + re + "\": " + e.what());
        }
    }
    if (!spec.labelSelector.empty()) {
        auto sel = LabelSelector::parse(spec.labelSelector);
        if (!sel) return makeError("EXCLUDE_LABEL_SELECTOR: " + sel.error().message);
        if (sel->empty()) return makeError("EXCLUDE_LABEL_SELECTOR: selector has no requirements");
        f.selector_ = std::move(sel).value();
    }
    return f;
}

std::optional<std::string> Filter::excludedReason(const Pod& pod, const Container& c) const {
    for (const auto& ns : spec_.namespaces)
        if (pod.ns == ns) return "namespace " + ns;
    for (const auto& kw : spec_.keywords) {
        if (kw.empty()) continue;
        if (pod.name.find(kw) != std::string::npos) return "keyword \"" + kw + "\" in pod name";
        if (c.name.find(kw) != std::string::npos) return "keyword \"" + kw + "\" in container name";
        if (c.image.find(kw) != std::string::npos) return "keyword \"" + kw + "\" in image";
    }
    if (!regexps_.empty()) {
        std::string subject = pod.ns + "/" + pod.name + "/" + c.name;
        for (size_t i = 0; i < regexps_.size(); ++i)
            if (std::regex_search(subject, regexps_[i])) return "regexp \"" + spec_.regexps[i] + "\"";
    }
    if (selector_ && selector_->matches(pod.labels)) return "label selector \"" + spec_.labelSelector + "\"";
    return std::nullopt;
}

}  // namespace iopslimit::core
