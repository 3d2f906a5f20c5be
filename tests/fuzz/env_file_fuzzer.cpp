// Environment files as systemd 252 reads them (core::parseEnvFile): any bytes. Checks what
// systemd guarantees about what it passes on, the round trip through systemd's own writer, and,
// for files a plain line split can read (no quotes, backslashes or CR), agreement with that
// simple reading.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/env_file.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

namespace {

bool validName(std::string_view k) {
    if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
    for (char c : k)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

// systemd's write_env_var() (src/basic/env-file.c): quoted when the value has a control character,
// a blank or a character the shell treats specially; " \ ` $ escaped inside the quotes.
std::string writeEnvFile(const Environment& env) {
    std::string out;
    for (const auto& [k, v] : env) {
        bool quote = false;
        for (unsigned char c : v)
            quote |= c < 0x20 || c == 0x7f || std::string_view(" \t\n\r\"\\`$*?[]'()<>|&;!").find(static_cast<char>(c)) !=
                                                  std::string_view::npos;
        out += k + "=";
        if (!quote) {
            out += v;
        } else {
            out += '"';
            for (char c : v) {
                if (c == '"' || c == '\\' || c == '`' || c == '$') out += '\\';
                out += c;
            }
            out += '"';
        }
        out += '\n';
    }
    return out;
}

bool isBlank(char c) { return c == ' ' || c == '\t'; }

// A reading by plain line splitting; only right where the file has no quote, backslash or CR.
Environment simpleReading(std::string_view text) {
    Environment env;
    iopslimit::fuzz::forEachLine(text, [&](std::string_view line) {
        while (!line.empty() && isBlank(line.front())) line.remove_prefix(1);
        if (line.empty() || line[0] == '#' || line[0] == ';') return;
        size_t eq = line.find('=');
        if (eq == std::string_view::npos) return;
        std::string_view k = line.substr(0, eq), v = line.substr(eq + 1);
        while (!k.empty() && isBlank(k.back())) k.remove_suffix(1);
        while (!v.empty() && isBlank(v.front())) v.remove_prefix(1);
        while (!v.empty() && isBlank(v.back())) v.remove_suffix(1);
        if (validName(k)) env[std::string(k)] = std::string(v);
    });
    return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    EnvFileContents got = parseEnvFile(text);
    FUZZ_CHECK(parseEnvironmentFile(text) == got.variables, "parseEnvironmentFile differs from parseEnvFile");

    unsigned lines = 1;
    for (char c : text) lines += c == '\n';
    unsigned prev = 0;
    for (const auto& w : got.warnings) {
        FUZZ_CHECK(!w.message.empty(), "warning without a message");
        FUZZ_CHECK(w.line <= lines, "warning on line %u of %u", w.line, lines);
        FUZZ_CHECK(w.line >= prev, "warnings out of order: %u after %u", w.line, prev);
        prev = w.line;
        FUZZ_CHECK((w.issue == EnvFileIssue::FileRejected) == got.rejected, "%s warning, rejected=%d",
                   std::string(envFileIssueName(w.issue)).c_str(), got.rejected);
    }
    if (text.find('\0') != std::string_view::npos) FUZZ_CHECK(got.rejected, "a file with a NUL byte was read");
    if (got.rejected) {
        FUZZ_CHECK(got.variables.empty() && got.warnings.size() == 1, "a refused file has variables or several warnings");
        return 0;
    }

    // What systemd passes on: valid names; values systemd accepted (a file of them reads again).
    for (const auto& [k, v] : got.variables) {
        FUZZ_CHECK(validName(k), "invalid name \"%s\"", escaped(k).c_str());
        FUZZ_CHECK(v.find('\0') == std::string::npos, "NUL in the value of %s", k.c_str());
    }
    // systemd's writer and reader agree (its TEST(write_and_load_env_file)).
    std::string again = writeEnvFile(got.variables);
    EnvFileContents back = parseEnvFile(again);
    FUZZ_CHECK(!back.rejected && back.variables == got.variables, "written as systemd writes it, reads differently: \"%s\"",
               escaped(again).c_str());

    if (text.find_first_of("'\"\\\r") == std::string_view::npos)
        FUZZ_CHECK(simpleReading(text) == got.variables, "a file without quotes, backslashes or CR read unlike its lines");
    return 0;
}
