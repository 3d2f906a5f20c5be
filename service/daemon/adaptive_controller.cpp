#include "daemon/adaptive_controller.h"

#include <sstream>

#include "core/kernel_files.h"
#include "daemon/log.h"
#include "host/cgroup_fs.h"

namespace iopslimit::daemon {

namespace {

// Field 10 of /sys/block/<disk>/stat: milliseconds the disk had IO in flight (Documentation/block/stat.rst).
std::optional<uint64_t> busyMsOf(const std::string& sysRoot, const std::string& disk) {
    auto text = host::readFile(sysRoot + "/block/" + disk + "/stat");
    if (!text) return std::nullopt;
    std::istringstream in(*text);
    uint64_t v = 0;
    for (int i = 0; i < 10; ++i)
        if (!(in >> v)) return std::nullopt;
    return v;
}

}  // namespace

void AdaptiveController::configure(const Setup& setup) {
    stop();
    setup_ = &setup;
    cfg_ = setup.cfg.adaptive;
    if (!cfg_.on) return;
    log::info("Adaptive limits on: a data disk whose pods all wait for IO (kubepods PSI full avg10), or where a container at "
              "or below its fair share waits for IO (its PSI some avg10), " + std::to_string(static_cast<int>(cfg_.pressure)) +
              " % or more for " + std::to_string(cfg_.window.count()) + " s, tightens the containers above their fair share");
    windowStart_ = {};
    timer_ = loop_.addTimer(std::chrono::milliseconds(0), [this] { sample(); });
}

void AdaptiveController::stop() {
    if (timer_) loop_.cancelTimer(timer_);
    timer_ = 0;
    minPressure_.clear();
    busyMs_.clear();
    counters_.clear();
}

std::optional<double> AdaptiveController::pressure(std::string& of) const {
    const auto& g = setup_->cgroups;
    if (g.version == core::CgroupVersion::V2) {
        auto text = host::readFile(g.hierarchy + "/" + core::kubepodsCgroup(g.layout) + "/" + core::files::kIoPressure);
        if (text)
            if (auto p = core::parsePressure(*text)) {
                of = "kubepods";
                return p->fullAvg10;
            }
    }
    auto text = host::readFile(setup_->cfg.procRoot + "/pressure/io");
    if (!text) return std::nullopt;
    auto p = core::parsePressure(*text);
    if (!p) return std::nullopt;
    of = "system";
    return p->fullAvg10;
}

void AdaptiveController::sample() {
    timer_ = loop_.addTimer(std::chrono::seconds(1), [this] { sample(); });
    auto now = clock_.now();
    std::string of;
    auto p = pressure(of);
    if (!p && pressureKnown_)
        log::warning("Adaptive limits: no IO pressure to read (kubepods io.pressure, /proc/pressure/io: is PSI on?); "
                     "no disk counts as contended");
    pressureKnown_ = p.has_value();
    latest_.clear();
    for (const auto& d : setup_->devices) {
        core::DiskWindow w{d.dev, d.name, p.value_or(0), p.has_value(), of, 0};
        auto busy = busyMsOf(setup_->cfg.sysRoot, d.name);
        auto start = busyMs_.find(d.dev);
        if (busy && start != busyMs_.end()) {
            double ms = std::chrono::duration<double, std::milli>(now - start->second.second).count();
            if (ms > 0) w.utilisation = std::min(100.0, 100.0 * static_cast<double>(*busy - start->second.first) / ms);
        }
        latest_.push_back(w);
        if (windowStart_ == Clock::Steady::time_point{}) continue;
        auto [it, fresh] = minPressure_.try_emplace(d.dev, w.minPressure);
        if (!fresh) it->second = std::min(it->second, w.minPressure);
    }
    if (windowStart_ == Clock::Steady::time_point{} || now - windowStart_ >= cfg_.window) endWindow();
}

void AdaptiveController::endWindow() {
    auto now = clock_.now();
    const auto& last = engine_.last().containers;
    auto sampled = sampleContainers(last, setup_->cgroups, setup_->devices);
    std::map<std::string, std::map<core::DevNum, core::IoCounters>> next;
    std::map<std::string, double> pressureOf;
    for (const auto& io : sampled) {
        if (io.error.empty()) next[io.id] = io.devices;
        if (io.pressure) pressureOf[io.id] = io.pressure->someAvg10;
    }
    if (windowStart_ != Clock::Steady::time_point{}) {
        double seconds = std::chrono::duration<double>(now - windowStart_).count();
        std::vector<core::DiskWindow> disks;
        for (const auto& d : setup_->devices) {
            core::DiskWindow w{d.dev, d.name, 0, pressureKnown_, "", 0};
            for (const auto& l : latest_)
                if (l.dev == d.dev) w = l;
            w.minPressure = minPressure_.count(d.dev) ? minPressure_[d.dev] : 0;
            disks.push_back(w);
        }
        std::vector<core::ContainerUse> uses;
        for (const auto& st : last) {
            const auto& e = st.entry;
            auto now_ = next.find(e.containerId.id);
            auto then = counters_.find(e.containerId.id);
            if (now_ == next.end() || then == counters_.end()) continue;
            for (const auto& [dev, after] : now_->second) {
                auto before = then->second.find(dev);
                if (before == then->second.end()) continue;
                core::ContainerUse u;
                u.id = e.containerId.id;
                u.label = e.ns + "/" + e.pod + "/" + e.container;
                u.dev = dev;
                u.rates = core::ratesBetween(before->second, after, seconds);
                u.staticLimits = e.staticLimits;
                u.eligible = e.adaptiveEligible && e.source != core::LimitSource::Excluded;
                if (auto p = pressureOf.find(u.id); p != pressureOf.end()) u.pressure = p->second;
                uses.push_back(std::move(u));
            }
        }
        auto changes = engine_.adaptiveStep(cfg_, clock_.wallNow(), disks, uses);
        if (!changes.empty() && changed_) changed_(changes);
    }
    counters_ = std::move(next);
    minPressure_.clear();
    windowStart_ = now;
    for (const auto& d : setup_->devices)
        if (auto busy = busyMsOf(setup_->cfg.sysRoot, d.name)) busyMs_[d.dev] = {*busy, now};
}

}  // namespace iopslimit::daemon
