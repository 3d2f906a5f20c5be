#include "core/env_file.h"

#include <algorithm>
#include <cstdint>
#include <set>

namespace iopslimit::core {

namespace {

constexpr size_t npos = std::string::npos;

// systemd's READ_FULL_BYTES_MAX (src/basic/fileio.c): larger files are refused with E2BIG.
constexpr size_t kMaxFileBytes = (size_t{64} << 20) - 1;
// sysconf(_SC_ARG_MAX) of PID 1 with the default 8 MiB stack limit (the kernel gives a quarter of
// RLIMIT_STACK); env_assignment_is_valid() refuses "KEY=VALUE" longer than this minus 1.
constexpr size_t kArgMax = size_t{2} << 20;
// The kernel's MAX_ARG_STRLEN (32 pages): one execve() string, NUL included.
constexpr size_t kMaxArgStrlen = 131072;

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }  // systemd's WHITESPACE
bool isNewline(char c) { return c == '\n' || c == '\r'; }                         // systemd's NEWLINE
bool isCommentStart(char c) { return c == '#' || c == ';'; }                      // systemd's COMMENTS
bool escapableInDoubleQuotes(char c) { return c == '"' || c == '\\' || c == '`' || c == '$'; }

// Length of the UTF-8 sequence at s[i] if systemd accepts it (utf8_encoded_valid_unichar and
// unichar_is_valid in src/basic/utf8.c), else 0.
size_t validUtf8At(std::string_view s, size_t i) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) return 1;
    size_t len;
    char32_t cp;
    if ((b & 0xe0) == 0xc0) len = 2, cp = b & 0x1f;
    else if ((b & 0xf0) == 0xe0) len = 3, cp = b & 0x0f;
    else if ((b & 0xf8) == 0xf0) len = 4, cp = b & 0x07;
    else return 0;  // a continuation byte, or the 5- and 6-byte forms (always above U+10FFFF)
    if (i + len > s.size()) return 0;
    for (size_t k = 1; k < len; ++k) {
        auto cb = static_cast<unsigned char>(s[i + k]);
        if ((cb & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (cb & 0x3f);
    }
    size_t shortest = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (shortest != len) return 0;  // overlong
    if (cp >= 0x110000) return 0;
    if ((cp & 0xfffff800) == 0xd800) return 0;  // UTF-16 surrogates
    if (cp >= 0xfdd0 && cp <= 0xfdef) return 0;
    if ((cp & 0xfffe) == 0xfffe) return 0;
    return len;
}

bool validUtf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        size_t n = validUtf8At(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// Printable form for messages: control characters and bytes that are not valid UTF-8 as \xNN
// (\n, \r, \t by name), '"' and '\' escaped, at most about 60 bytes.
std::string printable(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < s.size();) {
        if (out.size() >= 60) return out + "...";
        auto b = static_cast<unsigned char>(s[i]);
        size_t n = validUtf8At(s, i);
        if (b == '\n') out += "\\n";
        else if (b == '\r') out += "\\r";
        else if (b == '\t') out += "\\t";
        else if (b == '"' || b == '\\') (out += '\\') += static_cast<char>(b);
        else if (n == 0 || b < 0x20 || b == 0x7f) (((out += "\\x") += hex[b >> 4]) += hex[b & 0xf]);
        else if (n == 2 && b == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) {  // C1: U+0080..U+009F
            auto c1 = static_cast<unsigned char>(s[i + 1]);
            ((out += "\\u00") += hex[c1 >> 4]) += hex[c1 & 0xf];
            i += 2;
            continue;
        } else {
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        ++i;
    }
    return out;
}

std::string q(std::string_view s) { return "\"" + printable(s) + "\""; }

bool validName(std::string_view k) {
    if (k.empty() || (k[0] >= '0' && k[0] <= '9') || k.size() > kArgMax - 2) return false;
    for (char c : k)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

// The first control character of v as systemd's unichar_is_control() sees it (C0 except TAB and
// LF, DEL, C1), other than LF and CR; npos if none.
size_t findControl(std::string_view v) {
    for (size_t i = 0; i < v.size();) {
        auto b = static_cast<unsigned char>(v[i]);
        if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f) return i;
        if (b == 0xc2 && i + 1 < v.size() && static_cast<unsigned char>(v[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(v[i + 1]) <= 0x9f)
            return i;  // U+0080..U+009F
        size_t n = validUtf8At(v, i);
        i += n == 0 ? 1 : n;
    }
    return npos;
}

// Offset of an unquoted-looking comment in an already parsed value: '#' or ';' first or after a
// blank; npos if none. Returns the start of the blanks before it.
size_t findTrailingComment(std::string_view v) {
    for (size_t i = 0; i < v.size(); ++i) {
        if (!isCommentStart(v[i])) continue;
        if (i == 0) return 0;
        if (v[i - 1] == ' ' || v[i - 1] == '\t') {
            size_t s = i;
            while (s > 0 && (v[s - 1] == ' ' || v[s - 1] == '\t')) --s;
            return s;
        }
    }
    return npos;
}

// "$NAME", "${" or a backtick at s[i] (a shell would expand it; systemd does not).
bool expansionAt(std::string_view s, size_t i) {
    if (s[i] == '`') return true;
    if (s[i] != '$' || i + 1 >= s.size()) return false;
    char n = s[i + 1];
    return n == '{' || n == '_' || (n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z');
}

std::string notExpandedMessage(std::string_view value) {
    return "systemd does not expand variables or commands in environment files: the value is literally " + q(value);
}

std::string trailingCommentMessage(std::string_view value, size_t at) {
    if (at == 0)
        return "the value is " + q(value) + ": systemd keeps it; comments are only recognised at the start of a line";
    return "systemd keeps " + q(value.substr(at)) + " in the value; comments are only recognised at the start of a line";
}

std::string controlMessage(std::string_view v, size_t at) {
    size_t n = static_cast<unsigned char>(v[at]) == 0xc2 ? 2 : 1;
    return "the value contains the control character " + q(v.substr(at, n)) + "; systemd passes it on";
}

// One assignment as systemd's state machine hands it over (its push()), with what the parse saw.
struct Assignment {
    std::string key, value;
    unsigned line = 0;             // where the key starts
    unsigned endLine = 0;          // where the value ends
    size_t commentAt = npos;       // unquoted '#'/';' first or after unquoted blanks: offset of the blanks
    bool literalQuote = false;     // a quote inside unquoted text
    bool joinedAfterQuote = false; // blanks after a closing quote, then more value
    bool expansion = false;        // $NAME, ${ or ` outside single quotes and not escaped
    char openQuote = 0;            // quote still open at the end of the file
    unsigned quoteLine = 0;        // line of the last quote opened
};

class Parser {
public:
    explicit Parser(std::string_view text) : t_(text) {}

    // false: the file is refused (warning in rejection)
    bool run();

    std::vector<Assignment> assignments;
    std::vector<EnvFileWarning> lineWarnings;
    EnvFileWarning rejection;  // its message says what; parseEnvFile adds what systemd does

private:
    enum class S { PreKey, Key, PreValue, Value, ValueEscape, SingleQuote, DoubleQuote, DoubleQuoteEscape, Comment, CommentEscape };

    bool push();
    void noAssignment();
    void endSwallowed(size_t end);

    std::string_view t_;
    unsigned line_ = 1;
    Assignment cur_;
    size_t lastKeyBlank_ = npos, lastValueBlank_ = npos;
    bool prevUnquotedBlank_ = false;  // in Value: the previous character was an unescaped blank
    size_t blankRunStart_ = npos;     // in Value: where the current run of unquoted blanks began
    bool afterQuote_ = false, blankAfterQuote_ = false;
    bool atEnd_ = false;
    size_t swallowFrom_ = npos;       // start of a line taken into a comment by a trailing '\'
    unsigned swallowLine_ = 0;
};

void Parser::noAssignment() {
    std::string key = cur_.key;
    if (lastKeyBlank_ != npos) key.resize(lastKeyBlank_);
    lineWarnings.push_back({cur_.line, key, EnvFileIssue::NoAssignment,
                            key[0] == '='
                                ? "systemd ignores this line: there is no variable name before \"=\""
                                : "systemd ignores this line: it has no \"=\""});
}

void Parser::endSwallowed(size_t end) {
    if (swallowFrom_ == npos) return;
    std::string_view seg = t_.substr(swallowFrom_, end - swallowFrom_);
    swallowFrom_ = npos;
    size_t a = 0;
    while (a < seg.size() && isBlank(seg[a])) ++a;
    if (a == seg.size() || isCommentStart(seg[a])) return;  // nothing lost
    std::string_view rest = seg.substr(a);
    size_t eq = rest.find('=');
    std::string_view key = rest.substr(0, eq);
    while (!key.empty() && isBlank(key.back())) key.remove_suffix(1);
    lineWarnings.push_back(
        {swallowLine_, std::string(key), EnvFileIssue::CommentContinued,
         "systemd 252 ignores this line: it continues the comment above, whose line " +
             std::to_string(swallowLine_ - 1) + " ends in \"\\\" (systemd 254 and later read this line)"});
}

bool Parser::push() {
    if (lastKeyBlank_ != npos) cur_.key.resize(lastKeyBlank_);
    // At the end of a file that ends in LF, line_ is already past the last line.
    cur_.endLine = line_ - (atEnd_ && t_.ends_with('\n') ? 1 : 0);
    // load_env_file_push() checks the name, then the value; one failure refuses the whole file.
    if (!validUtf8(cur_.key)) {
        rejection = {cur_.line, cur_.key, EnvFileIssue::FileRejected,
                     "invalid UTF-8 in the name " + q(cur_.key) + " on line " + std::to_string(cur_.line)};
        return false;
    }
    if (!validUtf8(cur_.value)) {
        rejection = {cur_.line, cur_.key, EnvFileIssue::FileRejected,
                     "invalid UTF-8 in the value of " + printable(cur_.key) + " on line " +
                         std::to_string(cur_.line) + " (" + q(cur_.value) + ")"};
        return false;
    }
    assignments.push_back(std::move(cur_));
    cur_ = Assignment{};
    return true;
}

bool Parser::run() {
    S st = S::PreKey;
    for (size_t i = 0; i < t_.size(); ++i) {
        char c = t_[i];
        switch (st) {
            case S::PreKey:
                if (isCommentStart(c)) {
                    st = S::Comment;
                } else if (!isBlank(c)) {
                    st = S::Key;
                    cur_ = Assignment{};
                    cur_.key.assign(1, c);
                    cur_.line = line_;
                    lastKeyBlank_ = npos;
                }
                break;

            case S::Key:
                if (isNewline(c)) {
                    st = S::PreKey;
                    noAssignment();
                } else if (c == '=') {
                    st = S::PreValue;
                    lastValueBlank_ = npos;
                    afterQuote_ = blankAfterQuote_ = prevUnquotedBlank_ = false;
                } else {
                    if (!isBlank(c)) lastKeyBlank_ = npos;
                    else if (lastKeyBlank_ == npos) lastKeyBlank_ = cur_.key.size();
                    cur_.key += c;
                }
                break;

            case S::PreValue:
                if (isNewline(c)) {
                    st = S::PreKey;
                    if (!push()) return false;
                } else if (c == '\'' || c == '"') {
                    st = c == '\'' ? S::SingleQuote : S::DoubleQuote;
                    if (blankAfterQuote_) cur_.joinedAfterQuote = true;
                    cur_.quoteLine = line_;
                } else if (c == '\\') {
                    st = S::ValueEscape;
                    if (blankAfterQuote_) cur_.joinedAfterQuote = true;
                } else if (!isBlank(c)) {
                    st = S::Value;
                    if (blankAfterQuote_) cur_.joinedAfterQuote = true;
                    if (isCommentStart(c) && cur_.commentAt == npos) cur_.commentAt = cur_.value.size();
                    if (expansionAt(t_, i)) cur_.expansion = true;
                    cur_.value += c;
                    prevUnquotedBlank_ = false;
                } else if (afterQuote_) {
                    blankAfterQuote_ = true;
                }
                break;

            case S::Value:
                if (isNewline(c)) {
                    st = S::PreKey;
                    if (lastValueBlank_ != npos) cur_.value.resize(lastValueBlank_);
                    if (!push()) return false;
                } else if (c == '\\') {
                    st = S::ValueEscape;
                    lastValueBlank_ = npos;
                    prevUnquotedBlank_ = false;
                } else {
                    if (!isBlank(c)) {
                        lastValueBlank_ = npos;
                        if (isCommentStart(c) && prevUnquotedBlank_ && cur_.commentAt == npos)
                            cur_.commentAt = blankRunStart_;
                        if (c == '\'' || c == '"') cur_.literalQuote = true;
                        if (expansionAt(t_, i)) cur_.expansion = true;
                        prevUnquotedBlank_ = false;
                    } else {
                        if (lastValueBlank_ == npos) lastValueBlank_ = cur_.value.size();
                        if (!prevUnquotedBlank_) blankRunStart_ = cur_.value.size();
                        prevUnquotedBlank_ = true;
                    }
                    cur_.value += c;
                }
                break;

            case S::ValueEscape:
                st = S::Value;
                if (!isNewline(c)) {
                    cur_.value += c;
                } else if (i + 1 < t_.size() && isCommentStart(t_[i + 1]) && cur_.commentAt == npos) {
                    // "A=x \" then "# y": a shell would end the value at the '#'; systemd keeps it.
                    cur_.commentAt = cur_.value.size();
                    while (cur_.commentAt > 0 && (cur_.value[cur_.commentAt - 1] == ' ' || cur_.value[cur_.commentAt - 1] == '\t'))
                        --cur_.commentAt;
                }
                break;

            case S::SingleQuote:
                if (c == '\'') {
                    st = S::PreValue;
                    afterQuote_ = true;
                    blankAfterQuote_ = false;
                } else {
                    cur_.value += c;
                }
                break;

            case S::DoubleQuote:
                if (c == '"') {
                    st = S::PreValue;
                    afterQuote_ = true;
                    blankAfterQuote_ = false;
                } else if (c == '\\') {
                    st = S::DoubleQuoteEscape;
                } else {
                    if (expansionAt(t_, i)) cur_.expansion = true;
                    cur_.value += c;
                }
                break;

            case S::DoubleQuoteEscape:
                st = S::DoubleQuote;
                if (escapableInDoubleQuotes(c)) {
                    cur_.value += c;
                } else if (c != '\n') {  // only LF is a continuation here; "\" + CR keeps both
                    cur_.value += '\\';
                    cur_.value += c;
                }
                break;

            case S::Comment:
                if (c == '\\') {
                    st = S::CommentEscape;
                } else if (isNewline(c)) {
                    st = S::PreKey;
                    endSwallowed(i);
                }
                break;

            case S::CommentEscape:
                st = S::Comment;
                if (isNewline(c)) {
                    endSwallowed(i - 1);
                    swallowFrom_ = i + 1;
                    swallowLine_ = line_ + (c == '\n' ? 1 : 0);
                }
                break;
        }
        if (c == '\n') ++line_;
    }

    atEnd_ = true;
    switch (st) {
        case S::Value:
            if (lastValueBlank_ != npos) cur_.value.resize(lastValueBlank_);
            return push();
        case S::SingleQuote:
        case S::DoubleQuote:
        case S::DoubleQuoteEscape:
            cur_.openQuote = st == S::SingleQuote ? '\'' : '"';
            return push();
        case S::PreValue:
        case S::ValueEscape:
            return push();
        case S::Key:
            noAssignment();
            return true;
        case S::Comment:
        case S::CommentEscape:
            endSwallowed(t_.size());
            return true;
        case S::PreKey:
            return true;
    }
    return true;
}

std::string rejectedSuffix() {
    return ": systemd refuses the whole file, so none of its variables are set (EnvironmentFile=- skips it; "
           "without \"-\" the service would not start)";
}

}  // namespace

std::string_view envFileIssueName(EnvFileIssue issue) {
    switch (issue) {
        case EnvFileIssue::TrailingComment: return "trailing-comment";
        case EnvFileIssue::QuoteInValue: return "quote-in-value";
        case EnvFileIssue::JoinedAfterQuote: return "joined-after-quote";
        case EnvFileIssue::LineBreakInValue: return "line-break-in-value";
        case EnvFileIssue::CarriageReturn: return "carriage-return";
        case EnvFileIssue::ControlCharacter: return "control-character";
        case EnvFileIssue::NotExpanded: return "not-expanded";
        case EnvFileIssue::UnterminatedQuote: return "unterminated-quote";
        case EnvFileIssue::Export: return "export";
        case EnvFileIssue::InvalidName: return "invalid-name";
        case EnvFileIssue::NoAssignment: return "no-assignment";
        case EnvFileIssue::CommentContinued: return "comment-continued";
        case EnvFileIssue::Duplicate: return "duplicate";
        case EnvFileIssue::TooLongForExec: return "too-long-for-exec";
        case EnvFileIssue::TooLong: return "too-long";
        case EnvFileIssue::FileRejected: return "file-rejected";
    }
    return "unknown";
}

std::vector<EnvFileWarning> checkEnvironmentValue(const std::string& key, const std::string& value) {
    std::vector<EnvFileWarning> out;
    if (size_t at = findTrailingComment(value); at != npos)
        out.push_back({0, key, EnvFileIssue::TrailingComment, trailingCommentMessage(value, at)});
    if (value.find('\n') != npos)
        out.push_back({0, key, EnvFileIssue::LineBreakInValue,
                       "the value " + q(value) + " contains a line break (a quote left open at the end of a line?)"});
    else if (value.find('\r') != npos)
        out.push_back({0, key, EnvFileIssue::CarriageReturn,
                       "the value " + q(value) + " contains a carriage return (a CRLF line end inside quotes?)"});
    if (size_t at = findControl(value); at != npos)
        out.push_back({0, key, EnvFileIssue::ControlCharacter, controlMessage(value, at)});
    for (size_t i = 0; i < value.size(); ++i)
        if (expansionAt(value, i)) {
            out.push_back({0, key, EnvFileIssue::NotExpanded, notExpandedMessage(value)});
            break;
        }
    return out;
}

EnvFileContents parseEnvFile(std::string_view text) {
    EnvFileContents out;
    auto reject = [&](unsigned line, std::string key, std::string why) {
        out.rejected = true;
        out.warnings = {{line, std::move(key), EnvFileIssue::FileRejected, std::move(why)}};
        return out;
    };
    // read_full_file() without a size refuses embedded NUL bytes (EBADMSG) and files above its limit.
    if (size_t nul = text.find('\0'); nul != npos) {
        unsigned line = 1 + static_cast<unsigned>(std::count(text.begin(), text.begin() + static_cast<long>(nul), '\n'));
        return reject(line, "", "the file contains a NUL byte on line " + std::to_string(line) + rejectedSuffix());
    }
    if (text.size() > kMaxFileBytes) return reject(0, "", "the file is larger than 64 MiB" + rejectedSuffix());

    Parser p(text);
    if (!p.run()) return reject(p.rejection.line, p.rejection.key, p.rejection.message + rejectedSuffix());

    // load_env_file(): the last assignment of a name replaces earlier ones; then
    // strv_env_clean_with_callback() drops (and logs) invalid ones.
    std::map<std::string, unsigned> firstLine;
    for (const Assignment& a : p.assignments) {
        auto warn = [&](EnvFileIssue issue, std::string message) {
            out.warnings.push_back({a.line, a.key, issue, std::move(message)});
        };
        if (a.openQuote)
            warn(EnvFileIssue::UnterminatedQuote,
                 std::string("the ") + a.openQuote + " quote opened on line " + std::to_string(a.quoteLine) +
                     " is never closed: systemd reads the rest of the file (through line " + std::to_string(a.endLine) +
                     ") into " + printable(a.key));

        if (!validName(a.key)) {
            std::string_view k = a.key;
            if (k.starts_with("export") && k.size() > 6 && (k[6] == ' ' || k[6] == '\t')) {
                std::string_view name = k.substr(7);
                while (!name.empty() && (name[0] == ' ' || name[0] == '\t')) name.remove_prefix(1);
                warn(EnvFileIssue::Export, "systemd ignores this line: \"export\" is shell syntax that EnvironmentFile= "
                                           "does not know (the name would be " + q(k) + "); write " +
                                               printable(name) + "=... without it");
            } else if (k.starts_with("\xef\xbb\xbf")) {
                warn(EnvFileIssue::InvalidName, "systemd ignores this assignment: the file starts with a UTF-8 byte "
                                                "order mark (EF BB BF), which systemd reads as part of the name " +
                                                    q(k.substr(3)));
            } else if (k.starts_with("=")) {
                warn(EnvFileIssue::InvalidName, "systemd ignores this assignment: there is no variable name before \"=\"");
            } else {
                warn(EnvFileIssue::InvalidName, "systemd ignores this assignment: " + q(k) +
                                                    " is not a valid variable name (letters, digits and \"_\", "
                                                    "not starting with a digit)");
            }
            continue;
        }
        if (a.value.size() > kArgMax - 3 || a.key.size() + 1 + a.value.size() > kArgMax - 1) {
            warn(EnvFileIssue::TooLong, "systemd ignores this assignment: it is " +
                                            std::to_string(a.key.size() + 1 + a.value.size()) +
                                            " bytes long, more than systemd accepts (" + std::to_string(kArgMax - 1) + ")");
            out.variables.erase(a.key);  // as systemd: the later, invalid assignment replaced the earlier one
            continue;
        }

        if (auto [it, fresh] = firstLine.emplace(a.key, a.line); !fresh)
            warn(EnvFileIssue::Duplicate, printable(a.key) + " is already set on line " + std::to_string(it->second) +
                                              ": systemd uses the value of this later line");
        if (a.commentAt != npos) warn(EnvFileIssue::TrailingComment, trailingCommentMessage(a.value, a.commentAt));
        if (a.literalQuote)
            warn(EnvFileIssue::QuoteInValue, "systemd keeps the quotes in " + q(a.value) +
                                                 " as they are: quotes only count at the start of the value");
        if (a.joinedAfterQuote && a.commentAt == npos)
            warn(EnvFileIssue::JoinedAfterQuote, "systemd drops the blanks after the closing quote and joins what follows: "
                                                 "the value is " + q(a.value));
        if (a.expansion) warn(EnvFileIssue::NotExpanded, notExpandedMessage(a.value));
        if (!a.openQuote && a.value.find('\n') != npos)
            warn(EnvFileIssue::LineBreakInValue, "the value " + q(a.value) + " spans lines " + std::to_string(a.quoteLine) + "-" +
                                                     std::to_string(a.endLine) + ": the quote opened on line " +
                                                     std::to_string(a.quoteLine) + " closes on line " +
                                                     std::to_string(a.endLine) + ", and systemd keeps the line breaks");
        else if (!a.openQuote && a.value.find('\r') != npos)
            warn(EnvFileIssue::CarriageReturn, "the value " + q(a.value) +
                                                   " contains a carriage return: systemd keeps a CR inside quotes "
                                                   "(CRLF line ends)");
        if (size_t at = findControl(a.value); at != npos) warn(EnvFileIssue::ControlCharacter, controlMessage(a.value, at));
        if (a.key.size() + 1 + a.value.size() >= kMaxArgStrlen)
            warn(EnvFileIssue::TooLongForExec,
                 printable(a.key) + "=... is " + std::to_string(a.key.size() + 1 + a.value.size()) +
                     " bytes: systemd passes it on, but the kernel refuses to start a process with an environment "
                     "string longer than " + std::to_string(kMaxArgStrlen - 1) + " bytes (E2BIG), so iops-limitd "
                     "would not start");
        out.variables[a.key] = a.value;
    }
    out.warnings.insert(out.warnings.end(), p.lineWarnings.begin(), p.lineWarnings.end());
    std::stable_sort(out.warnings.begin(), out.warnings.end(),
                     [](const EnvFileWarning& a, const EnvFileWarning& b) { return a.line < b.line; });
    return out;
}

Environment parseEnvironmentFile(std::string_view text) { return parseEnvFile(text).variables; }

}  // namespace iopslimit::core
