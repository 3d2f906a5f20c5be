// Environment files as systemd 252 reads EnvironmentFile=. The expectations are not ours: every
// sample in tests/data/envfiles is checked against what the real systemd gave a service started
// with it (expected.json, recorded by tests/tools/envfile_expectations.sh and re-checked against
// systemd by tests/system/env_file_systemd_test.sh), and systemd's own unit test cases are checked
// against the assertions of that test. The warnings are ours and are pinned by a table.
#include "core/env_file.h"

#include "core/config.h"

#include <gtest/gtest.h>
#include <json/json.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace iopslimit::core {
namespace {

const std::string kDir = std::string(IOPSLIMIT_TEST_DATA) + "/envfiles";

std::string readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const Json::Value& expectations() {
    static const Json::Value doc = [] {
        Json::Value v;
        Json::CharReaderBuilder b;
        std::string errs;
        std::ifstream in(kDir + "/expected.json", std::ios::binary);
        EXPECT_TRUE(Json::parseFromStream(b, in, &v, &errs)) << errs;
        return v;
    }();
    return doc;
}

std::vector<std::string> sampleNames() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(kDir))
        if (e.path().extension() == ".env") out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

uint64_t fnv1a64(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325u;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3u;
    return h;
}

std::string hexOf(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) (out += hex[c >> 4]) += hex[c & 0xf];
    return out;
}

// The recorded value: a string, {"hex": ...} or {"length", "fnv1a64", "head"} (see the generator).
void expectSameValue(const Json::Value& want, const std::string& got, const std::string& where) {
    if (want.isString()) {
        EXPECT_EQ(got, want.asString()) << where;
    } else if (want.isMember("hex")) {
        EXPECT_EQ(hexOf(got), want["hex"].asString()) << where;
    } else {
        EXPECT_EQ(got.size(), want["length"].asUInt64()) << where;
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(got)));
        EXPECT_EQ(buf, want["fnv1a64"].asString()) << where;
        EXPECT_EQ(got.substr(0, 40), want["head"].asString()) << where;
    }
}

TEST(EnvFileSamples, EverySampleHasSystemdsAnswer) {
    const Json::Value& samples = expectations()["samples"];
    std::vector<std::string> recorded = samples.getMemberNames();
    std::sort(recorded.begin(), recorded.end());
    EXPECT_EQ(sampleNames(), recorded) << "run tests/tools/envfile_expectations.sh (as root) after adding a sample";
    EXPECT_GE(recorded.size(), 40u);
    EXPECT_EQ(expectations()["systemd"].asString().rfind("systemd 252 ", 0), 0u) << expectations()["systemd"];
}

TEST(EnvFileSamples, VariablesAreWhatSystemdGaveTheService) {
    const Json::Value& samples = expectations()["samples"];
    for (const std::string& name : sampleNames()) {
        SCOPED_TRACE(name);
        const Json::Value& want = samples[name];
        ASSERT_TRUE(want.isObject());
        EnvFileContents got = parseEnvFile(readBytes(kDir + "/" + name));
        const std::string result = want["result"].asString();
        std::string log;
        for (const auto& l : want["log"]) log += l.asString() + "\n";

        if (result == "resources") {
            // systemd refused the file: the unit did not start; with EnvironmentFile=- it started
            // without any of the file's variables.
            EXPECT_TRUE(got.rejected);
            EXPECT_TRUE(got.variables.empty());
            EXPECT_NE(log.find("Failed to load environment files"), std::string::npos) << log;
            EXPECT_EQ(want["dash_result"].asString(), "success");
            EXPECT_TRUE(want["variables"].isObject() && want["variables"].empty()) << want["variables"];
            ASSERT_EQ(got.warnings.size(), 1u);
            EXPECT_EQ(got.warnings[0].issue, EnvFileIssue::FileRejected);
            continue;
        }
        EXPECT_FALSE(got.rejected) << (got.warnings.empty() ? "" : got.warnings[0].message);
        if (result == "exit-code") {
            // The file was read, the command could not run: execve() refused the environment.
            EXPECT_EQ(want["exec_status"].asInt(), 203);
            EXPECT_NE(log.find("Argument list too long"), std::string::npos) << log;
            bool warned = false;
            for (const auto& w : got.warnings) warned |= w.issue == EnvFileIssue::TooLongForExec;
            EXPECT_TRUE(warned);
            continue;
        }
        ASSERT_EQ(result, "success");
        const Json::Value& vars = want["variables"];
        std::set<std::string> wantKeys, gotKeys;
        for (const auto& k : vars.getMemberNames()) wantKeys.insert(k);
        for (const auto& [k, v] : got.variables) gotKeys.insert(k);
        EXPECT_EQ(gotKeys, wantKeys);
        for (const auto& k : vars.getMemberNames())
            if (got.variables.count(k)) expectSameValue(vars[k], got.variables.at(k), name + ": " + k);
    }
}

// Where systemd logs "Ignoring invalid environment assignment 'K=V'", we warn that the line is
// ignored (export, invalid name, too long), and nowhere else.
TEST(EnvFileSamples, IgnoredAssignmentsAreTheOnesSystemdLogged) {
    const std::string prefix = "Ignoring invalid environment assignment '";
    const Json::Value& samples = expectations()["samples"];
    size_t logged = 0;
    for (const std::string& name : sampleNames()) {
        SCOPED_TRACE(name);
        EnvFileContents got = parseEnvFile(readBytes(kDir + "/" + name));
        std::vector<std::string> ignoredBySystemd;
        for (const auto& l : samples[name]["log"]) {
            std::string line = l.asString();
            if (line.rfind(prefix, 0) == 0) ignoredBySystemd.push_back(line.substr(prefix.size()));
        }
        std::vector<std::string> ignoredByUs;
        for (const auto& w : got.warnings)
            if (w.issue == EnvFileIssue::Export || w.issue == EnvFileIssue::InvalidName || w.issue == EnvFileIssue::TooLong)
                ignoredByUs.push_back(w.key);
        ASSERT_EQ(ignoredByUs.size(), ignoredBySystemd.size());
        for (size_t i = 0; i < ignoredByUs.size(); ++i)
            EXPECT_EQ(ignoredBySystemd[i].rfind(ignoredByUs[i] + "=", 0), 0u) << ignoredBySystemd[i];
        logged += ignoredBySystemd.size();
    }
    EXPECT_EQ(logged, 11u);  // names.env 9, issue-example.env 1, bom.env 1
}

// Our warnings, line by line. The facts in them (what systemd keeps, ignores or refuses) are the
// ones the two tests above check against systemd; which of them deserve a warning is our call.
TEST(EnvFileSamples, Warnings) {
    using I = EnvFileIssue;
    using W = std::tuple<unsigned, std::string, EnvFileIssue>;
    const std::vector<std::pair<std::string, std::vector<W>>> table = {
        {"issue-example.env", {{3, "EXCLUDE_NAMESPACES", I::TrailingComment}, {4, "export DATA_MOUNT", I::Export}}},
        {"basics.env",
         {{3, "TRAILING_COMMENT", I::TrailingComment},
          {4, "TAB_COMMENT", I::TrailingComment},
          {6, "HASH_FIRST", I::TrailingComment},
          {18, "NO_EQUALS", I::NoAssignment},
          {19, "NO_EQUALS_TRAILING_SPACES", I::NoAssignment},
          {20, "=starts-with-equals", I::NoAssignment},
          {22, "DUP", I::Duplicate},
          {25, "SEMICOLON_AFTER_SPACE", I::TrailingComment}}},
        {"quotes.env",
         {{8, "QUOTED_THEN_COMMENT", I::TrailingComment},
          {10, "QUOTE_IN_MIDDLE", I::QuoteInValue},
          {11, "SINGLE_IN_MIDDLE", I::QuoteInValue},
          {13, "TWO_QUOTED", I::JoinedAfterQuote},
          {14, "QUOTED_SPACE_TEXT", I::JoinedAfterQuote},
          {19, "MULTILINE_DOUBLE", I::LineBreakInValue},
          {21, "MULTILINE_SINGLE", I::LineBreakInValue}}},
        {"escapes.env",
         {{21, "DOLLAR", I::NotExpanded}, {22, "DOLLAR_BRACES", I::NotExpanded}, {23, "BACKTICKS", I::NotExpanded}}},
        {"continuation.env",
         {{13, "SQ_CONT", I::LineBreakInValue},
          {15, "CONT_THEN_HASH", I::TrailingComment},
          {20, "COMMENT_SWALLOWED", I::CommentContinued},
          {26, "SEMICOLON_SWALLOWED", I::CommentContinued}}},
        {"names.env",
         {{2, "export EXPORTED", I::Export},
          {3, "export\tEXPORTED_TAB", I::Export},
          {4, "export EXPORTED_AGAIN", I::Export},
          {6, "1A", I::InvalidName},
          {7, "A-B", I::InvalidName},
          {8, "A.B", I::InvalidName},
          {9, "A B", I::InvalidName},
          {10, "\xc3\x84RGER", I::InvalidName},
          {11, "\"QUOTED_KEY\"", I::InvalidName}}},
        {"crlf.env", {{8, "CRLF_DQ_CONT", I::LineBreakInValue}, {10, "CRLF_MULTILINE", I::LineBreakInValue}}},
        {"no-final-newline.env", {}},
        {"eof-single-quote.env", {{2, "OPEN", I::UnterminatedQuote}}},
        {"eof-double-quote.env", {{2, "OPEN", I::UnterminatedQuote}}},
        {"eof-double-quote-escape.env", {{2, "OPEN", I::UnterminatedQuote}}},
        {"eof-backslash.env", {}},
        {"eof-key.env", {{2, "NO_VALUE_AT_EOF", I::NoAssignment}}},
        {"eof-empty-value.env", {}},
        {"empty.env", {}},
        {"bom.env", {{1, "\xef\xbb\xbf" "BOM_FIRST", I::InvalidName}}},
        {"unicode.env",
         {{6, "NEL", I::ControlCharacter},
          {7, "ESC", I::ControlCharacter},
          {8, "DEL", I::ControlCharacter},
          {9, "VTAB", I::ControlCharacter},
          {10, "FORMFEED_TRAILING", I::ControlCharacter},
          {11, "BELL_IN_QUOTES", I::ControlCharacter}}},
        {"utf8-ignored-places.env", {{2, "NO_EQUALS_\xe9", I::NoAssignment}}},
        {"invalid-utf8-value.env", {{2, "BAD", I::FileRejected}}},
        {"invalid-utf8-key.env", {{2, "K\xc9Y", I::FileRejected}}},
        {"invalid-utf8-invalid-name.env", {{2, "export BAD", I::FileRejected}}},
        {"invalid-utf8-quoted.env", {{2, "BAD", I::FileRejected}}},
        {"noncharacter.env", {{2, "NONCHAR", I::FileRejected}}},
        {"noncharacter-fdd0.env", {{2, "NONCHAR", I::FileRejected}}},
        {"surrogate.env", {{2, "SURROGATE", I::FileRejected}}},
        {"overlong.env", {{2, "OVERLONG", I::FileRejected}}},
        {"above-unicode.env", {{2, "ABOVE", I::FileRejected}}},
        {"nul.env", {{2, "", I::FileRejected}}},
        {"nul-in-comment.env", {{1, "", I::FileRejected}}},
        {"long-line.env", {}},
        {"too-long-for-exec.env", {{2, "TOO_LONG", I::TooLongForExec}}},
        {"systemd-env-file-1.env", {{2, "a", I::Duplicate}, {3, "a", I::Duplicate}, {4, "a", I::Duplicate}}},
        {"systemd-env-file-2.env", {}},
        {"systemd-env-file-3.env",
         {{3, "normal", I::CommentContinued},
          {5, "normal_ignored", I::CommentContinued},
          {6, "normal ignored", I::CommentContinued}}},
        {"systemd-env-file-4.env", {}},
        {"systemd-env-file-5.env", {}},
        {"systemd-env-file-6.env", {{2, "b", I::QuoteInValue}, {3, "c", I::LineBreakInValue}, {5, "d", I::LineBreakInValue}}},
        {"systemd-invalid-utf8-1.env", {{1, "fo\xef\xbf\xbeo", I::FileRejected}}},
        {"systemd-invalid-utf8-2.env", {{1, "foo", I::FileRejected}}},
        {"systemd-invalid-utf8-3.env", {{1, "baz", I::FileRejected}}},
    };
    std::set<std::string> covered;
    for (const auto& [name, want] : table) {
        SCOPED_TRACE(name);
        covered.insert(name);
        EnvFileContents got = parseEnvFile(readBytes(kDir + "/" + name));
        std::vector<W> have;
        for (const auto& w : got.warnings) {
            have.emplace_back(w.line, w.key, w.issue);
            EXPECT_FALSE(w.message.empty());
        }
        EXPECT_EQ(have, want);
        if (have != want)
            for (const auto& w : got.warnings)
                ADD_FAILURE() << w.line << " " << w.key << " " << envFileIssueName(w.issue) << ": " << w.message;
    }
    for (const auto& name : sampleNames()) EXPECT_TRUE(covered.count(name)) << name << " has no row in the table";
}

// systemd's own cases, with the assertions of its test: systemd/systemd-stable v252.31
// src/test/test-env-file.c, TEST(load_env_file_1) ... TEST(load_env_file_6) and
// TEST(load_env_file_invalid_utf8). The strings are that file's macros env_file_1 ... env_file_6.
TEST(EnvFileSystemdUpstream, LoadEnvFileAssertions) {
    struct Case {
        const char* name;
        std::string text;
        Environment want;
    };
    const std::vector<Case> cases = {
        {"env_file_1",
         "a=a\n" "a=b\n" "a=b\n" "a=a\n" "b=b\\\n" "c\n" "d= d\\\n" "e  \\\n" "f  \n" "g=g\\ \n"
         "h= ąęół\\ śćńźżµ \n" "i=i\\",
         {{"a", "a"}, {"b", "bc"}, {"d", "de  f"}, {"g", "g "}, {"h", "ąęół śćńźżµ"}, {"i", "i"}}},
        {"env_file_2", "a=a\\\n", {{"a", "a"}}},
        {"env_file_3",
         "#SPAMD_ARGS=\"-d --socketpath=/var/lib/bulwark/spamd \\\n"
         "#--nouser-config                                     \\\n"
         "normal=line                                          \\\n"
         ";normal=ignored                                      \\\n"
         "normal_ignored                                       \\\n"
         "normal ignored                                       \\\n",
         {}},  // v252: data == NULL (v254 changed this case, commit cd93ec5ed2)
        {"env_file_4",
         "# Generated\n" "\n" "HWMON_MODULES=\"coretemp f71882fg\"\n" "\n" "# For compatibility reasons\n" "\n"
         "MODULE_0=coretemp\n" "MODULE_1=f71882fg",
         {{"HWMON_MODULES", "coretemp f71882fg"}, {"MODULE_0", "coretemp"}, {"MODULE_1", "f71882fg"}}},
        {"env_file_5", "a=\n" "b=", {{"a", ""}, {"b", ""}}},
        {"env_file_6",
         "a=\\ \\n \\t \\x \\y \\' \n" "b= \\$'                  \n" "c= ' \\n\\t\\$\\`\\\\\n" "'   \n"
         "d= \" \\n\\t\\$\\`\\\\\n" "\"   \n",
         {{"a", " n t x y '"}, {"b", "$'"}, {"c", " \\n\\t\\$\\`\\\\\n"}, {"d", " \\n\\t$`\\\n"}}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        EnvFileContents got = parseEnvFile(c.text);
        EXPECT_FALSE(got.rejected);
        EXPECT_EQ(got.variables, c.want);
    }
    // load_env_file() == -EINVAL for each.
    for (const char* s : {"fo\ufffeo=bar", "foo=b\uffffar", "baz=hello world\ufffe"}) {
        SCOPED_TRACE(s);
        EnvFileContents got = parseEnvFile(s);
        EXPECT_TRUE(got.rejected);
        EXPECT_TRUE(got.variables.empty());
    }
}

// systemd's UTF-8 rules (src/basic/utf8.c utf8_encoded_valid_unichar, unichar_is_valid), at their
// edges. The samples prove the rule with the real systemd for Latin-1, an overlong form, a
// surrogate, U+110000, U+FDD0, U+FFFE and U+FFFF; the rest follows from the same two functions.
TEST(EnvFileUtf8, ValueMustBeValidAsSystemdDefinesIt) {
    const std::vector<std::string> valid = {
        "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xb7\x8f",
        "\xef\xb7\xb0", "\xef\xbf\xbd", "\xf0\x90\x80\x80", "\xf0\x9f\xbf\xbd", "\xf4\x8f\xbf\xbd",
    };
    const std::vector<std::string> invalid = {
        "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xf0\x80\x80\x80",
        "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xef\xb7\x90", "\xef\xb7\xaf", "\xef\xbf\xbe",
        "\xef\xbf\xbf", "\xf0\x9f\xbf\xbe", "\xf0\x9f\xbf\xbf", "\xf4\x8f\xbf\xbe", "\xf4\x8f\xbf\xbf",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", "\xfe",
        "\xff", "\xe2\x82", "\xe2\x82" "A", "\xc3",
    };
    for (const auto& v : valid) {
        SCOPED_TRACE(hexOf(v));
        for (const std::string& text : {"A=" + v + "\n", "A=" + v, "A='" + v + "'\n"}) {
            EnvFileContents got = parseEnvFile(text);
            EXPECT_FALSE(got.rejected);
            EXPECT_EQ(got.variables, (Environment{{"A", v}}));
        }
    }
    for (const auto& v : invalid) {
        SCOPED_TRACE(hexOf(v));
        for (const std::string& text : {"A=" + v + "\n", "A=" + v, "A=\"" + v + "\"\n", v + "=1\n", "B=1\n" + v + "B=2\n"}) {
            EnvFileContents got = parseEnvFile(text);
            EXPECT_TRUE(got.rejected);
            EXPECT_TRUE(got.variables.empty());
        }
        // In a comment or a line without '=', systemd never looks at it.
        EnvFileContents comment = parseEnvFile("# " + v + "\nA=1\n" + v + "\n");
        EXPECT_FALSE(comment.rejected);
        EXPECT_EQ(comment.variables, (Environment{{"A", "1"}}));
    }
}

TEST(EnvFileWarnings, TheIssuesLineSaysWhatSystemdDoes) {
    EnvFileContents got = parseEnvFile(readBytes(kDir + "/issue-example.env"));
    EXPECT_EQ(got.variables, (Environment{{"CONTAINER_IOPS_LIMIT", "500"},
                                          {"EXCLUDE_NAMESPACES", "kube-system,batch  # batch jobs"},
                                          {"CONTAINER_READ_BPS_LIMIT", "100Mi"}}));
    ASSERT_EQ(got.warnings.size(), 2u);
    EXPECT_EQ(got.warnings[0].message,
              "systemd keeps \"  # batch jobs\" in the value; comments are only recognised at the start of a line");
    EXPECT_EQ(got.warnings[1].message,
              "systemd ignores this line: \"export\" is shell syntax that EnvironmentFile= does not know (the name "
              "would be \"export DATA_MOUNT\"); write DATA_MOUNT=... without it");
    EXPECT_EQ(parseEnvironmentFile(readBytes(kDir + "/issue-example.env")), got.variables);
}

TEST(EnvFileWarnings, MessagesNameWhatSystemdDoes) {
    struct Case {
        std::string text;
        std::string want;  // a part of the first warning's message
    };
    const std::vector<Case> cases = {
        {"A=x # y\n", "systemd keeps \" # y\" in the value"},
        {"A= # y\n", "the value is \"# y\": systemd keeps it"},
        {"export A=1\n", "write A=... without it"},
        {"A-B=1\n", "\"A-B\" is not a valid variable name"},
        {"A\n", "systemd ignores this line: it has no \"=\""},
        {"=x\n", "there is no variable name before \"=\""},
        {"A=1\nA=2\n", "A is already set on line 1: systemd uses the value of this later line"},
        {"A='x\nB=1\n", "the ' quote opened on line 1 is never closed: systemd reads the rest of the file (through line 2) into A"},
        {"A=\"x\ny\"\n", "spans lines 1-2"},
        {"# c \\\nB=1\n", "systemd 252 ignores this line: it continues the comment above, whose line 1 ends in \"\\\""},
        {"A=\"x\" y\n", "the value is \"xy\""},
        {"A=a\"b\"\n", "systemd keeps the quotes in \"a\\\"b\\\"\""},
        {"A=$B\n", "the value is literally \"$B\""},
        {"A=x\x1b\n", "the control character \"\\x1b\""},
        {"A=\"x\r\"\n", "contains a carriage return"},
        {std::string("A=1\0\n", 5), "the file contains a NUL byte on line 1: systemd refuses the whole file"},
        {"A=1\nB=\xff\n", "invalid UTF-8 in the value of B on line 2 (\"\\xff\"): systemd refuses the whole file"},
        {"\xff=1\n", "invalid UTF-8 in the name \"\\xff\" on line 1: systemd refuses the whole file"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        EnvFileContents got = parseEnvFile(c.text);
        ASSERT_FALSE(got.warnings.empty());
        EXPECT_NE(got.warnings[0].message.find(c.want), std::string::npos) << got.warnings[0].message;
    }
    // Nothing to say about what a shell and systemd read alike.
    for (const char* ok : {"A=1\n", "A=a#b\n", "A=\"x # y\"\n", "A='$B'\n", "A=\\$B\n", "A=\"\\$B\"\n", "A=a \\# b\n",
                           "# comment\n; comment\n\n", "A = 1\n", "A=\"a\"b\n", "A=x\\\ny\n", "A=$\n", "A=a;b\n",
                           "A=\"it's\"\n", "A=\"a\tb\"\n"}) {
        SCOPED_TRACE(ok);
        EXPECT_TRUE(parseEnvFile(ok).warnings.empty()) << parseEnvFile(ok).warnings[0].message;
    }
}

TEST(EnvFileWarnings, AssignmentsLongerThanSystemdAcceptsAreIgnored) {
    const std::string huge(size_t{2} << 20, 'x');  // "A=" + 2 MiB > ARG_MAX - 1
    EnvFileContents alone = parseEnvFile("A=" + huge + "\nB=1\n");
    EXPECT_EQ(alone.variables, (Environment{{"B", "1"}}));
    ASSERT_EQ(alone.warnings.size(), 1u);
    EXPECT_EQ(alone.warnings[0].issue, EnvFileIssue::TooLong);
    // systemd replaces the first A with the second, then drops the invalid one: no A at all.
    EXPECT_EQ(parseEnvFile("A=1\nA=" + huge + "\n").variables, Environment{});
    EXPECT_EQ(parseEnvFile("A=" + huge + "\nA=2\n").variables, (Environment{{"A", "2"}}));
    // Just below systemd's limit: kept, but no process could start with it.
    EnvFileContents big = parseEnvFile("A=" + std::string((size_t{2} << 20) - 4, 'x'));
    ASSERT_EQ(big.variables.size(), 1u);
    ASSERT_EQ(big.warnings.size(), 1u);
    EXPECT_EQ(big.warnings[0].issue, EnvFileIssue::TooLongForExec);
}

TEST(StartupEnvironment, WarnsAboutValuesSystemdKeptButAnOperatorProbablyDidNotMean) {
    using I = EnvFileIssue;
    const Environment env = {
        {"EXCLUDE_NAMESPACES", "kube-system,batch  # batch jobs"},
        {"NODE_NAME", "# set me"},
        {"DATA_MOUNT", "/data\n/mnt"},
        {"KUBELET_HOST", "a\rb"},
        {"CONTAINER_IOPS_LIMIT", "5\x1b"},
        {"KUBELET_TOKEN_PATH", "$STATE/token"},
        {"EXCLUDE_KEYWORDS", "pause ;istio"},
        // nothing to say:
        {"EXCLUDE_REGEXPS", "^kube-.*$,a#b"},
        {"EXCLUDE_LABEL_SELECTOR", "tier in (db),!canary"},
        {"CONTAINER_READ_BPS_LIMIT", "100Mi"},
        {"SOMETHING_ELSE", "x # not ours"},
        {"PATH", "/usr/bin # not ours"},
    };
    std::vector<std::pair<std::string, EnvFileIssue>> have;
    for (const auto& w : checkStartupEnvironment(env)) {
        have.emplace_back(w.key, w.issue);
        EXPECT_EQ(w.line, 0u);
    }
    std::sort(have.begin(), have.end());
    std::vector<std::pair<std::string, EnvFileIssue>> want = {
        {"CONTAINER_IOPS_LIMIT", I::ControlCharacter}, {"DATA_MOUNT", I::LineBreakInValue},
        {"EXCLUDE_KEYWORDS", I::TrailingComment},      {"EXCLUDE_NAMESPACES", I::TrailingComment},
        {"KUBELET_HOST", I::CarriageReturn},           {"KUBELET_TOKEN_PATH", I::NotExpanded},
        {"NODE_NAME", I::TrailingComment},
    };
    EXPECT_EQ(have, want);
    auto w = checkEnvironmentValue("EXCLUDE_NAMESPACES", "kube-system,batch  # batch jobs");
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].message,
              "systemd keeps \"  # batch jobs\" in the value; comments are only recognised at the start of a line");
}

// Start and reload agree: what systemd gives at start (the variables) is what a reload of the same
// file reads, and parseConfig gets the same configuration from both.
TEST(EnvFileSamples, ReloadSeesWhatStartSaw) {
    EnvFileContents file = parseEnvFile(readBytes(kDir + "/issue-example.env"));
    Environment fromSystemd;
    for (const auto& k : expectations()["samples"]["issue-example.env"]["variables"].getMemberNames())
        fromSystemd[k] = expectations()["samples"]["issue-example.env"]["variables"][k].asString();
    EXPECT_EQ(file.variables, fromSystemd);
    auto atStart = parseConfig(fromSystemd, "node");
    auto atReload = parseConfig(file.variables, "node");
    ASSERT_TRUE(atStart.ok() && atReload.ok());
    EXPECT_EQ(atStart->filter.namespaces, atReload->filter.namespaces);
    EXPECT_EQ(atReload->filter.namespaces, (std::vector<std::string>{"kube-system", "batch  # batch jobs"}));
    EXPECT_EQ(atReload->dataMounts, std::vector<std::string>{"/data"});  // the export line is ignored: the default
}

// The file we ship (every variable commented out at its default) reads without a warning, also
// with every variable uncommented, and then gives parseConfig a valid configuration.
TEST(EnvFileSamples, TheShippedFileReadsCleanly) {
    const std::string shipped = readBytes(std::string(IOPSLIMIT_TEST_DATA) + "/../../systemd/iops-limit.env");
    ASSERT_FALSE(shipped.empty());
    EnvFileContents asShipped = parseEnvFile(shipped);
    EXPECT_TRUE(asShipped.variables.empty());
    EXPECT_TRUE(asShipped.warnings.empty());
    std::string active;
    for (size_t i = 0; i < shipped.size();) {
        size_t j = shipped.find('\n', i);
        std::string line = shipped.substr(i, j == std::string::npos ? std::string::npos : j - i + 1);
        if (line.size() > 2 && line[0] == '#' && line[1] >= 'A' && line[1] <= 'Z' && line.find('=') != std::string::npos)
            line.erase(0, 1);
        active += line;
        i = j == std::string::npos ? shipped.size() : j + 1;
    }
    EnvFileContents all = parseEnvFile(active);
    EXPECT_GE(all.variables.size(), 30u);
    for (const auto& w : all.warnings) ADD_FAILURE() << w.line << " " << w.key << ": " << w.message;
    EXPECT_TRUE(checkStartupEnvironment(all.variables).empty());
    auto config = parseConfig(all.variables, "node");
    EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().message);
}

}  // namespace
}  // namespace iopslimit::core
