#include "daemon/log.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace iopslimit::daemon::log {

namespace {

bool gVerbose = false;
std::mutex gMutex;

// systemd sets JOURNAL_STREAM=<dev>:<ino> for the stream it connected to stderr (systemd.exec(5)).
bool stderrIsJournal() {
    static const bool value = [] {
        const char* js = std::getenv("JOURNAL_STREAM");
        if (!js) return false;
        unsigned long long dev = 0, ino = 0;
        if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
        struct stat st;
        if (fstat(STDERR_FILENO, &st) != 0) return false;
        return st.st_dev == dev && st.st_ino == ino;
    }();
    return value;
}

}  // namespace

void setVerbose(bool verbose) { gVerbose = verbose; }

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
    if (level == Level::Debug && !gVerbose) return;
    if (stderrIsJournal()) {
        std::vector<std::string> items;
        items.reserve(fields.size() + 3);
        items.push_back("MESSAGE=" + std::string(message));
        items.push_back("PRIORITY=" + std::to_string(static_cast<int>(level)));
        items.push_back("SYSLOG_IDENTIFIER=iops-limitd");
        for (const auto& f : fields)
            if (!f.value.empty()) items.push_back(std::string(f.key) + "=" + f.value);
        std::vector<iovec> iov;
        iov.reserve(items.size());
        for (auto& s : items) iov.push_back({s.data(), s.size()});
        if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0) return;
    }
    // <N> prefixes let journald or a log collector keep the level of plain stderr lines.
    std::lock_guard lock(gMutex);
    std::string line;
    if (std::getenv("INVOCATION_ID")) line = "<" + std::to_string(static_cast<int>(level)) + ">";
    line += message;
    line += '\n';
    ::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace iopslimit::daemon::log
