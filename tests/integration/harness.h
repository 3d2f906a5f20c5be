#pragma once
// Shared pieces of the integration tier: temp trees, child processes, the loopback kubelet/API
// emulator (tests/tools/kube_emulator.py) with openssl-made certificates, and fake /proc + /sys
// trees that give iops-limitd a data disk without touching the host's mounts.
#include <fcntl.h>
#include <json/json.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_tree.h"

extern char** environ;

namespace testing_support {

namespace fs = std::filesystem;

struct RunResult {
    int exitCode = -1;
    std::string out, err;
};

// Runs argv with the given environment additions (the test's own environment minus the
// iops-limitd variables, so the host's settings never leak in), capturing stdout and stderr.
// The environment for a child: the test's own minus what would leak into it (systemd's
// notify/journal variables and anything env sets), plus env.
inline std::vector<std::string> childEnvironment(const std::map<std::string, std::string>& env) {
    std::vector<std::string> out;
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        std::string k = kv.substr(0, kv.find('='));
        if (env.count(k) || k == "NOTIFY_SOCKET" || k == "JOURNAL_STREAM" || k == "INVOCATION_ID") continue;
        out.push_back(kv);
    }
    for (const auto& [k, v] : env) out.push_back(k + "=" + v);
    return out;
}

inline RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                     const fs::path& scratch) {
    std::vector<std::string> envStrings = childEnvironment(env);
    std::vector<char*> envp, args;
    for (auto& s : envStrings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argvCopy = argv;
    for (auto& s : argvCopy) args.push_back(s.data());
    args.push_back(nullptr);

    fs::path outPath = scratch / "run.out", errPath = scratch / "run.err";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    RunResult r;
    if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), envp.data()) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return r;
    }
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    waitpid(pid, &status, 0);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = readText(outPath);
    r.err = readText(errPath);
    return r;
}

inline std::string shellQuote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline std::string sh(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
}

// Certificates are made once per test binary run.
inline const fs::path& certDir() {
    static TempDir dir;
    static bool made = [] {
        std::string cmd = "bash " + shellQuote(std::string(IOPSLIMIT_TOOLS) + "/make_certs.sh") + " " +
                          shellQuote(dir.path().string()) + " 2>&1";
        std::string out = sh(cmd);
        if (!fs::exists(dir.path() / "client.key")) throw std::runtime_error("make_certs.sh failed: " + out);
        return true;
    }();
    (void)made;
    return dir.path();
}

// The loopback kubelet + API-server emulator, over HTTPS with a client certificate and a token.
class Emulator {
public:
    struct Options {
        std::string podsFile;
        bool requireClientCert = true;
        bool requireToken = true;
        std::string kubeletMode = "normal";
        std::string apiMode = "normal";
        double delay = 10;
        std::string namespacesFile = "";  // a NamespaceList served at /api/v1/namespaces, if set
    };

    explicit Emulator(Options o) : opt_(std::move(o)) {
        const fs::path& c = certDir();
        std::vector<std::string> argv = {"/usr/bin/python3", std::string(IOPSLIMIT_TOOLS) + "/kube_emulator.py",
                                         "--pods", opt_.podsFile, "--cert", (c / "server.crt").string(), "--key",
                                         (c / "server.key").string(), "--port-file", (dir_.path() / "port").string(),
                                         "--control-port-file", (dir_.path() / "cport").string(), "--kubelet-mode",
                                         opt_.kubeletMode, "--api-mode", opt_.apiMode, "--delay",
                                         std::to_string(opt_.delay)};
        if (opt_.requireClientCert) argv.insert(argv.end(), {"--client-ca", (c / "ca.crt").string()});
        if (!opt_.namespacesFile.empty()) argv.insert(argv.end(), {"--namespaces", opt_.namespacesFile});
        if (opt_.requireToken) argv.insert(argv.end(), {"--token", (c / "token").string()});
        std::vector<char*> args;
        for (auto& s : argv) args.push_back(s.data());
        args.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 2, (dir_.path() / "emulator.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
        if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0)
            throw std::runtime_error("cannot start kube_emulator.py");
        posix_spawn_file_actions_destroy(&fa);
        for (int i = 0; i < 200 && !fs::exists(dir_.path() / "port"); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        if (!fs::exists(dir_.path() / "port"))
            throw std::runtime_error("emulator did not start: " + readText(dir_.path() / "emulator.log"));
        port_ = std::stoi(readText(dir_.path() / "port"));
        controlPort_ = std::stoi(readText(dir_.path() / "cport"));
    }
    ~Emulator() {
        kill(pid_, SIGTERM);
        int st;
        waitpid(pid_, &st, 0);
    }
    int port() const { return port_; }
    std::string baseUrl() const { return "https://127.0.0.1:" + std::to_string(port_); }
    // POST to the control API, e.g. control("/mode?kubelet=403").
    std::string control(const std::string& pathAndQuery, const std::string& body = "") const {
        return sh("curl -s -X POST --data-binary " + shellQuote(body) + " " +
                  shellQuote("http://127.0.0.1:" + std::to_string(controlPort_) + pathAndQuery));
    }
    std::string stats() const { return sh("curl -s http://127.0.0.1:" + std::to_string(controlPort_) + "/stats"); }
    std::string log() const { return readText(dir_.path() / "emulator.log"); }

    // The kubelet variables iops-limitd needs to reach this emulator with full credentials.
    std::map<std::string, std::string> kubeletEnv() const {
        const fs::path& c = certDir();
        return {{"KUBELET_HOST", "127.0.0.1"},
                {"KUBELET_PORT", std::to_string(port_)},
                {"KUBELET_CA_PATH", (c / "ca.crt").string()},
                {"KUBELET_CLIENT_CERT_PATH", (c / "client.crt").string()},
                {"KUBELET_CLIENT_KEY_PATH", (c / "client.key").string()},
                {"KUBELET_TOKEN_PATH", (c / "token").string()}};
    }

private:
    Options opt_;
    TempDir dir_;
    pid_t pid_ = -1;
    int port_ = 0, controlPort_ = 0;
};

// A fake /proc/self/mountinfo + /sys/dev/block: DATA_MOUNT=/data on partition nvme0n1p1 (259:1)
// of disk nvme0n1 (259:0), the layout of a typical cloud node.
inline void makeFakeDisk(const fs::path& root) {
    writeText(root / "proc/self/mountinfo",
              "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
              "90 22 259:1 / /data rw,noatime shared:40 - xfs /dev/nvme0n1p1 rw,attr2\n");
    fs::path disk = root / "sys/devices/pci0000:00/nvme/nvme0/nvme0n1";
    writeText(disk / "dev", "259:0\n");
    writeText(disk / "nvme0n1p1/dev", "259:1\n");
    writeText(disk / "nvme0n1p1/partition", "1\n");
    writeText(root / "sys/devices/virtual/block/vda/dev", "254:0\n");
    fs::create_directories(root / "sys/dev/block");
    fs::create_symlink("../../devices/pci0000:00/nvme/nvme0/nvme0n1/nvme0n1p1", root / "sys/dev/block/259:1");
    fs::create_symlink("../../devices/pci0000:00/nvme/nvme0/nvme0n1", root / "sys/dev/block/259:0");
    fs::create_symlink("../../devices/virtual/block/vda", root / "sys/dev/block/254:0");
}

// Running containers of a PodList and their cgroup paths, computed independently of
// service/core so a naming bug there cannot hide.
struct Ctr {
    std::string ns, pod, uid, qos, name, id;
};

inline Json::Value loadJson(const std::string& path) {
    Json::Value v;
    std::ifstream in(path);
    in >> v;
    return v;
}

inline std::vector<Ctr> runningContainers(const Json::Value& list) {
    std::vector<Ctr> out;
    for (const auto& p : list["items"]) {
        std::string qos = p["status"]["qosClass"].asString();
        for (char& c : qos) c = static_cast<char>(std::tolower(c));
        for (const char* field : {"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"}) {
            for (const auto& c : p["status"][field]) {
                if (!c["state"].isMember("running")) continue;
                std::string raw = c["containerID"].asString();
                out.push_back({p["metadata"]["namespace"].asString(), p["metadata"]["name"].asString(),
                               p["metadata"]["uid"].asString(), qos, c["name"].asString(),
                               raw.substr(raw.find("://") + 3)});
            }
        }
    }
    return out;
}

// Written independently of service/core so a naming bug there cannot hide.
inline std::string cgroupOf(const Ctr& c, bool systemd) {
    if (systemd) {
        std::string uid = c.uid;
        for (char& ch : uid)
            if (ch == '-') ch = '_';
        std::string pod = c.qos == "guaranteed" ? "kubepods.slice/kubepods-pod" + uid + ".slice"
                                                : "kubepods.slice/kubepods-" + c.qos + ".slice/kubepods-" + c.qos +
                                                      "-pod" + uid + ".slice";
        return pod + "/cri-containerd-" + c.id + ".scope";
    }
    return c.qos == "guaranteed" ? "kubepods/pod" + c.uid + "/" + c.id : "kubepods/" + c.qos + "/pod" + c.uid + "/" + c.id;
}

}  // namespace testing_support

namespace testing_support {

// A long-running child process (stdout/stderr to files), stopped with SIGTERM.
class Process {
public:
    Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, const fs::path& logDir,
            const std::string& name)
        : out_(logDir / (name + ".out")), err_(logDir / (name + ".err")) {
        std::vector<std::string> envStrings = childEnvironment(env);
        std::vector<char*> envp, args;
        for (auto& s : envStrings) envp.push_back(s.data());
        envp.push_back(nullptr);
        std::vector<std::string> a = argv;
        for (auto& s : a) args.push_back(s.data());
        args.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data()) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    ~Process() { stop(); }
    // SIGTERM, then the exit code (or 128+signal).
    int stop(int sig = SIGTERM) {
        if (pid_ <= 0) return exit_;
        kill(pid_, sig);
        int st = 0;
        for (int i = 0; i < 100; ++i) {
            if (waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                exit_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                return exit_;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
        pid_ = -1;
        exit_ = 137;
        return exit_;
    }
    bool running() {
        if (pid_ <= 0) return false;
        int st;
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
            pid_ = -1;
            exit_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return false;
        }
        return true;
    }
    pid_t pid() const { return pid_; }
    std::string err() const { return readText(err_); }
    std::string out() const { return readText(out_); }

private:
    fs::path out_, err_;
    pid_t pid_ = -1;
    int exit_ = -1;
};

template <typename F>
bool waitFor(F&& cond, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
}

}  // namespace testing_support
