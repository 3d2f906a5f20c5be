#pragma once
// Environment files (/etc/default/iops-limit, /etc/sysconfig/iops-limit) read exactly as systemd 252
// reads them for EnvironmentFile=, so that `systemctl reload` sees what a start sees, plus warnings
// for what an operator probably did not mean.
//
// The format is systemd's, not the shell's (systemd v252 src/basic/env-file.c,
// parse_env_file_internal + load_env_file; src/core/execute.c exec_context_load_environment;
// src/basic/env-util.c strv_env_clean_with_callback). Every rule below is checked against the real
// systemd 252 by the samples in tests/data/envfiles (expected.json is what systemd reported):
// - Comments: '#' or ';' as the first non-blank character of a line only. Elsewhere they are
//   value text: "A=x  # note" sets A to "x  # note".
// - "KEY=VALUE"; blanks (space, tab, CR, LF) before the key, around '=' and at the end of an
//   unquoted value are dropped. A line without '=' is ignored. "KEY=" sets KEY to "".
// - Quotes count only where a value starts or right after a closing quote: 'single' is literal
//   (backslashes and line breaks included); in "double" a backslash escapes " \ ` $ and a line
//   break, and stays in front of any other character ("\n" is backslash + n). Quoted parts and
//   text after them are joined, blanks between them dropped ("a" "b" is "ab"). A quote inside
//   unquoted text is an ordinary character (foo"bar" stays foo"bar"). A quote never closed takes
//   the rest of the file into the value.
// - Outside quotes a backslash escapes the next character; backslash + line break joins lines.
//   In a comment a backslash escapes the next character too, so a comment ending in '\' also
//   swallows the next line (systemd 252; 254 and later read that line, see systemd commit
//   cd93ec5ed2).
// - CR is a line break like LF. No $VAR expansion, no `export`: "export A=1" has the name
//   "export A", which is invalid, so systemd ignores the line (and logs it).
// - Names: [A-Za-z_][A-Za-z0-9_]*; an assignment with another name is ignored (and logged). The
//   last assignment of a name wins. Values may hold control characters and line breaks.
// - The whole file is refused (EnvironmentFile=- skips it; without '-' the unit fails with
//   result "resources") if it holds a NUL byte anywhere, if a name or value of an assignment is not
//   valid UTF-8 as systemd defines it (no overlong forms, surrogates, code points above U+10FFFF,
//   U+FDD0..U+FDEF or U+xxFFFE/U+xxFFFF), or if it is larger than 64 MiB.
// - An assignment longer than ARG_MAX of PID 1 (2 MiB with the default 8 MiB stack) is ignored;
//   one longer than 131071 bytes passes systemd, but the kernel then refuses to start the process
//   (execve: E2BIG), so the service does not start.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace iopslimit::core {

using Environment = std::map<std::string, std::string>;

enum class EnvFileIssue {
    TrailingComment,    // unquoted '#' or ';' after a blank (or first): kept in the value
    QuoteInValue,       // a quote inside unquoted text: kept literally
    JoinedAfterQuote,   // blanks after a closing quote dropped, what follows joined to the value
    LineBreakInValue,   // the value holds a line break (a quote open across a line end)
    CarriageReturn,     // the value holds a CR (CRLF line ends inside quotes)
    ControlCharacter,   // another control character in the value
    NotExpanded,        // $NAME, ${NAME} or `command` outside single quotes: kept as text
    UnterminatedQuote,  // a quote still open at the end of the file: the rest of the file is the value
    Export,             // "export NAME=...": ignored by systemd
    InvalidName,        // not a valid variable name: ignored by systemd
    NoAssignment,       // a line without '=': ignored by systemd
    CommentContinued,   // swallowed by the comment before it, which ends in '\' (systemd < 254)
    Duplicate,          // set again: the last value is used
    TooLongForExec,     // KEY=VALUE longer than 131071 bytes: the service cannot start
    TooLong,            // longer than systemd accepts: ignored
    FileRejected,       // NUL byte, invalid UTF-8 or > 64 MiB: systemd refuses the whole file
};

struct EnvFileWarning {
    unsigned line = 0;   // 1-based line (counting LF) where the assignment or line starts; 0 = not from a file
    std::string key;     // the name as written (may be invalid, even empty)
    EnvFileIssue issue = EnvFileIssue::TrailingComment;
    std::string message; // one sentence: what systemd does with it, e.g. "systemd keeps \"  # batch
                         // jobs\" in the value ...; comments are only recognised at the start of a line"
    bool operator==(const EnvFileWarning&) const = default;
};

struct EnvFileContents {
    Environment variables;                 // exactly what systemd passes to the service from this file
    bool rejected = false;                 // systemd refuses the whole file (variables is then empty)
    std::vector<EnvFileWarning> warnings;  // by line
};

// The text of one environment file, any bytes. Several files: merge their variables in the
// order of the EnvironmentFile= lines, later files win (as systemd does).
EnvFileContents parseEnvFile(std::string_view text);

// parseEnvFile(text).variables: the former API, kept until every caller logs the warnings.
Environment parseEnvironmentFile(std::string_view text);

// The checks of parseEnvFile that still make sense once systemd has parsed the file and quoting
// is gone: KEY's value has a '#' or ';' after a blank or first (a trailing comment systemd kept),
// a line break, a CR or another control character, $NAME, ${NAME} or a backtick. line is 0. Used on the daemon's own
// environment at start (checkStartupEnvironment in config.h picks the variables it reads).
std::vector<EnvFileWarning> checkEnvironmentValue(const std::string& key, const std::string& value);

// Human form of an issue: "trailing-comment", "export", ... (for tests and logs).
std::string_view envFileIssueName(EnvFileIssue issue);

}  // namespace iopslimit::core
