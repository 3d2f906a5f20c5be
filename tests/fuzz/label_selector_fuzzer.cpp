// LabelSelector: the first line is the selector, each further line a label "key=value".
// A selector that parses prints (str()) as one that parses to the same text and matches the
// same labels; matches() on any labels must not crash.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/label_selector.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string_view selector = text.substr(0, text.find('\n'));
    std::map<std::string, std::string> labels;
    if (selector.size() < text.size()) {
        iopslimit::fuzz::forEachLine(text.substr(selector.size() + 1), [&](std::string_view line) {
            auto eq = line.find('=');
            labels.insert_or_assign(std::string(line.substr(0, eq)),
                                    eq == std::string_view::npos ? std::string() : std::string(line.substr(eq + 1)));
        });
    }

    Result<LabelSelector> sel = LabelSelector::parse(selector);
    if (!sel) {
        FUZZ_CHECK(!sel.error().message.empty(), "error without a message");
        return 0;
    }
    bool matched = sel->matches(labels);
    std::string printed = sel->str();
    Result<LabelSelector> again = LabelSelector::parse(printed);
    FUZZ_CHECK(again, "\"%s\" prints as \"%s\", which does not parse: %s", escaped(selector).c_str(),
               escaped(printed).c_str(), again.error().message.c_str());
    FUZZ_CHECK(again->str() == printed, "\"%s\" prints as \"%s\", re-parsed prints as \"%s\"",
               escaped(selector).c_str(), escaped(printed).c_str(), escaped(again->str()).c_str());
    FUZZ_CHECK(again->requirements().size() == sel->requirements().size(), "requirement count changed");
    FUZZ_CHECK(again->matches(labels) == matched, "\"%s\" and its printed form \"%s\" match differently",
               escaped(selector).c_str(), escaped(printed).c_str());
    // Each label set built from the selector's own requirements must not crash either.
    for (const auto& r : sel->requirements()) {
        std::map<std::string, std::string> own{{r.key, r.values.empty() ? std::string() : r.values.front()}};
        (void)sel->matches(own);
    }
    return 0;
}
