#include "daemon/state_store.h"

#include "core/io_lines.h"

#include <fcntl.h>
#include <json/json.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

namespace iopslimit::daemon {

using core::makeError;

namespace {

core::Status writeAtomically(const std::string& dir, const std::string& name, const std::string& content) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        return makeError("cannot create " + dir + ": " + std::strerror(errno), errno);
    std::string tmp = dir + "/." + name + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return makeError("cannot create " + tmp + ": " + std::strerror(errno), errno);
    size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return makeError("cannot write " + tmp + ": " + std::strerror(e), e);
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return makeError("cannot sync " + tmp + ": " + std::strerror(e), e);
    }
    std::string final = dir + "/" + name;
    if (::rename(tmp.c_str(), final.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return makeError("cannot rename " + tmp + ": " + std::strerror(e), e);
    }
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return core::okStatus();
}

std::string key(const std::string& ns, const std::string& pod) { return ns + "/" + pod; }

// Reads a state file: Missing -> nothing to load; Invalid -> why, in `why`.
enum class Loaded { Missing, Ok, Invalid };
Loaded readStateFile(const std::string& path, const char* arrayField, Json::Value& root, std::string& why) {
    std::ifstream in(path);
    if (!in) return Loaded::Missing;
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    Json::CharReaderBuilder b;
    b["stackLimit"] = 20;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    std::string errs;
    bool parsed = false;
    try {
        parsed = reader->parse(text.data(), text.data() + text.size(), &root, &errs);
    } catch (const Json::Exception&) {
        parsed = false;  // jsoncpp throws past its nesting limit instead of failing
    }
    if (!parsed) why = "invalid JSON";
    else if (!root.isObject() || !root[arrayField].isArray()) why = std::string("no \"") + arrayField + "\" array";
    return why.empty() ? Loaded::Ok : Loaded::Invalid;
}

// Typed reads that never throw (jsoncpp's as*() throw on the wrong type).
std::string stringField(const Json::Value& o, const char* k) {
    const Json::Value& v = o[k];
    return v.isString() ? v.asString() : std::string();
}
uint64_t numberField(const Json::Value& o, const char* k) {
    const Json::Value& v = o[k];
    return v.isUInt64() ? v.asUInt64() : 0;
}
core::Limits limitsOf(const Json::Value& o) {
    return core::Limits{numberField(o, "readIops"), numberField(o, "writeIops"), numberField(o, "readBps"),
                        numberField(o, "writeBps")};
}
// A corrupt state file is kept for inspection, never fatal: <path>.corrupt-<time>.
std::string moveAside(const std::string& path) {
    std::string aside = path + ".corrupt-" + std::to_string(std::time(nullptr));
    ::rename(path.c_str(), aside.c_str());
    return aside;
}

}  // namespace

std::string OverrideStore::load() {
    overrides_.clear();
    Json::Value root;
    std::string why;
    if (readStateFile(path(), "overrides", root, why) == Loaded::Missing) return {};
    std::map<std::string, core::Limits> loaded;
    if (why.empty()) {
        for (const auto& o : root["overrides"]) {
            if (!o.isObject() || !core::isDnsSubdomain(stringField(o, "namespace")) || !core::isDnsSubdomain(stringField(o, "pod"))) {
                why = "malformed entry";
                break;
            }
            loaded[key(stringField(o, "namespace"), stringField(o, "pod"))] = limitsOf(o);
        }
    }
    if (!why.empty())
        return "Failed to load overrides from " + path() + ": " + why + "; moved it to " + moveAside(path()) +
               " and started without overrides";
    overrides_ = std::move(loaded);
    return {};
}

core::Status OverrideStore::save(const std::map<std::string, core::Limits>& next) {
    Json::Value root;
    root["version"] = 1;
    root["overrides"] = Json::arrayValue;
    for (const auto& [k, l] : next) {
        Json::Value o;
        auto slash = k.find('/');
        o["namespace"] = k.substr(0, slash);
        o["pod"] = k.substr(slash + 1);
        o["readIops"] = Json::UInt64(l.readIops);
        o["writeIops"] = Json::UInt64(l.writeIops);
        o["readBps"] = Json::UInt64(l.readBps);
        o["writeBps"] = Json::UInt64(l.writeBps);
        root["overrides"].append(o);
    }
    Json::StreamWriterBuilder w;
    w["indentation"] = "  ";
    return writeAtomically(dir_, "overrides.json", Json::writeString(w, root) + "\n");
}

core::Status OverrideStore::set(const std::string& ns, const std::string& pod, const core::Limits& l) {
    auto next = overrides_;
    next[key(ns, pod)] = l;
    if (auto st = save(next); !st) return st;
    overrides_ = std::move(next);
    return core::okStatus();
}

core::Result<bool> OverrideStore::clear(const std::string& ns, const std::string& pod) {
    auto next = overrides_;
    if (!next.erase(key(ns, pod))) return false;
    if (auto st = save(next); !st) return st.error();
    overrides_ = std::move(next);
    return true;
}

namespace {

void putLimits(Json::Value& o, const core::Limits& l) {
    o["readIops"] = Json::UInt64(l.readIops);
    o["writeIops"] = Json::UInt64(l.writeIops);
    o["readBps"] = Json::UInt64(l.readBps);
    o["writeBps"] = Json::UInt64(l.writeBps);
}

core::LimitSource sourceOf(const Json::Value& o) {
    std::string s = stringField(o, "source");
    for (auto src : {core::LimitSource::Annotation, core::LimitSource::Override, core::LimitSource::Excluded})
        if (s == core::sourceName(src)) return src;
    return core::LimitSource::Default;
}

std::string renderMemory(const EngineMemory& m) {
    Json::Value root;
    root["version"] = 2;
    root["containers"] = Json::arrayValue;
    for (const auto& [id, d] : m.decisions) {
        Json::Value o;
        o["id"] = id;
        o["namespace"] = d.ns;
        o["pod"] = d.pod;
        o["excluded"] = d.excluded;
        o["source"] = std::string(core::sourceName(d.source));
        putLimits(o, d.limits);
        root["containers"].append(o);
    }
    auto unixTime = [](core::AdaptiveClock::time_point t) {
        return Json::Int64(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
    };
    root["adaptive"] = Json::arrayValue;
    for (const auto& [id, a] : m.adaptive.entries) {
        Json::Value o;
        o["id"] = id;
        o["device"] = a.dev.str();
        putLimits(o, a.limits);
        o["reason"] = a.reason;
        o["expires"] = unixTime(a.expires);
        root["adaptive"].append(o);
    }
    root["contended"] = Json::objectValue;
    for (const auto& [dev, at] : m.adaptive.lastContended) root["contended"][dev.str()] = unixTime(at);
    root["ours"] = Json::arrayValue;
    for (const auto& [id, in] : m.ours) {
        Json::Value o;
        o["id"] = id;
        o["cgroup"] = in.cgroup;
        putLimits(o, in.limits);
        root["ours"].append(o);
    }
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    return Json::writeString(w, root) + "\n";
}

}  // namespace

std::string DecisionCacheStore::load(EngineMemory& out) {
    out = {};
    Json::Value root;
    std::string why;
    if (readStateFile(path(), "containers", root, why) == Loaded::Missing) return {};
    EngineMemory loaded;
    if (why.empty()) {
        for (const auto& o : root["containers"]) {
            if (!o.isObject() || stringField(o, "id").empty()) {
                why = "malformed entry";
                break;
            }
            core::KnownDecision d;
            d.ns = stringField(o, "namespace");
            d.pod = stringField(o, "pod");
            d.excluded = o["excluded"].isBool() && o["excluded"].asBool();
            d.limits = limitsOf(o);
            d.source = d.excluded ? core::LimitSource::Excluded : sourceOf(o);
            loaded.decisions[stringField(o, "id")] = d;
        }
        const bool hasOurs = root.isMember("ours");
        if (hasOurs && !root["ours"].isArray()) why = "\"ours\" is not an array";
        for (const auto& o : hasOurs && why.empty() ? root["ours"] : Json::Value(Json::arrayValue)) {
            if (!o.isObject() || stringField(o, "id").empty()) {
                why = "malformed entry";
                break;
            }
            loaded.ours[stringField(o, "id")] = core::InForce{stringField(o, "cgroup"), limitsOf(o)};
        }
        auto fromUnix = [](const Json::Value& v) {
            return core::AdaptiveClock::time_point(std::chrono::seconds(v.isInt64() ? v.asInt64() : 0));
        };
        for (const auto& o : root["adaptive"].isArray() ? root["adaptive"] : Json::Value(Json::arrayValue)) {
            if (!o.isObject()) continue;  // an unusable entry is dropped: the static limit returns
            auto dev = core::parseDevNum(stringField(o, "device"));
            if (stringField(o, "id").empty() || !dev) continue;  // "from" of older versions is ignored
            core::AdaptiveEntry a;
            a.dev = *dev;
            a.limits = limitsOf(o);
            a.reason = stringField(o, "reason");
            a.expires = fromUnix(o["expires"]);
            loaded.adaptive.entries[stringField(o, "id")] = a;
        }
        if (root["contended"].isObject())
            for (const auto& key : root["contended"].getMemberNames())
                if (auto dev = core::parseDevNum(key)) loaded.adaptive.lastContended[*dev] = fromUnix(root["contended"][key]);
        if (!hasOurs)  // version 1: what was decided is what we put in force
            for (const auto& [id, d] : loaded.decisions)
                if (!d.excluded) loaded.ours[id] = core::InForce{"", d.limits};
    }
    if (!why.empty())
        return "Failed to load last-known decisions from " + path() + ": " + why + "; moved it to " + moveAside(path());
    out = std::move(loaded);
    lastWritten_ = renderMemory(out);
    return {};
}

core::Status DecisionCacheStore::save(const EngineMemory& memory) {
    std::string text = renderMemory(memory);
    if (text == lastWritten_) return core::okStatus();
    auto st = writeAtomically(dir_, "decisions.json", text);
    if (st) lastWritten_ = std::move(text);
    return st;
}

}  // namespace iopslimit::daemon
