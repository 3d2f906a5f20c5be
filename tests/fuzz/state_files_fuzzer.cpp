// The daemon's state files: the input is written as overrides.json and as decisions.json in a
// scratch directory and loaded. A file is either accepted (and stays) or reported and moved
// aside; loading never throws or crashes. An accepted file must survive the store's own
// save -> load cycle unchanged, or the next restart would throw it away.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/state_store.h"
#include "fuzz_check.h"

using namespace iopslimit;
using iopslimit::fuzz::escaped;

namespace {

std::string scratch;

// Entries of the scratch directory whose name starts with prefix; the first one in *first.
int countEntries(std::string_view prefix, std::string* first = nullptr) {
    int n = 0;
    DIR* d = ::opendir(scratch.c_str());
    if (!d) return -1;
    while (dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        if (name.substr(0, prefix.size()) != prefix) continue;
        if (first && !n) *first = std::string(name);
        ++n;
    }
    ::closedir(d);
    return n;
}

bool clearDir(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return false;
    while (dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        ::unlink((dir + "/" + e->d_name).c_str());
    }
    ::closedir(d);
    return true;
}

void clearScratch() {
    if (!clearDir(scratch)) {
        std::perror(scratch.c_str());
        std::abort();
    }
}

void writeFile(const std::string& path, const uint8_t* data, size_t size) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
        std::perror(path.c_str());
        std::abort();
    }
}

// Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF). jsoncpp reads
// any bytes inside a string but writes invalid sequences as U+FFFD, so only valid text can be
// expected to survive a save/load cycle byte for byte.
bool validUtf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 9;
        if (n == 9 || i + n >= s.size()) return false;
        unsigned cp = n == 0 ? c : c & (0x3f >> n);
        for (size_t k = 1; k <= n; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += n + 1;
    }
    return true;
}

bool exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

// Accepted stays, rejected is moved aside with a message.
void checkOutcome(const std::string& message, const std::string& path, std::string_view name) {
    std::string aside;
    int corrupt = countEntries(std::string(name) + ".corrupt-", &aside);
    if (message.empty()) {
        FUZZ_CHECK(exists(path) && corrupt == 0, "%s accepted but not left in place", std::string(name).c_str());
    } else {
        FUZZ_CHECK(!exists(path) && corrupt == 1, "%s rejected (%s) but not moved aside", std::string(name).c_str(),
                   message.c_str());
    }
}

void overrides(const uint8_t* data, size_t size) {
    clearScratch();
    daemon::OverrideStore store(scratch);
    writeFile(store.path(), data, size);
    std::string message = store.load();
    checkOutcome(message, store.path(), "overrides.json");
    if (!message.empty()) {
        FUZZ_CHECK(store.all().empty(), "rejected file left overrides in force");
        return;
    }
    auto loaded = store.all();
    bool text = true;
    for (const auto& [key, l] : loaded) text = text && validUtf8(key);
    if (!text) return;
    // Saving (any set() rewrites the whole file) and loading again keeps every override.
    core::Limits mine{1, 2, 3, 4};
    auto st = store.set("fuzz-ns", "fuzz-pod", mine);
    FUZZ_CHECK(st.ok(), "set failed: %s", st ? "" : st.error().message.c_str());
    loaded["fuzz-ns/fuzz-pod"] = mine;
    daemon::OverrideStore again(scratch);
    std::string message2 = again.load();
    FUZZ_CHECK(message2.empty(), "a file the store wrote is rejected: %s\n  it read: %s", message2.c_str(),
               escaped(std::string_view(reinterpret_cast<const char*>(data), size)).c_str());
    FUZZ_CHECK(again.all() == loaded, "overrides changed across save/load (%zu before, %zu after)", loaded.size(),
               again.all().size());
}

void decisions(const uint8_t* data, size_t size) {
    clearScratch();
    daemon::DecisionCacheStore store(scratch);
    writeFile(store.path(), data, size);
    daemon::EngineMemory memory;
    memory.decisions["stale"] = {};
    memory.ours["stale"] = {};
    std::string message = store.load(memory);
    checkOutcome(message, store.path(), "decisions.json");
    if (!message.empty()) {
        FUZZ_CHECK(memory.decisions.empty() && memory.ours.empty() && memory.adaptive.entries.empty(),
                   "rejected file left decisions, ours or adaptive limits");
        return;
    }
    bool text = true;
    for (const auto& [id, d] : memory.decisions) {
        FUZZ_CHECK(!id.empty(), "decision with an empty container ID");
        text = text && validUtf8(id) && validUtf8(d.ns) && validUtf8(d.pod);
    }
    for (const auto& [id, o] : memory.ours) text = text && validUtf8(id);
    for (const auto& [id, a] : memory.adaptive.entries) text = text && validUtf8(id) && validUtf8(a.reason);
    if (!text) return;
    // A fresh store writes what it was given (nothing was written by it yet); loading reads it back.
    daemon::DecisionCacheStore writer(scratch);
    auto st = writer.save(memory);
    FUZZ_CHECK(st.ok(), "save failed: %s", st ? "" : st.error().message.c_str());
    daemon::DecisionCacheStore reader(scratch);
    daemon::EngineMemory back;
    std::string message2 = reader.load(back);
    FUZZ_CHECK(message2.empty(), "a file the store wrote is rejected: %s", message2.c_str());
    FUZZ_CHECK(back == memory, "decisions changed across save/load (%zu before, %zu after)", memory.decisions.size(),
               back.decisions.size());
}

// Scratch directories are named after the fuzzer's PID; a crashed run cannot clean up after
// itself, so the next one removes directories whose process is gone.
void removeStale(const std::string& base) {
    DIR* d = ::opendir(base.c_str());
    if (!d) return;
    constexpr std::string_view kPrefix = "iopslimit-fuzz-state.";
    while (dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name.substr(0, kPrefix.size()) != kPrefix) continue;
        long pid = std::strtol(e->d_name + kPrefix.size(), nullptr, 10);
        if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
        std::string dir = base + "/" + std::string(name);
        if (clearDir(dir)) ::rmdir(dir.c_str());
    }
    ::closedir(d);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // tmpfs when there is one: several file writes per input.
    const char* tmp = std::getenv("TMPDIR");
    std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp");
    removeStale(base);
    scratch = base + "/iopslimit-fuzz-state." + std::to_string(::getpid());
    if (::mkdir(scratch.c_str(), 0700) != 0 && errno != EEXIST) {
        std::perror(scratch.c_str());
        std::abort();
    }
    std::atexit([] {
        if (clearDir(scratch)) ::rmdir(scratch.c_str());
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    overrides(data, size);
    decisions(data, size);
    return 0;
}
