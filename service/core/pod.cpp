#include "core/pod.h"

#include <simdjson.h>

#include <iterator>

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

std::map<std::string, std::string> readStringMap(od::value v) {
    std::map<std::string, std::string> out;
    od::json_type t;
    check(v.type().get(t));
    if (t != od::json_type::object) return out;
    od::object obj;
    check(v.get_object().get(obj));
    for (auto field : obj) {
        od::field f;
        check(std::move(field).get(f));
        std::string_view key;
        check(f.unescaped_key().get(key));
        std::string k(key);
        od::value val = f.value();
        od::json_type vt;
        check(val.type().get(vt));
        if (vt != od::json_type::string) continue;
        std::string_view sv;
        check(val.get_string().get(sv));
        out.insert_or_assign(std::move(k), std::string(sv));
    }
    return out;
}

void readStatuses(od::value v, ContainerKind kind, std::vector<Container>& out) {
    od::json_type t;
    check(v.type().get(t));
    if (t != od::json_type::array) return;
    od::array arr;
    check(v.get_array().get(arr));
    for (auto element : arr) {
        od::value cs;
        check(std::move(element).get(cs));
        od::json_type ct;
        check(cs.type().get(ct));
        if (ct != od::json_type::object) continue;
        od::object obj;
        check(cs.get_object().get(obj));
        Container c;
        c.kind = kind;
        for (auto field : obj) {
            od::field f;
            check(std::move(field).get(f));
            std::string_view key;
            check(f.unescaped_key().get(key));
            if (key == "name") c.name = readString(f.value());
            else if (key == "image") c.image = readString(f.value());
            else if (key == "containerID") c.containerId = readString(f.value());
            else if (key == "state") {
                od::value st = f.value();
                od::json_type stt;
                check(st.type().get(stt));
                if (stt != od::json_type::object) continue;
                od::object so;
                check(st.get_object().get(so));
                for (auto sf : so) {
                    od::field s;
                    check(std::move(sf).get(s));
                    std::string_view k;
                    check(s.unescaped_key().get(k));
                    // The kubelet sets exactly one of these; take the first present.
                    if (c.state != ContainerState::Unknown) continue;
                    if (k == "running") c.state = ContainerState::Running;
                    else if (k == "terminated") c.state = ContainerState::Terminated;
                    else if (k == "waiting") c.state = ContainerState::Waiting;
                }
            }
        }
        if (!c.name.empty()) out.push_back(std::move(c));
    }
}

void readMetadata(od::value v, Pod& p) {
    od::json_type t;
    check(v.type().get(t));
    if (t != od::json_type::object) return;
    od::object obj;
    check(v.get_object().get(obj));
    for (auto field : obj) {
        od::field f;
        check(std::move(field).get(f));
        std::string_view key;
        check(f.unescaped_key().get(key));
        if (key == "uid") p.uid = readString(f.value());
        else if (key == "name") p.name = readString(f.value());
        else if (key == "namespace") p.ns = readString(f.value());
        else if (key == "labels") p.labels = readStringMap(f.value());
        else if (key == "annotations") p.annotations = readStringMap(f.value());
    }
}

void readStatus(od::value v, Pod& p) {
    od::json_type t;
    check(v.type().get(t));
    if (t != od::json_type::object) return;
    od::object obj;
    check(v.get_object().get(obj));
    // Keep the documented order (init, regular, ephemeral) whatever order the fields come in.
    std::vector<Container> init, regular, ephemeral;
    for (auto field : obj) {
        od::field f;
        check(std::move(field).get(f));
        std::string_view key;
        check(f.unescaped_key().get(key));
        if (key == "phase") p.phase = readString(f.value());
        else if (key == "qosClass") {
            std::string q = readString(f.value());
            p.qosKnown = true;
            if (q == "Guaranteed") p.qos = QosClass::Guaranteed;
            else if (q == "Burstable") p.qos = QosClass::Burstable;
            else if (q == "BestEffort") p.qos = QosClass::BestEffort;
            else p.qosKnown = false;
        } else if (key == "initContainerStatuses") readStatuses(f.value(), ContainerKind::Init, init);
        else if (key == "containerStatuses") readStatuses(f.value(), ContainerKind::Regular, regular);
        else if (key == "ephemeralContainerStatuses") readStatuses(f.value(), ContainerKind::Ephemeral, ephemeral);
    }
    p.containers = std::move(init);
    p.containers.insert(p.containers.end(), std::make_move_iterator(regular.begin()), std::make_move_iterator(regular.end()));
    p.containers.insert(p.containers.end(), std::make_move_iterator(ephemeral.begin()), std::make_move_iterator(ephemeral.end()));
}

void readSpec(od::value v, Pod& p) {
    od::json_type t;
    check(v.type().get(t));
    if (t != od::json_type::object) return;
    od::object obj;
    check(v.get_object().get(obj));
    for (auto field : obj) {
        od::field f;
        check(std::move(field).get(f));
        std::string_view key;
        check(f.unescaped_key().get(key));
        if (key == "nodeName") p.nodeName = readString(f.value());
    }
}

// One item of a PodList (or a watch event's object). Returns false, with why, for an item
// that is not a usable pod.
bool readPod(od::value v, Pod& p, std::string& why) {
    od::json_type t;
    check(v.type().get(t));
    if (t != od::json_type::object) {
        why = "not an object";
        return false;
    }
    od::object obj;
    check(v.get_object().get(obj));
    bool hasMetadata = false;
    for (auto field : obj) {
        od::field f;
        check(std::move(field).get(f));
        std::string_view key;
        check(f.unescaped_key().get(key));
        if (key == "metadata") {
            hasMetadata = true;
            readMetadata(f.value(), p);
        } else if (key == "spec") readSpec(f.value(), p);
        else if (key == "status") readStatus(f.value(), p);
    }
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

Result<PodList> decodePodList(std::string_view json) {
    PodList out;
    std::string kind;
    try {
        od::parser parser;
        simdjson::padded_string padded(json.data(), json.size());
        od::document doc;
        check(parser.iterate(padded).get(doc));
        od::json_type t;
        check(doc.type().get(t));
        if (t != od::json_type::object) return makeError("invalid PodList: not a JSON object");
        od::object root;
        check(doc.get_object().get(root));
        for (auto field : root) {
            od::field f;
            check(std::move(field).get(f));
            std::string_view key;
            check(f.unescaped_key().get(key));
            if (key == "kind") {
                kind = readString(f.value());
            } else if (key == "metadata") {
                od::value md = f.value();
                od::json_type mt;
                check(md.type().get(mt));
                if (mt != od::json_type::object) continue;
                od::object mo;
                check(md.get_object().get(mo));
                for (auto mf : mo) {
                    od::field m;
                    check(std::move(mf).get(m));
                    std::string_view k;
                    check(m.unescaped_key().get(k));
                    if (k == "resourceVersion") out.resourceVersion = readString(m.value());
                }
            } else if (key == "items") {
                od::value items = f.value();
                od::json_type it;
                check(items.type().get(it));
                if (it == od::json_type::null) continue;
                if (it != od::json_type::array) return makeError("invalid PodList: items is not an array");
                od::array arr;
                check(items.get_array().get(arr));
                size_t index = 0;
                for (auto element : arr) {
                    ++index;
                    od::value item;
                    check(std::move(element).get(item));
                    Pod p;
                    std::string why;
                    if (readPod(item, p, why)) out.pods.push_back(std::move(p));
                    else out.problems.push_back("item " + std::to_string(index) + ": " + why);
                }
            }
        }
    } catch (const Fail& f) {
        return makeError(std::string("invalid JSON: ") + simdjson::error_message(f.code));
    }
    if (!kind.empty() && kind != "PodList") return makeError("invalid PodList: kind is \"" + kind.substr(0, 60) + "\"");
    return out;
}

}  // namespace iopslimit::core
