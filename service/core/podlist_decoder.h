#pragma once
// Streaming PodList decoder: fed the HTTP body chunk by chunk as it arrives, it keeps only the
// item being read (a few KiB) and the decoded pods, never the whole response. A light scanner
// tracks strings and brackets to cut the top-level "items" array into items; each item is then
// decoded by simdjson. Memory stays flat whatever the PodList's size.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/pod.h"

namespace iopslimit::core {

class PodListDecoder {
public:
    explicit PodListDecoder(size_t maxItemBytes = 4u << 20) : maxItemBytes_(maxItemBytes) {}
    // Returns false once the input is known to be invalid; error() then says why.
    bool feed(std::string_view chunk);
    Result<PodList> finish();
    const std::string& error() const { return error_; }
    size_t bytesSeen() const { return offset_; }

private:
    enum class Expect { FirstKey, Key, Colon, Value, CommaOrEnd };
    bool fail(std::string why);
    bool completeItem();
    bool completeCapture();
    bool endScalar();

    size_t maxItemBytes_;
    std::vector<char> stack_;  // open brackets
    bool started_ = false, done_ = false, inString_ = false, escape_ = false;
    Expect expect_ = Expect::Value;   // at depth 1: where we are in "key": value
    std::string key_;                 // depth-1 key being read / last read
    bool readingKey_ = false;
    enum class Capture { None, Item, Metadata, Kind } capture_ = Capture::None;
    bool inItems_ = false;            // inside the top-level "items" array
    bool skippingItem_ = false;       // a non-object item
    bool itemsNeedComma_ = false;     // an item just ended: ',' or ']' must follow
    bool itemsAfterComma_ = false;    // ',' seen: an item must follow
    std::string scalar_;              // a number or literal at depth 1 or 2 being read
    bool inScalar_ = false;
    std::string buf_;                 // the value being captured
    size_t itemIndex_ = 0;
    size_t offset_ = 0;
    std::string kind_;
    std::string error_;
    PodList out_;
};

}  // namespace iopslimit::core
