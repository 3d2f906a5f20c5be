#include "core/pod.h"

#include <json/json.h>

#include <memory>

namespace iopslimit::core {

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

std::string str(const Json::Value& v, const char* key) {
    const Json::Value& f = v[key];
    return f.isString() ? f.asString() : std::string();
}

std::map<std::string, std::string> stringMap(const Json::Value& v) {
    std::map<std::string, std::string> out;
    if (!v.isObject()) return out;
    for (auto it = v.begin(); it != v.end(); ++it)
        if (it->isString()) out.emplace(it.name(), it->asString());
    return out;
}

void addStatuses(const Json::Value& list, ContainerKind kind, std::vector<Container>& out) {
    if (!list.isArray()) return;
    for (const auto& cs : list) {
        if (!cs.isObject()) continue;
        Container c;
        c.name = str(cs, "name");
        c.image = str(cs, "image");
        c.containerId = str(cs, "containerID");
        c.kind = kind;
        const Json::Value& st = cs["state"];
        if (st.isObject()) {
            if (st.isMember("running")) c.state = ContainerState::Running;
            else if (st.isMember("terminated")) c.state = ContainerState::Terminated;
            else if (st.isMember("waiting")) c.state = ContainerState::Waiting;
        }
        if (c.name.empty()) continue;
        out.push_back(std::move(c));
    }
}

}  // namespace

Result<PodList> decodePodList(std::string_view json) {
    Json::CharReaderBuilder builder;
    builder["collectComments"] = false;
    builder["stackLimit"] = 200;
    builder["rejectDupKeys"] = false;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value root;
    std::string errs;
    if (!reader->parse(json.data(), json.data() + json.size(), &root, &errs)) {
        while (!errs.empty() && (errs.back() == '\n' || errs.back() == ' ')) errs.pop_back();
        auto nl = errs.find('\n');
        return makeError("invalid JSON: " + (nl == std::string::npos ? errs : errs.substr(0, nl)));
    }
    if (!root.isObject()) return makeError("invalid PodList: not a JSON object");
    const Json::Value& kind = root["kind"];
    if (kind.isString() && kind.asString() != "PodList")
        return makeError("invalid PodList: kind is \"" + kind.asString().substr(0, 60) + "\"");
    const Json::Value& items = root["items"];
    if (!items.isArray() && !items.isNull()) return makeError("invalid PodList: items is not an array");

    PodList out;
    out.resourceVersion = str(root["metadata"], "resourceVersion");
    out.pods.reserve(items.size());
    Json::ArrayIndex index = 0;
    for (const auto& item : items) {
        ++index;
        if (!item.isObject() || !item["metadata"].isObject()) {
            out.problems.push_back("item " + std::to_string(index) + ": no metadata");
            continue;
        }
        const Json::Value& md = item["metadata"];
        Pod p;
        p.uid = str(md, "uid");
        p.ns = str(md, "namespace");
        p.name = str(md, "name");
        if (p.uid.empty() || p.name.empty()) {
            out.problems.push_back("item " + std::to_string(index) + ": missing metadata.uid or metadata.name");
            continue;
        }
        if (p.ns.empty()) p.ns = "default";
        p.labels = stringMap(md["labels"]);
        p.annotations = stringMap(md["annotations"]);
        const Json::Value& spec = item["spec"];
        if (spec.isObject()) p.nodeName = str(spec, "nodeName");
        const Json::Value& st = item["status"];
        if (st.isObject()) {
            p.phase = str(st, "phase");
            std::string q = str(st, "qosClass");
            p.qosKnown = true;
            if (q == "Guaranteed") p.qos = QosClass::Guaranteed;
            else if (q == "Burstable") p.qos = QosClass::Burstable;
            else if (q == "BestEffort") p.qos = QosClass::BestEffort;
            else p.qosKnown = false;
            addStatuses(st["initContainerStatuses"], ContainerKind::Init, p.containers);
            addStatuses(st["containerStatuses"], ContainerKind::Regular, p.containers);
            addStatuses(st["ephemeralContainerStatuses"], ContainerKind::Ephemeral, p.containers);
        }
        out.pods.push_back(std::move(p));
    }
    return out;
}

}  // namespace iopslimit::core
