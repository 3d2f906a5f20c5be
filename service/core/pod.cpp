#include "core/pod.h"

#include "core/annotations.h"
#include "core/podlist_decoder.h"

#include <simdjson.h>

#include <cctype>
#include <cstring>
#include <iterator>

namespace iopslimit::core {

bool isDnsSubdomain(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
    return true;
}

std::string_view podSourceName(PodSourceKind s) {
    switch (s) {
        case PodSourceKind::None: return "none";
        case PodSourceKind::Kubelet: return "kubelet";
        case PodSourceKind::ApiServer: return "apiserver";
        case PodSourceKind::Cache: return "cache";
    }
    return "none";
}

std::string_view runtimeName(Runtime r) {
    switch (r) {
        case Runtime::Containerd: return "containerd";
        case Runtime::Crio: return "cri-o";
        case Runtime::Docker: return "docker";
        case Runtime::Unknown: break;
    }
    return "unknown";
}

std::string_view qosName(QosClass q) {
    switch (q) {
        case QosClass::Guaranteed: return "guaranteed";
        case QosClass::Burstable: return "burstable";
        case QosClass::BestEffort: return "besteffort";
    }
    return "besteffort";
}

std::string_view kindName(ContainerKind k) {
    switch (k) {
        case ContainerKind::Regular: return "regular";
        case ContainerKind::Init: return "init";
        case ContainerKind::Ephemeral: return "ephemeral";
    }
    return "regular";
}

Result<ContainerId> parseContainerId(std::string_view raw) {
    auto sep = raw.find("://");
    if (raw.empty()) return makeError("no container ID yet");
    if (sep == std::string_view::npos) return makeError("container ID without runtime scheme: " + std::string(raw.substr(0, 80)));
    std::string_view scheme = raw.substr(0, sep);
    ContainerId out;
    if (scheme == "containerd") out.runtime = Runtime::Containerd;
    else if (scheme == "cri-o") out.runtime = Runtime::Crio;
    else if (scheme == "docker") out.runtime = Runtime::Docker;
    else return makeError("unsupported container runtime \"" + std::string(scheme.substr(0, 40)) + "\"");
    std::string_view id = raw.substr(sep + 3);
    if (id.empty() || id.size() > 128) return makeError("malformed container ID");
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return makeError("container ID is not lower-case hex: " + std::string(id.substr(0, 80)));
    out.id = std::string(id);
    return out;
}

namespace {

namespace od = simdjson::ondemand;

// Decoding is error-code based: a type mismatch in a field we read is skipped, while a
// structural error anywhere stops the whole document (On-Demand cannot resume after one).
struct Fail {
    simdjson::error_code code;
};

void check(simdjson::error_code e) {
    if (e) throw Fail{e};
}

std::string readString(od::value v) {
    std::string_view s;
    od::json_type t;
    check(v.type().get(t));
    if (t != od::json_type::string) return {};  // left unconsumed; the iterator skips it
    check(v.get_string().get(s));
    return std::string(s);
}

// keepPrefix: only keys starting with it are kept (annotations: only ours matter, and others,
// like kubectl's last-applied-configuration, can be kilobytes each).
bool isType(od::value& v, od::json_type want) {
    od::json_type t;
    check(v.type().get(t));
    return t == want;
}

// Calls f(key, value) for each field of an object value; anything else is skipped.
template <typename F>
void forEachField(od::value v, F&& f) {
    if (!isType(v, od::json_type::object)) return;
    od::object obj;
    check(v.get_object().get(obj));
    for (auto field : obj) {
        od::field fl;
        check(std::move(field).get(fl));
        std::string_view key;
        check(fl.unescaped_key().get(key));
        f(key, fl.value());
    }
}

std::map<std::string, std::string> readStringMap(od::value v, std::string_view keepPrefix = {}) {
    std::map<std::string, std::string> out;
    forEachField(v, [&](std::string_view key, od::value val) {
        if (key.substr(0, keepPrefix.size()) != keepPrefix && !(keepPrefix.size() && key == Pod::kMirrorAnnotation)) return;
        std::string k(key);
        if (!isType(val, od::json_type::string)) return;
        std::string_view sv;
        check(val.get_string().get(sv));
        out.insert_or_assign(std::move(k), std::string(sv));
    });
    return out;
}

void readStatuses(od::value v, ContainerKind kind, std::vector<Container>& out) {
    if (!isType(v, od::json_type::array)) return;
    od::array arr;
    check(v.get_array().get(arr));
    for (auto element : arr) {
        od::value cs;
        check(std::move(element).get(cs));
        Container c;
        c.kind = kind;
        forEachField(cs, [&](std::string_view key, od::value val) {
            if (key == "name") c.name = readString(val);
            else if (key == "image") c.image = readString(val);
            else if (key == "containerID") c.containerId = readString(val);
            else if (key == "state")
                forEachField(val, [&](std::string_view k, od::value) {
                    // The kubelet sets exactly one of these; take the first present.
                    if (c.state != ContainerState::Unknown) return;
                    if (k == "running") c.state = ContainerState::Running;
                    else if (k == "terminated") c.state = ContainerState::Terminated;
                    else if (k == "waiting") c.state = ContainerState::Waiting;
                });
        });
        if (!c.name.empty()) out.push_back(std::move(c));
    }
}

void readMetadata(od::value v, Pod& p) {
    forEachField(v, [&](std::string_view key, od::value val) {
        if (key == "uid") p.uid = readString(val);
        else if (key == "resourceVersion") p.resourceVersion = readString(val);
        else if (key == "name") p.name = readString(val);
        else if (key == "namespace") p.ns = readString(val);
        else if (key == "labels") p.labels = readStringMap(val);
        else if (key == "annotations") p.annotations = readStringMap(val, kAnnotationPrefix);
    });
}

void readStatus(od::value v, Pod& p) {
    // Keep the documented order (init, regular, ephemeral) whatever order the fields come in.
    std::vector<Container> init, regular, ephemeral;
    forEachField(v, [&](std::string_view key, od::value val) {
        if (key == "phase") p.phase = readString(val);
        else if (key == "qosClass") {
            std::string q = readString(val);
            p.qosKnown = true;
            if (q == "Guaranteed") p.qos = QosClass::Guaranteed;
            else if (q == "Burstable") p.qos = QosClass::Burstable;
            else if (q == "BestEffort") p.qos = QosClass::BestEffort;
            else p.qosKnown = false;
        } else if (key == "initContainerStatuses") readStatuses(val, ContainerKind::Init, init);
        else if (key == "containerStatuses") readStatuses(val, ContainerKind::Regular, regular);
        else if (key == "ephemeralContainerStatuses") readStatuses(val, ContainerKind::Ephemeral, ephemeral);
    });
    p.containers = std::move(init);
    p.containers.insert(p.containers.end(), std::make_move_iterator(regular.begin()), std::make_move_iterator(regular.end()));
    p.containers.insert(p.containers.end(), std::make_move_iterator(ephemeral.begin()), std::make_move_iterator(ephemeral.end()));
}

void readSpec(od::value v, Pod& p) {
    forEachField(v, [&](std::string_view key, od::value val) {
        if (key == "nodeName") p.nodeName = readString(val);
    });
}

// One item of a PodList (or a watch event's object). Returns false, with why, for an item
// that is not a usable pod.
bool readPod(od::value v, Pod& p, std::string& why) {
    if (!isType(v, od::json_type::object)) {
        why = "not an object";
        return false;
    }
    bool hasMetadata = false;
    forEachField(v, [&](std::string_view key, od::value val) {
        if (key == "metadata") {
            hasMetadata = true;
            readMetadata(val, p);
        } else if (key == "spec") readSpec(val, p);
        else if (key == "status") readStatus(val, p);
    });
    if (!hasMetadata) {
        why = "no metadata";
        return false;
    }
    if (p.uid.empty() || p.name.empty()) {
        why = "missing metadata.uid or metadata.name";
        return false;
    }
    if (p.ns.empty()) p.ns = "default";
    return true;
}

}  // namespace

namespace {

// Decodes one captured item (an object) into p; invalid JSON inside it throws Fail.
bool decodeItem(od::parser& parser, const std::string& bytes, Pod& p, std::string& why) {
    simdjson::padded_string padded(bytes);
    od::document doc;
    check(parser.iterate(padded).get(doc));
    od::value v;
    check(doc.get_value().get(v));
    return readPod(v, p, why);
}

std::string decodeResourceVersion(od::parser& parser, const std::string& bytes) {
    simdjson::padded_string padded(bytes);
    od::document doc;
    check(parser.iterate(padded).get(doc));
    od::value v;
    check(doc.get_value().get(v));
    std::string rv;
    forEachField(v, [&](std::string_view k, od::value val) {
        if (k == "resourceVersion") rv = readString(val);
    });
    return rv;
}

od::parser& itemParser() {
    // One parser per thread, sized for the largest item seen (a few KiB), reused across calls.
    thread_local od::parser parser;
    return parser;
}

}  // namespace

namespace {

// A JSON number or literal, as it may stand between the top-level values we skip.
bool validScalar(std::string_view t) {
    if (t == "true" || t == "false" || t == "null") return true;
    size_t i = 0;
    if (i < t.size() && t[i] == '-') ++i;
    if (i >= t.size() || !std::isdigit(static_cast<unsigned char>(t[i]))) return false;
    if (t[i] == '0') ++i;
    else while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    if (i < t.size() && t[i] == '.') {
        ++i;
        if (i >= t.size() || !std::isdigit(static_cast<unsigned char>(t[i]))) return false;
        while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
        if (i >= t.size() || !std::isdigit(static_cast<unsigned char>(t[i]))) return false;
        while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    }
    return i == t.size();
}

}  // namespace

bool PodListDecoder::endScalar() {
    inScalar_ = false;
    if (!validScalar(scalar_)) return fail("invalid JSON: unexpected \"" + scalar_.substr(0, 20) + "\"");
    if (stack_.size() == 1 && key_ == "items" && scalar_ != "null") return fail("invalid PodList: items is not an array");
    scalar_.clear();
    return true;
}

bool PodListDecoder::fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
}

bool PodListDecoder::completeItem() {
    Pod p;
    std::string why;
    ++itemIndex_;
    try {
        if (decodeItem(itemParser(), buf_, p, why)) out_.pods.push_back(std::move(p));
        else out_.problems.push_back("item " + std::to_string(itemIndex_) + ": " + why);
    } catch (const Fail& f) {
        return fail(std::string("invalid JSON in item ") + std::to_string(itemIndex_) + ": " +
                    simdjson::error_message(f.code));
    }
    buf_.clear();
    return true;
}

bool PodListDecoder::completeCapture() {
    Capture c = capture_;
    capture_ = Capture::None;
    if (c == Capture::Item) return completeItem();
    if (c == Capture::Kind) {
        kind_ = buf_.size() >= 2 ? buf_.substr(1, buf_.size() - 2) : std::string();
    } else if (c == Capture::Metadata) {
        try {
            out_.resourceVersion = decodeResourceVersion(itemParser(), buf_);
        } catch (const Fail& f) {
            return fail(std::string("invalid JSON in list metadata: ") + simdjson::error_message(f.code));
        }
    }
    buf_.clear();
    return true;
}

bool PodListDecoder::feed(std::string_view chunk) {
    if (!error_.empty()) return false;
    constexpr size_t npos = std::string::npos;
    size_t captureStart = capture_ != Capture::None ? 0 : npos;
    auto startCapture = [&](Capture c, size_t i) {
        capture_ = c;
        captureStart = i;
        buf_.clear();
    };
    auto endCapture = [&](size_t i) {
        buf_.append(chunk.data() + captureStart, i + 1 - captureStart);
        captureStart = npos;
        return completeCapture();
    };
    const char* d = chunk.data();
    const size_t n = chunk.size();
    for (size_t i = 0; i < n; ++i) {
        char c = d[i];
        if (inString_) {
            if (escape_) {
                escape_ = false;
            } else if (c == '\\') {
                escape_ = true;
            } else if (c == '"') {
                inString_ = false;
                if (readingKey_) {
                    readingKey_ = false;
                    expect_ = Expect::Colon;
                } else if (stack_.size() == 1) {
                    expect_ = Expect::CommaOrEnd;
                    if (capture_ == Capture::Kind && !endCapture(i)) return false;
                } else if (stack_.size() == 2 && inItems_ && skippingItem_) {
                    itemsNeedComma_ = true;
                }
            } else if (readingKey_) {
                if (key_.size() < 64) key_ += c;
            } else {
                // String content is captured by span, not by byte: jump to the next quote or escape.
                const char* q = static_cast<const char*>(std::memchr(d + i + 1, '"', n - i - 1));
                size_t stop = q ? static_cast<size_t>(q - d) : n;
                const char* b = static_cast<const char*>(std::memchr(d + i + 1, '\\', stop - i - 1));
                i = (b ? static_cast<size_t>(b - d) : stop) - 1;
            }
            continue;
        }
        bool scalarChar = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.';
        if (inScalar_) {
            if (scalarChar) {
                if (scalar_.size() < 64) scalar_ += c;
                continue;
            }
            if (!endScalar()) return false;
            if (stack_.size() == 2 && inItems_) itemsNeedComma_ = true;
        }
        // Between items of the items array: exactly one ',' between two values.
        bool itemStart = stack_.size() == 2 && inItems_ && capture_ == Capture::None &&
                         (c == '{' || c == '[' || c == '"' || scalarChar);
        if (itemStart) {
            if (itemsNeedComma_) return fail("invalid JSON: missing ',' between items at offset " + std::to_string(offset_ + i));
            itemsAfterComma_ = false;
        }
        switch (c) {
            case ' ': case '\t': case '\n': case '\r':
                break;
            case '"':
                inString_ = true;
                if (stack_.empty()) return fail(done_ ? "invalid JSON: trailing content after the document"
                                                      : "invalid PodList: not a JSON object");
                if (stack_.size() == 1) {
                    if (expect_ == Expect::Key || expect_ == Expect::FirstKey) {
                        readingKey_ = true;
                        key_.clear();
                    } else if (expect_ == Expect::Value) {
                        if (key_ == "items") return fail("invalid PodList: items is not an array");
                        if (key_ == "kind") startCapture(Capture::Kind, i);
                    } else {
                        return fail("invalid JSON: unexpected string at offset " + std::to_string(offset_ + i));
                    }
                } else if (stack_.size() == 2 && inItems_ && capture_ == Capture::None) {
                    ++itemIndex_;
                    out_.problems.push_back("item " + std::to_string(itemIndex_) + ": not an object");
                    skippingItem_ = true;
                }
                break;
            case ':':
                if (stack_.size() == 1) {
                    if (expect_ != Expect::Colon) return fail("invalid JSON: unexpected ':' at offset " + std::to_string(offset_ + i));
                    expect_ = Expect::Value;
                }
                break;
            case ',':
                if (stack_.size() == 1) {
                    if (expect_ != Expect::CommaOrEnd) return fail("invalid JSON: unexpected ',' at offset " + std::to_string(offset_ + i));
                    expect_ = Expect::Key;
                } else if (stack_.size() == 2 && inItems_) {
                    if (!itemsNeedComma_) return fail("invalid JSON: unexpected ',' at offset " + std::to_string(offset_ + i));
                    itemsNeedComma_ = false;
                    itemsAfterComma_ = true;
                    skippingItem_ = false;
                }
                break;
            case '{':
            case '[':
                if (stack_.empty()) {
                    if (done_) return fail("invalid JSON: trailing content after the document");
                    if (c != '{') return fail("invalid PodList: not a JSON object");
                    started_ = true;
                    expect_ = Expect::FirstKey;
                } else if (stack_.size() == 1) {
                    if (expect_ != Expect::Value) return fail("invalid JSON: unexpected '" + std::string(1, c) + "' at offset " + std::to_string(offset_ + i));
                    if (key_ == "items") {
                        if (c != '[') return fail("invalid PodList: items is not an array");
                        inItems_ = true;
                        itemsNeedComma_ = itemsAfterComma_ = false;
                    } else if (key_ == "metadata" && c == '{') {
                        startCapture(Capture::Metadata, i);
                    }
                } else if (stack_.size() == 2 && inItems_ && capture_ == Capture::None && !skippingItem_) {
                    if (c == '{') {
                        startCapture(Capture::Item, i);
                    } else {
                        ++itemIndex_;
                        out_.problems.push_back("item " + std::to_string(itemIndex_) + ": not an object");
                        skippingItem_ = true;
                    }
                }
                if (stack_.size() >= 512) return fail("invalid JSON: nesting deeper than 512");
                stack_.push_back(c);
                break;
            case '}':
            case ']': {
                if (stack_.empty() || (c == '}' ? '{' : '[') != stack_.back())
                    return fail("invalid JSON: unexpected '" + std::string(1, c) + "' at offset " + std::to_string(offset_ + i));
                if (stack_.size() == 1 && expect_ != Expect::CommaOrEnd && expect_ != Expect::FirstKey)
                    return fail("invalid JSON: unexpected '}' at offset " + std::to_string(offset_ + i));
                if (stack_.size() == 2 && inItems_ && itemsAfterComma_)
                    return fail("invalid JSON: trailing ',' in items at offset " + std::to_string(offset_ + i));
                stack_.pop_back();
                if (stack_.empty()) {
                    done_ = true;
                } else if (stack_.size() == 1) {
                    expect_ = Expect::CommaOrEnd;
                    if (inItems_ && c == ']') inItems_ = false;
                    if (capture_ == Capture::Metadata && !endCapture(i)) return false;
                } else if (stack_.size() == 2 && inItems_) {
                    itemsNeedComma_ = true;
                    if (capture_ == Capture::Item && !endCapture(i)) return false;
                }
                break;
            }
            default:
                if (!scalarChar) return fail("invalid JSON: unexpected '" + std::string(1, c) + "' at offset " + std::to_string(offset_ + i));
                // Numbers and literals: read whole, validated when they end.
                if (stack_.empty()) return fail(done_ ? "invalid JSON: trailing content after the document"
                                                      : "invalid PodList: not a JSON object");
                if (stack_.size() == 1) {
                    if (expect_ != Expect::Value)
                        return fail("invalid JSON: unexpected '" + std::string(1, c) + "' at offset " + std::to_string(offset_ + i));
                    expect_ = Expect::CommaOrEnd;
                    inScalar_ = true;
                    scalar_.assign(1, c);
                } else if (stack_.size() == 2 && inItems_ && capture_ == Capture::None) {
                    ++itemIndex_;
                    out_.problems.push_back("item " + std::to_string(itemIndex_) + ": not an object");
                    skippingItem_ = true;
                    inScalar_ = true;
                    scalar_.assign(1, c);
                }
                break;
        }
    }
    if (captureStart != npos) buf_.append(d + captureStart, n - captureStart);
    if (buf_.size() > maxItemBytes_)
        return fail("invalid PodList: item " + std::to_string(itemIndex_ + 1) + " is larger than " +
                    std::to_string(maxItemBytes_ >> 10) + " KiB");
    offset_ += n;
    return true;
}

Result<PodList> PodListDecoder::finish() {
    if (!error_.empty()) return makeError(error_);
    if (!started_) return makeError(offset_ ? "invalid PodList: not a JSON object" : "invalid JSON: empty response");
    if (inScalar_ && stack_.empty() && !endScalar()) return makeError(error_);
    if (!done_ || inString_ || inScalar_)
        return makeError("invalid JSON: unexpected end of input after " + std::to_string(offset_) +
                         " bytes (truncated response?)");
    if (!kind_.empty() && kind_ != "PodList") return makeError("invalid PodList: kind is \"" + kind_.substr(0, 60) + "\"");
    return std::move(out_);
}

Result<WatchEvent> decodeWatchEvent(std::string_view line) {
    if (line.size() > (64u << 20)) return makeError("watch event larger than 64 MiB");
    WatchEvent ev;
    std::string type, kind, reason;
    bool haveObject = false;
    try {
        od::parser& parser = itemParser();
        simdjson::padded_string padded(line.data(), line.size());
        od::document doc;
        check(parser.iterate(padded).get(doc));
        od::value root;
        check(doc.get_value().get(root));
        if (!isType(root, od::json_type::object)) return makeError("invalid watch event: not an object");
        forEachField(root, [&](std::string_view key, od::value val) {
            if (key == "type") {
                type = readString(val);
            } else if (key == "object" && isType(val, od::json_type::object)) {
                haveObject = true;
                forEachField(val, [&](std::string_view k, od::value o) {
                    if (k == "metadata") readMetadata(o, ev.pod);
                    else if (k == "spec") readSpec(o, ev.pod);
                    else if (k == "status") readStatus(o, ev.pod);  // a Status' "status" is a string: skipped
                    else if (k == "kind") kind = readString(o);
                    else if (k == "message") ev.message = readString(o);
                    else if (k == "reason") reason = readString(o);
                    else if (k == "code") {
                        int64_t c = 0;
                        if (!o.get_int64().get(c)) ev.code = static_cast<int>(c);
                    }
                });
            }
        });
    } catch (const Fail& f) {
        return makeError(std::string("invalid watch event: ") + simdjson::error_message(f.code));
    }
    if (type == "ADDED") ev.type = WatchEvent::Type::Added;
    else if (type == "MODIFIED") ev.type = WatchEvent::Type::Modified;
    else if (type == "DELETED") ev.type = WatchEvent::Type::Deleted;
    else if (type == "BOOKMARK") ev.type = WatchEvent::Type::Bookmark;
    else if (type == "ERROR") ev.type = WatchEvent::Type::Error;
    else return makeError("invalid watch event: type \"" + type.substr(0, 20) + "\"");
    if (!haveObject) return makeError("invalid watch event: no object");
    ev.resourceVersion = ev.pod.resourceVersion;
    if (ev.type == WatchEvent::Type::Error) {
        if (!reason.empty()) ev.message = reason + (ev.message.empty() ? "" : ": " + ev.message);
        return ev;
    }
    if (ev.type != WatchEvent::Type::Bookmark) {
        if (ev.pod.uid.empty() || ev.pod.name.empty()) return makeError("invalid watch event: pod without uid or name");
        if (ev.pod.ns.empty()) ev.pod.ns = "default";
    }
    return ev;
}

Result<PodList> decodePodList(std::string_view json) {
    PodListDecoder decoder(json.size() + 1);
    decoder.feed(json);
    return decoder.finish();
}

}  // namespace iopslimit::core
