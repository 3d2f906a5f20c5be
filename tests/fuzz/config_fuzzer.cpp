// The environment file (/etc/default/iops-limit, read by systemd's EnvironmentFile=) and the
// configuration built from it. parseEnvironmentFile must take any bytes (env_file_fuzzer checks
// the reading itself); parseConfig must give a config that keeps its promises or an error naming
// the variable; checkStartupEnvironment only ever warns about variables parseConfig reads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/quantity.h"
#include "fuzz_check.h"

using namespace iopslimit::core;
using iopslimit::fuzz::escaped;

namespace {

// The file as systemd would read it back: every value double-quoted, '\' and '"' escaped.
std::string render(const Environment& env) {
    std::string out;
    for (const auto& [k, v] : env) {
        out += k + "=\"";
        for (char c : v) {
            if (c == '\\' || c == '"') out += '\\';
            out += c;
        }
        out += "\"\n";
    }
    return out;
}

void checkConfig(const Environment& env, std::string_view hostname) {
    Result<Config> r = parseConfig(env, hostname);
    if (!r) {
        FUZZ_CHECK(!r.error().message.empty(), "error without a message");
        return;
    }
    const Config& c = *r;
    FUZZ_CHECK(!c.nodeName.empty(), "empty node name");
    FUZZ_CHECK(!c.dataMounts.empty(), "no data mount");
    for (const auto& m : c.dataMounts) FUZZ_CHECK(!m.empty() && m[0] == '/', "data mount \"%s\"", escaped(m).c_str());
    for (uint64_t v : {c.defaults.readIops, c.defaults.writeIops, c.defaults.readBps, c.defaults.writeBps})
        FUZZ_CHECK(v <= kMaxLimitValue, "default limit %llu", static_cast<unsigned long long>(v));
    FUZZ_CHECK(c.checkIntervalSec >= 1 && c.checkIntervalSec <= 86400, "CHECK_INTERVAL %u", c.checkIntervalSec);
    FUZZ_CHECK(c.kubelet.port >= 1 && c.kubelet.port <= 65535, "KUBELET_PORT %u", c.kubelet.port);
    FUZZ_CHECK(!c.kubelet.host.empty(), "empty KUBELET_HOST");
    FUZZ_CHECK(c.httpConnectTimeoutMs <= c.httpTimeoutMs && c.httpTimeoutMs >= 1000, "timeouts %u/%u",
               c.httpConnectTimeoutMs, c.httpTimeoutMs);
    FUZZ_CHECK(c.watchStallSec >= 1, "WATCH_STALL_TIMEOUT %ld", c.watchStallSec);
    FUZZ_CHECK(!c.cgroupRoot.empty() && c.cgroupRoot[0] == '/', "CGROUP_ROOT \"%s\"", escaped(c.cgroupRoot).c_str());
    FUZZ_CHECK(c.stateDirectory.find(':') == std::string::npos, "STATE_DIRECTORY \"%s\"",
               escaped(c.stateDirectory).c_str());
    FUZZ_CHECK(c.kubelet.clientCertPath.empty() == c.kubelet.clientKeyPath.empty(), "client cert without key");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    Environment env = parseEnvironmentFile(text);
    for (const auto& [k, v] : env) FUZZ_CHECK(!k.empty(), "empty key");
    // What was read, written back quoted, reads the same.
    std::string again = render(env);
    Environment back = parseEnvironmentFile(again);
    FUZZ_CHECK(back == env, "re-reading the quoted form changes the environment: \"%s\"", escaped(again).c_str());

    checkConfig(env, "Fuzz-Host.Example");
    checkConfig(env, "");
    for (const auto& w : checkStartupEnvironment(env)) {
        bool ours = false;
        for (const auto& v : configVariables()) ours |= w.key == v.name;
        FUZZ_CHECK(ours && env.count(w.key) && !w.message.empty(), "startup warning about \"%s\"", escaped(w.key).c_str());
    }
    return 0;
}
