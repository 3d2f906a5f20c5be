#include "core/label_selector.h"

#include <cctype>
#include <charconv>

namespace iopslimit::core {

namespace {

enum class Tok { Ident, Eq, DoubleEq, NotEq, Bang, Gt, Lt, Open, Close, Comma, End };

struct Token {
    Tok kind;
    std::string text;
};

bool isIdentChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
}

Result<std::vector<Token>> lex(std::string_view s) {
    std::vector<Token> out;
    size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++i; continue; }
        if (c == '=') {
            if (i + 1 < s.size() && s[i + 1] == '=') { out.push_back({Tok::DoubleEq, "=="}); i += 2; }
            else { out.push_back({Tok::Eq, "="}); ++i; }
        } else if (c == '!') {
            if (i + 1 < s.size() && s[i + 1] == '=') { out.push_back({Tok::NotEq, "!="}); i += 2; }
            else { out.push_back({Tok::Bang, "!"}); ++i; }
        } else if (c == '>') { out.push_back({Tok::Gt, ">"}); ++i; }
        else if (c == '<') { out.push_back({Tok::Lt, "<"}); ++i; }
        else if (c == '(') { out.push_back({Tok::Open, "("}); ++i; }
        else if (c == ')') { out.push_back({Tok::Close, ")"}); ++i; }
        else if (c == ',') { out.push_back({Tok::Comma, ","}); ++i; }
        else if (isIdentChar(c)) {
            size_t j = i;
            while (j < s.size() && isIdentChar(s[j])) ++j;
            out.push_back({Tok::Ident, std::string(s.substr(i, j - i))});
            i = j;
        } else {
            return makeError("unexpected character '" + std::string(1, c) + "' at position " + std::to_string(i));
        }
    }
    out.push_back({Tok::End, ""});
    return out;
}

// Label keys: [prefix/]name, name <= 63 chars of [A-Za-z0-9-_.] starting and ending alphanumeric.
bool validName(std::string_view n) {
    if (n.empty() || n.size() > 63) return false;
    if (!std::isalnum(static_cast<unsigned char>(n.front())) || !std::isalnum(static_cast<unsigned char>(n.back())))
        return false;
    for (char c : n)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

bool validKey(std::string_view k) {
    auto slash = k.find('/');
    if (slash == std::string_view::npos) return validName(k);
    // The prefix is a DNS-1123 subdomain: lower-case labels of [a-z0-9-], alphanumeric at both ends.
    std::string_view prefix = k.substr(0, slash);
    if (prefix.empty() || prefix.size() > 253) return false;
    size_t start = 0;
    while (start <= prefix.size()) {
        size_t dot = prefix.find('.', start);
        if (dot == std::string_view::npos) dot = prefix.size();
        std::string_view label = prefix.substr(start, dot - start);
        auto lowerAlnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
        if (label.empty() || label.size() > 63 || !lowerAlnum(label.front()) || !lowerAlnum(label.back())) return false;
        for (char c : label)
            if (!lowerAlnum(c) && c != '-') return false;
        start = dot + 1;
    }
    return validName(k.substr(slash + 1));
}

bool validValue(std::string_view v) { return v.empty() || validName(v); }

bool parseInt(std::string_view s, long long& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

class Parser {
public:
    explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

    Result<std::vector<LabelSelector::Requirement>> run() {
        std::vector<LabelSelector::Requirement> reqs;
        if (peek().kind == Tok::End) return reqs;
        for (;;) {
            auto r = requirement();
            if (!r) return r.error();
            reqs.push_back(std::move(r).value());
            if (peek().kind == Tok::End) return reqs;
            if (peek().kind != Tok::Comma) return fail("expected ',' or end");
            next();
        }
    }

private:
    const Token& peek() const { return t_[pos_]; }
    const Token& next() { return t_[pos_ < t_.size() - 1 ? pos_++ : pos_]; }
    Error fail(const std::string& what) const {
        const Token& t = peek();
        return makeError(what + (t.kind == Tok::End ? " at end of selector" : " near \"" + t.text + "\""));
    }

    Result<LabelSelector::Requirement> requirement() {
        using Op = LabelSelector::Op;
        LabelSelector::Requirement r;
        if (peek().kind == Tok::Bang) {
            next();
            if (peek().kind != Tok::Ident) return fail("expected a key after '!'");
            r.key = next().text;
            if (!validKey(r.key)) return makeError("invalid label key \"" + r.key + "\"");
            r.op = Op::DoesNotExist;
            return r;
        }
        if (peek().kind != Tok::Ident) return fail("expected a label key");
        r.key = next().text;
        if (!validKey(r.key)) return makeError("invalid label key \"" + r.key + "\"");
        switch (peek().kind) {
            case Tok::Comma:
            case Tok::End:
                r.op = Op::Exists;
                return r;
            case Tok::Eq:
            case Tok::DoubleEq:
            case Tok::NotEq: {
                r.op = peek().kind == Tok::NotEq ? Op::NotEquals : Op::Equals;
                next();
                std::string v;
                if (peek().kind == Tok::Ident) v = next().text;
                else if (peek().kind != Tok::Comma && peek().kind != Tok::End) return fail("expected a value");
                if (!validValue(v)) return makeError("invalid label value \"" + v + "\"");
                r.values.push_back(v);
                return r;
            }
            case Tok::Gt:
            case Tok::Lt: {
                r.op = peek().kind == Tok::Gt ? Op::GreaterThan : Op::LessThan;
                next();
                long long n;
                if (peek().kind != Tok::Ident || !parseInt(peek().text, n)) return fail("expected an integer");
                r.values.push_back(next().text);
                return r;
            }
            case Tok::Ident: {
                const std::string& word = peek().text;
                if (word == "in") r.op = Op::In;
                else if (word == "notin") r.op = Op::NotIn;
                else return fail("unknown operator");
                next();
                if (peek().kind != Tok::Open) return fail("expected '(' after " + word);
                next();
                for (;;) {
                    std::string v;
                    if (peek().kind == Tok::Ident) v = next().text;
                    if (!validValue(v)) return makeError("invalid label value \"" + v + "\"");
                    r.values.push_back(v);
                    if (peek().kind == Tok::Comma) { next(); continue; }
                    if (peek().kind == Tok::Close) { next(); break; }
                    return fail("expected ',' or ')' in value set");
                }
                return r;
            }
            default:
                return fail("unknown operator");
        }
    }

    std::vector<Token> t_;
    size_t pos_ = 0;
};

}  // namespace

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
    if (text.size() > 4096) return makeError("label selector too long");
    auto toks = lex(text);
    if (!toks) return toks.error();
    auto reqs = Parser(std::move(toks).value()).run();
    if (!reqs) return reqs.error();
    LabelSelector sel;
    sel.reqs_ = std::move(reqs).value();
    return sel;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
    for (const auto& r : reqs_) {
        auto it = labels.find(r.key);
        bool has = it != labels.end();
        auto inValues = [&] {
            for (const auto& v : r.values)
                if (has && it->second == v) return true;
            return false;
        };
        bool ok = false;
        switch (r.op) {
            case Op::Equals:
            case Op::In: ok = has && inValues(); break;
            case Op::NotEquals:
            case Op::NotIn: ok = !has || !inValues(); break;
            case Op::Exists: ok = has; break;
            case Op::DoesNotExist: ok = !has; break;
            case Op::GreaterThan:
            case Op::LessThan: {
                long long have, want;
                if (!has || !parseInt(it->second, have) || !parseInt(r.values[0], want)) ok = false;
                else ok = r.op == Op::GreaterThan ? have > want : have < want;
                break;
            }
        }
        if (!ok) return false;
    }
    return true;
}

std::string LabelSelector::str() const {
    std::string out;
    for (const auto& r : reqs_) {
        if (!out.empty()) out += ",";
        auto set = [&] {
            std::string s = "(";
            for (size_t i = 0; i < r.values.size(); ++i) s += (i ? "," : "") + r.values[i];
            return s + ")";
        };
        switch (r.op) {
            case Op::Equals: out += r.key + "=" + r.values[0]; break;
            case Op::NotEquals: out += r.key + "!=" + r.values[0]; break;
            case Op::In: out += r.key + " in " + set(); break;
            case Op::NotIn: out += r.key + " notin " + set(); break;
            case Op::Exists: out += r.key; break;
            case Op::DoesNotExist: out += "!" + r.key; break;
            case Op::GreaterThan: out += r.key + ">" + r.values[0]; break;
            case Op::LessThan: out += r.key + "<" + r.values[0]; break;
        }
    }
    return out;
}

}  // namespace iopslimit::core
