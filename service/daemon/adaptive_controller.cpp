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
    log::info("Adaptive limits on: a data disk whose pods all waited for IO (kubepods PSI full), or where a container at "
              "or below its fair share waited for IO (its PSI some), " + std::to_string(static_cast<int>(cfg_.pressure)) +
              " % of a " + std::to_string(cfg_.window.count()) + " s window or more, tightens the containers above their fair share");
    windowStart_ = {};
    timer_ = loop_.addTimer(std::chrono::milliseconds(0), [this] { endWindow(); });
}

void AdaptiveController::stop() {
    if (timer_) loop_.cancelTimer(timer_);
    timer_ = 0;
    fullUsec_.reset();
    busyMs_.clear();
    counters_.clear();
    someUsec_.clear();
    latest_.clear();
}

std::optional<core::Pressure> AdaptiveController::pressure(std::string& of) const {
    const auto& g = setup_->cgroups;
    if (g.version == core::CgroupVersion::V2) {
        auto text = host::readFile(g.hierarchy + "/" + core::kubepodsCgroup(g.layout) + "/" + core::files::kIoPressure);
        if (text)
            if (auto p = core::parsePressure(*text)) {
                of = "kubepods";
                return *p;
            }
    }
    auto text = host::readFile(setup_->cfg.procRoot + "/pressure/io");
    if (!text) return std::nullopt;
    auto p = core::parsePressure(*text);
    if (!p) return std::nullopt;
    of = "system";
    return *p;
}

void AdaptiveController::endWindow() {
    timer_ = loop_.addTimer(cfg_.window, [this] { endWindow(); });
    auto now = clock_.now();
    std::string of;
    auto psi = pressure(of);
    if (!psi && pressureKnown_)
        log::warning("Adaptive limits: no IO pressure to read (kubepods io.pressure, /proc/pressure/io: is PSI on?); "
                     "only containers' own pressure can show a contended disk");
    pressureKnown_ = psi.has_value();
    std::map<core::DevNum, uint64_t> busy;
    for (const auto& d : setup_->devices)
        if (auto ms = busyMsOf(setup_->cfg.sysRoot, d.name)) busy[d.dev] = *ms;
    const auto& last = engine_.last().containers;
    auto sampled = sampleContainers(last, setup_->cgroups, setup_->devices);
    std::map<std::string, std::map<core::DevNum, core::IoCounters>> next;
    std::map<std::string, uint64_t> nextSome;
    for (const auto& io : sampled) {
        if (io.error.empty()) next[io.id] = io.devices;
        if (io.pressure) nextSome[io.id] = io.pressure->someTotalUsec;
    }
    if (windowStart_ != Clock::Steady::time_point{}) {
        const double seconds = std::chrono::duration<double>(now - windowStart_).count();
        std::optional<double> full;  // unknown where PSI is missing, or its source changed (kubepods appeared)
        if (psi && fullUsec_ && fullUsec_->first == of) full = core::stallShare(fullUsec_->second, psi->fullTotalUsec, seconds);
        latest_.clear();
        for (const auto& d : setup_->devices) {
            core::DiskWindow w{d.dev, d.name, full.value_or(0), full.has_value(), full ? of : "", 0};
            auto b = busy.find(d.dev);
            auto a = busyMs_.find(d.dev);
            if (b != busy.end() && a != busyMs_.end() && b->second >= a->second && seconds > 0)
                w.utilisation = std::min(100.0, static_cast<double>(b->second - a->second) / (seconds * 10));
            latest_.push_back(w);
        }
        std::vector<core::ContainerUse> uses;
        for (const auto& st : last) {
            const auto& e = st.entry;
            auto now_ = next.find(e.containerId.id);
            auto then = counters_.find(e.containerId.id);
            if (now_ == next.end() || then == counters_.end()) continue;
            std::optional<double> waited;
            auto s1 = nextSome.find(e.containerId.id), s0 = someUsec_.find(e.containerId.id);
            if (s1 != nextSome.end() && s0 != someUsec_.end()) waited = core::stallShare(s0->second, s1->second, seconds);
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
                u.pressure = waited;
                uses.push_back(std::move(u));
            }
        }
        auto changes = engine_.adaptiveStep(cfg_, clock_.wallNow(), latest_, uses);
        if (!changes.empty() && changed_) changed_(changes);
    }
    counters_ = std::move(next);
    someUsec_ = std::move(nextSome);
    busyMs_ = std::move(busy);
    fullUsec_.reset();
    if (psi) fullUsec_.emplace(of, psi->fullTotalUsec);
    windowStart_ = now;
}

}  // namespace iopslimit::daemon
