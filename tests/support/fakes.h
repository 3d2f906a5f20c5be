#pragma once
// Hand-written recording fakes of the daemon's ports (STYLE.md rule 6): the limit writer, systemd's
// manager, HTTP, pod sources and the clock. Each records what it was asked and can be told to fail.
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/limits.h"
#include "daemon/clock.h"
#include "host/limit_writers.h"
#include "host/systemd_manager.h"
#include "kube/http_client.h"
#include "kube/pod_sources.h"

namespace testing_support {

// Limits kept in memory per (cgroup, device). A cgroup exists while its directory exists under
// `root` (the engine looks for cgroups on disk too), so tests make and remove directories in a
// TempDir and the fake answers ENOENT for a vanished one, as the kernel does.
class FakeLimitWriter : public iopslimit::host::LimitWriter {
public:
    struct Write {
        std::string cgroup;
        iopslimit::core::DevNum dev;
        iopslimit::core::Limits limits;
        iopslimit::host::Stage stage;
    };
    explicit FakeLimitWriter(std::filesystem::path root) : root_(std::move(root)) {}

    iopslimit::core::Result<iopslimit::host::Reading> read(const std::string& cgroup, iopslimit::core::DevNum dev,
                                                           iopslimit::host::Stage) override {
        ++reads;
        if (!std::filesystem::is_directory(root_ / cgroup))
            return iopslimit::core::makeError("cgroup " + cgroup + " is gone", ENOENT);
        if (auto f = failRead.find(cgroup); f != failRead.end())
            return iopslimit::core::makeError("read failed: " + std::string(std::strerror(f->second)), f->second);
        return iopslimit::host::Reading{inForce[{cgroup, dev}], kernelOnly.count({cgroup, dev}) > 0};
    }
    iopslimit::core::Status write(const std::string& cgroup, iopslimit::core::DevNum dev,
                                  const iopslimit::core::Limits& want, const iopslimit::core::Limits&,
                                  iopslimit::host::Stage stage) override {
        if (!std::filesystem::is_directory(root_ / cgroup))
            return iopslimit::core::makeError("cgroup " + cgroup + " is gone", ENOENT);
        if (auto f = failWrite.find(cgroup); f != failWrite.end())
            return iopslimit::core::makeError(std::strerror(f->second), f->second);
        writes.push_back({cgroup, dev, want, stage});
        inForce[{cgroup, dev}] = want;
        kernelOnly.erase({cgroup, dev});
        return iopslimit::core::okStatus();
    }
    std::string describe(const std::string& cgroup) const override { return "fake:" + cgroup; }

    // What is in force, as the kernel would have it.
    std::map<std::pair<std::string, iopslimit::core::DevNum>, iopslimit::core::Limits> inForce;
    // Where read() says the limit is in the file only (a write clears it).
    std::set<std::pair<std::string, iopslimit::core::DevNum>> kernelOnly;
    std::map<std::string, int> failRead, failWrite;  // cgroup -> errno
    std::vector<Write> writes;
    int reads = 0;

private:
    std::filesystem::path root_;
};

// systemd's manager: unit limits in memory, every SetUnitProperties recorded, UnitNew fired by hand.
class FakeSystemdManager : public iopslimit::host::SystemdManager {
public:
    struct Call {
        std::string unit, device;
        iopslimit::core::Limits limits;
    };
    iopslimit::core::Result<iopslimit::core::Limits> unitLimits(const std::string& unit, const std::string& dev) override {
        if (!units.count(unit)) return iopslimit::core::makeError("unit " + unit + " not loaded", ENOENT);
        return units[unit][dev];
    }
    iopslimit::core::Status setUnitLimits(const std::string& unit, const std::string& dev,
                                          const iopslimit::core::Limits& l) override {
        if (failWith) return iopslimit::core::makeError("org.freedesktop.systemd1.Busy: try later", failWith);
        calls.push_back({unit, dev, l});
        units[unit][dev] = l;
        return iopslimit::core::okStatus();
    }
    bool available() override { return true; }
    iopslimit::core::Status watchUnits(std::function<void(const std::string&)> onNew) override {
        announce = std::move(onNew);
        ++subscriptions;
        return iopslimit::core::okStatus();
    }

    std::map<std::string, std::map<std::string, iopslimit::core::Limits>> units;
    std::vector<Call> calls;
    int failWith = 0;
    int subscriptions = 0;
    std::function<void(const std::string&)> announce;  // UnitNew
};

// HTTP: scripted answers per URL prefix (the longest that matches), in order; a body is delivered through onBody in chunks
// when the request streams, as libcurl does. Every request is recorded. Thread-safe (the watch
// thread uses it).
class FakeHttpGetter : public iopslimit::kube::HttpGetter {
public:
    struct Answer {
        long status = 200;
        std::vector<std::string> chunks;  // the body, as delivered
        std::string transportError;       // non-empty: a transport failure instead
    };
    void script(const std::string& urlPrefix, Answer a) {
        std::lock_guard l(m_);
        answers_[urlPrefix].push_back(std::move(a));
    }
    iopslimit::core::Result<iopslimit::kube::HttpResponse> get(const iopslimit::kube::HttpRequest& req) override {
        Answer a;
        {
            std::lock_guard l(m_);
            urls.push_back(req.url);
            std::deque<Answer>* best = nullptr;  // the longest prefix with an answer left
            size_t bestLength = 0;
            for (auto& [prefix, queue] : answers_)
                if (req.url.rfind(prefix, 0) == 0 && !queue.empty() && prefix.size() >= bestLength) {
                    best = &queue;
                    bestLength = prefix.size();
                }
            if (best) {
                a = std::move(best->front());
                best->pop_front();
            } else {
                a.transportError = "connection refused (no scripted answer)";
            }
        }
        if (!a.transportError.empty()) return iopslimit::core::makeError(a.transportError);
        iopslimit::kube::HttpResponse r;
        r.status = a.status;
        for (const auto& c : a.chunks) {
            if (req.onBody && r.status >= 200 && r.status < 300) {
                if (!req.onBody(c)) return r;
            } else {
                r.body += c;
            }
        }
        return r;
    }
    std::vector<std::string> requested() {
        std::lock_guard l(m_);
        return urls;
    }

private:
    std::mutex m_;
    std::map<std::string, std::deque<Answer>> answers_;
    std::vector<std::string> urls;
};

// A pod source that answers what it is told.
class FakePodSource : public iopslimit::kube::PodSource {
public:
    explicit FakePodSource(iopslimit::core::PodSourceKind kind) : kind_(kind) {}
    iopslimit::core::Result<iopslimit::core::PodList> list() override {
        ++calls;
        if (!error.empty()) return iopslimit::core::makeError(error);
        return pods;
    }
    iopslimit::core::PodSourceKind kind() const override { return kind_; }
    void setAbort(std::function<bool()>) override {}

    iopslimit::core::PodList pods;
    std::string error;  // non-empty: list() fails with it
    int calls = 0;

private:
    iopslimit::core::PodSourceKind kind_;
};

// Time that moves only when the test says so.
class FakeClock : public iopslimit::daemon::Clock {
public:
    Steady::time_point now() const override { return steady_; }
    Wall::time_point wallNow() const override { return wall_; }
    void advance(std::chrono::milliseconds d) {
        steady_ += d;
        wall_ += d;
    }

private:
    Steady::time_point steady_{std::chrono::hours(1)};
    Wall::time_point wall_{std::chrono::seconds(1'800'000'000)};
};

}  // namespace testing_support
