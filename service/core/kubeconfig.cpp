#include "core/kubeconfig.h"

#include <map>
#include <memory>
#include <vector>

namespace iopslimit::core {

namespace {

struct Node {
    std::string scalar;
    std::vector<std::pair<std::string, std::unique_ptr<Node>>> map;
    std::vector<std::unique_ptr<Node>> seq;

    const Node* get(std::string_view key) const {
        for (const auto& [k, v] : map)
            if (k == key) return v.get();
        return nullptr;
    }
    std::string str(std::string_view key) const {
        const Node* n = get(key);
        return n ? n->scalar : std::string();
    }
};

struct Line {
    size_t indent;
    std::string text;
    size_t number;
};

std::string unquote(std::string v, std::string& err) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        std::string out;
        for (size_t i = 1; i + 1 < v.size(); ++i) {
            if (v[i] == '\\' && i + 2 < v.size()) {
                char c = v[++i];
                out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
            } else {
                out += v[i];
            }
        }
        return out;
    }
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
        std::string out;
        for (size_t i = 1; i + 1 < v.size(); ++i) {
            out += v[i];
            if (v[i] == '\'' && v[i + 1] == '\'') ++i;
        }
        return out;
    }
    if (v == "{}" || v == "[]" || v == "~" || v == "null") return {};
    if (!v.empty() && (v.front() == '{' || v.front() == '[' || v.front() == '|' || v.front() == '>' ||
                       v.front() == '&' || v.front() == '*'))
        err = "unsupported YAML construct \"" + v.substr(0, 20) + "\"";
    return v;
}

// Strips a comment: '#' at the start or after a space, outside quotes.
std::string stripComment(const std::string& s) {
    char quote = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
            return s.substr(0, i);
        }
    }
    return s;
}

class Parser {
public:
    explicit Parser(std::vector<Line> lines) : lines_(std::move(lines)) {}

    Result<std::unique_ptr<Node>> parse() {
        auto root = block(0, 0);
        if (!err_.empty()) return makeError(err_);
        if (pos_ < lines_.size())
            return makeError("kubeconfig line " + std::to_string(lines_[pos_].number) + ": unexpected indentation");
        return root;
    }

private:
    bool isItem(const Line& l) const { return l.text == "-" || l.text.rfind("- ", 0) == 0; }

    std::unique_ptr<Node> block(size_t indent, int depth) {
        auto node = std::make_unique<Node>();
        if (depth > 32) {
            err_ = "kubeconfig nested too deeply";
            return node;
        }
        if (pos_ < lines_.size() && lines_[pos_].indent == indent && isItem(lines_[pos_])) {
            while (err_.empty() && pos_ < lines_.size() && lines_[pos_].indent == indent && isItem(lines_[pos_])) {
                Line& l = lines_[pos_];
                std::string rest = l.text.size() > 2 ? l.text.substr(2) : "";
                size_t lead = rest.find_first_not_of(' ');
                if (lead == std::string::npos) {
                    ++pos_;
                    if (pos_ < lines_.size() && lines_[pos_].indent > indent)
                        node->seq.push_back(block(lines_[pos_].indent, depth + 1));
                    else
                        node->seq.push_back(std::make_unique<Node>());
                    continue;
                }
                // "- key: value": the item is a mapping starting on this very line.
                l.indent = indent + 2 + lead;
                l.text = rest.substr(lead);
                if (l.text.find(": ") == std::string::npos && l.text.back() != ':') {
                    auto item = std::make_unique<Node>();
                    item->scalar = unquote(l.text, err_);
                    node->seq.push_back(std::move(item));
                    ++pos_;
                    continue;
                }
                node->seq.push_back(block(l.indent, depth + 1));
            }
            return node;
        }
        while (err_.empty() && pos_ < lines_.size() && lines_[pos_].indent == indent) {
            const Line& l = lines_[pos_];
            if (isItem(l)) {
                err_ = "kubeconfig line " + std::to_string(l.number) + ": list item where a key was expected";
                return node;
            }
            size_t colon = l.text.find(": ");
            std::string key, value;
            if (colon != std::string::npos) {
                key = l.text.substr(0, colon);
                value = l.text.substr(colon + 2);
            } else if (!l.text.empty() && l.text.back() == ':') {
                key = l.text.substr(0, l.text.size() - 1);
            } else {
                err_ = "kubeconfig line " + std::to_string(l.number) + ": expected \"key: value\"";
                return node;
            }
            size_t vstart = value.find_first_not_of(' ');
            value = vstart == std::string::npos ? "" : value.substr(vstart);
            std::string dummy;
            key = unquote(key, dummy);
            ++pos_;
            std::unique_ptr<Node> child;
            if (!value.empty()) {
                child = std::make_unique<Node>();
                child->scalar = unquote(value, err_);
            } else if (pos_ < lines_.size() && (lines_[pos_].indent > indent ||
                                                (lines_[pos_].indent == indent && isItem(lines_[pos_])))) {
                child = block(lines_[pos_].indent, depth + 1);
            } else {
                child = std::make_unique<Node>();
            }
            node->map.emplace_back(std::move(key), std::move(child));
        }
        return node;
    }

    std::vector<Line> lines_;
    size_t pos_ = 0;
    std::string err_;
};

const Node* findNamed(const Node* list, const std::string& name, std::string_view inner) {
    if (!list) return nullptr;
    for (const auto& item : list->seq)
        if (item->str("name") == name) return item->get(inner);
    return nullptr;
}

std::string resolve(const std::string& path, std::string_view dir) {
    if (path.empty() || path[0] == '/' || dir.empty()) return path;
    return std::string(dir) + "/" + path;
}

}  // namespace

Result<std::string> decodeBase64(std::string_view in) {
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    size_t pad = 0;
    for (char c : in) {
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else if (c == '=') { ++pad; continue; }
        else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        else return makeError("invalid base64");
        if (pad) return makeError("invalid base64");
        buf = (buf << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buf >> bits) & 0xff);
        }
    }
    if (pad > 2) return makeError("invalid base64");
    return out;
}

Result<KubeconfigCredentials> parseKubeconfig(std::string_view text, std::string_view dir) {
    if (text.size() > (1u << 20)) return makeError("kubeconfig larger than 1 MiB");
    std::vector<Line> lines;
    size_t number = 0, i = 0;
    while (i < text.size()) {
        size_t j = text.find('\n', i);
        if (j == std::string_view::npos) j = text.size();
        std::string raw(text.substr(i, j - i));
        i = j + 1;
        ++number;
        if (!raw.empty() && raw.back() == '\r') raw.pop_back();
        if (raw.find('\t') != std::string::npos && raw.find_first_not_of(" \t") != std::string::npos &&
            raw.find('\t') < raw.find_first_not_of(" \t"))
            return makeError("kubeconfig line " + std::to_string(number) + ": tab in indentation");
        std::string s = stripComment(raw);
        size_t indent = s.find_first_not_of(' ');
        if (indent == std::string::npos) continue;
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
        std::string body = s.substr(indent);
        if (body == "---" || body == "...") continue;
        lines.push_back({indent, body, number});
    }
    auto root = Parser(std::move(lines)).parse();
    if (!root) return root.error();
    const Node& r = *root.value();

    std::string ctxName = r.str("current-context");
    const Node* contexts = r.get("contexts");
    const Node* ctx = nullptr;
    if (!ctxName.empty()) ctx = findNamed(contexts, ctxName, "context");
    else if (contexts && contexts->seq.size() == 1) ctx = contexts->seq[0]->get("context");
    if (!ctx) return makeError(ctxName.empty() ? "kubeconfig has no current-context" : "kubeconfig context \"" + ctxName + "\" not found");
    const Node* cluster = findNamed(r.get("clusters"), ctx->str("cluster"), "cluster");
    if (!cluster) return makeError("kubeconfig cluster \"" + ctx->str("cluster") + "\" not found");
    KubeconfigCredentials c;
    c.server = cluster->str("server");
    if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0)
        return makeError("kubeconfig cluster \"" + ctx->str("cluster") + "\" has no http(s) server");
    while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
    c.caPath = resolve(cluster->str("certificate-authority"), dir);
    if (auto data = cluster->str("certificate-authority-data"); !data.empty()) {
        auto pem = decodeBase64(data);
        if (!pem) return makeError("kubeconfig certificate-authority-data: " + pem.error().message);
        c.caPem = *pem;
    }
    c.skipVerify = cluster->str("insecure-skip-tls-verify") == "true";
    std::string userName = ctx->str("user");
    if (!userName.empty()) {
        const Node* user = findNamed(r.get("users"), userName, "user");
        if (!user) return makeError("kubeconfig user \"" + userName + "\" not found");
        c.clientCertPath = resolve(user->str("client-certificate"), dir);
        c.clientKeyPath = resolve(user->str("client-key"), dir);
        c.tokenPath = resolve(user->str("tokenFile"), dir);
        c.token = user->str("token");
        for (auto [key, out] : {std::pair{"client-certificate-data", &c.clientCertPem}, std::pair{"client-key-data", &c.clientKeyPem}}) {
            auto data = user->str(key);
            if (data.empty()) continue;
            auto pem = decodeBase64(data);
            if (!pem) return makeError(std::string("kubeconfig ") + key + ": " + pem.error().message);
            *out = *pem;
        }
        if (user->get("exec") || user->get("auth-provider"))
            if (c.clientCertPath.empty() && c.clientCertPem.empty() && c.token.empty() && c.tokenPath.empty())
                return makeError("kubeconfig user \"" + userName + "\" uses an exec/auth-provider plugin, which is not supported");
    }
    return c;
}

}  // namespace iopslimit::core
