#include "core/namespace.h"

#include <json/json.h>

#include <memory>

#include "core/annotations.h"

namespace iopslimit::core {

namespace {

Result<Json::Value> parse(std::string_view text) {
    if (text.size() > (64u << 20)) return makeError("larger than 64 MiB");
    Json::CharReaderBuilder b;
    b["stackLimit"] = 64;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value root;
    std::string errs;
    bool ok = false;
    try {
        ok = reader->parse(text.data(), text.data() + text.size(), &root, &errs);
    } catch (const Json::Exception&) {
        ok = false;  // jsoncpp throws past its nesting limit
    }
    if (!ok || !root.isObject()) return makeError("invalid JSON");
    return root;
}

std::string str(const Json::Value& o, const char* key) {
    const Json::Value& v = o[key];
    return v.isString() ? v.asString() : std::string();
}

Result<Namespace> namespaceOf(const Json::Value& obj) {
    if (!obj.isObject() || !obj["metadata"].isObject()) return makeError("a namespace without metadata");
    const Json::Value& md = obj["metadata"];
    Namespace ns;
    ns.name = str(md, "name");
    if (!isDnsSubdomain(ns.name)) return makeError("a namespace without a valid name");
    const Json::Value& ann = md["annotations"];
    if (ann.isObject())
        for (const auto& key : ann.getMemberNames())
            if (key.rfind(kAnnotationPrefix, 0) == 0 && ann[key].isString()) ns.annotations[key] = ann[key].asString();
    return ns;
}

}  // namespace

Result<NamespaceList> decodeNamespaceList(std::string_view json) {
    auto root = parse(json);
    if (!root) return root.error();
    const Json::Value& r = *root;
    if (str(r, "kind") != "NamespaceList" || !r["items"].isArray()) return makeError("not a NamespaceList");
    NamespaceList out;
    out.resourceVersion = str(r["metadata"], "resourceVersion");
    for (const auto& item : r["items"])
        if (auto ns = namespaceOf(item)) out.items.push_back(std::move(ns).value());  // a bad item never hides the rest
    return out;
}

Result<NamespaceEvent> decodeNamespaceEvent(std::string_view line) {
    auto root = parse(line);
    if (!root) return root.error();
    const Json::Value& r = *root;
    std::string type = str(r, "type");
    const Json::Value& obj = r["object"];
    NamespaceEvent ev;
    if (type == "ERROR") {
        ev.type = WatchEvent::Type::Error;
        ev.code = obj["code"].isInt() ? obj["code"].asInt() : 0;
        ev.message = str(obj, "reason") + ": " + str(obj, "message");
        return ev;
    }
    if (!obj.isObject()) return makeError("a watch event without an object");
    ev.resourceVersion = str(obj["metadata"], "resourceVersion");
    if (type == "BOOKMARK") {
        ev.type = WatchEvent::Type::Bookmark;
        return ev;
    }
    if (type == "ADDED") ev.type = WatchEvent::Type::Added;
    else if (type == "MODIFIED") ev.type = WatchEvent::Type::Modified;
    else if (type == "DELETED") ev.type = WatchEvent::Type::Deleted;
    else return makeError("unknown watch event type \"" + type.substr(0, 32) + "\"");
    auto ns = namespaceOf(obj);
    if (!ns) return ns.error();
    ev.ns = std::move(ns).value();
    return ev;
}

}  // namespace iopslimit::core
