#pragma once
// One logging facade: journald with structured fields when stderr is connected to the journal
// (JOURNAL_STREAM), plain lines on stderr otherwise. Messages read "Failed to <verb> <object>: <error>".
#include <initializer_list>
#include <string>
#include <string_view>

namespace iopslimit::daemon::log {

enum class Level { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

struct Field {
    std::string_view key;  // journald field name: POD_NAMESPACE, POD_NAME, POD_UID, CONTAINER_ID, …
    std::string value;
};

void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
inline void error(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Error, m, f); }
inline void warning(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Warning, m, f); }
inline void notice(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Notice, m, f); }
inline void info(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Info, m, f); }
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Debug, m, f); }

void setVerbose(bool verbose);  // debug lines shown

}  // namespace iopslimit::daemon::log
