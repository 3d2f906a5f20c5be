#include "core/adaptive.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/annotations.h"
#include "core/quantity.h"

namespace iopslimit::core {

namespace {

constexpr double kActiveIops = 1.0;        // a container doing less is idle for the fair share
constexpr double kActiveBps = 4096.0;

uint64_t roundUp(double v) { return v <= 0 ? 0 : static_cast<uint64_t>(std::ceil(v)); }

std::string percent(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f %%", v);
    return buf;
}

std::string rateText(double v, bool bytes) {
    if (!bytes) return std::to_string(roundUp(v)) + " IOPS";
    return formatBytes(roundUp(v)) + "/s";
}

// The tighter of two limits of one direction, 0 meaning none.
uint64_t tighter(uint64_t a, uint64_t b) { return !a ? b : !b ? a : std::min(a, b); }

bool doesIo(const ContainerUse& c) {
    return c.rates.readIops + c.rates.writeIops >= kActiveIops || c.rates.readBps + c.rates.writeBps >= kActiveBps;
}

// Does it do at least `factor` of the limit in some direction (0 = no limit there)?
bool presses(const IoRates& r, const Limits& l, double factor) {
    const double rate[4] = {r.readIops, r.writeIops, r.readBps, r.writeBps};
    for (int d = 0; d < 4; ++d) {
        uint64_t v = limitOf(l, static_cast<Direction>(d));
        if (v && rate[d] >= factor * static_cast<double>(v)) return true;
    }
    return false;
}

}  // namespace

std::string_view adaptiveKindName(AdaptiveChange::Kind k) {
    switch (k) {
        case AdaptiveChange::Kind::Tighten: return "tighten";
        case AdaptiveChange::Kind::Loosen: return "loosen";
        case AdaptiveChange::Kind::Release: return "release";
        case AdaptiveChange::Kind::Forget: return "forget";
    }
    return "tighten";
}

Limits tighterOf(const Limits& s, const Limits& a) {
    return Limits{tighter(s.readIops, a.readIops), tighter(s.writeIops, a.writeIops), tighter(s.readBps, a.readBps),
                  tighter(s.writeBps, a.writeBps)};
}

size_t expireAdaptive(AdaptiveState& state, AdaptiveClock::time_point now) {
    return std::erase_if(state.entries, [&](const auto& kv) { return kv.second.expires <= now; });
}

std::vector<AdaptiveChange> adaptiveStep(AdaptiveState& state, const AdaptiveConfig& cfg, AdaptiveClock::time_point now,
                                         const std::vector<DiskWindow>& disks,
                                         const std::vector<ContainerUse>& containers) {
    std::vector<AdaptiveChange> changes;
    std::map<std::string, const ContainerUse*> byId;
    for (const auto& c : containers) byId.emplace(c.id, &c);
    for (auto it = state.entries.begin(); it != state.entries.end();) {
        if (byId.count(it->first)) {
            ++it;
            continue;
        }
        changes.push_back({AdaptiveChange::Kind::Forget, it->first, "", it->second.limits, Limits{}, "container gone"});
        it = state.entries.erase(it);
    }
    const bool bytesDims[2] = {false, true};
    // PSI is not per disk: where the pods did IO on more than one data disk in the window, the
    // pods' full stall cannot say which disk they waited for, so then only each disk's victims
    // decide for it.
    // Likewise a container's own stall: it speaks for a disk only where that is the one data disk
    // it did IO on.
    size_t disksInUse = 0;
    std::map<std::string, int> disksOf;  // by container ID
    for (const auto& disk : disks) {
        bool used = false;
        for (const auto& c : containers)
            if (c.dev == disk.dev && doesIo(c)) {
                used = true;
                ++disksOf[c.id];
            }
        disksInUse += used;
    }
    for (const auto& disk : disks) {
        std::vector<const ContainerUse*> users;
        double totalIops = 0, totalBps = 0;
        int active = 0;
        for (const auto& c : containers) {
            if (c.dev != disk.dev) continue;
            users.push_back(&c);
            totalIops += c.rates.readIops + c.rates.writeIops;
            totalBps += c.rates.readBps + c.rates.writeBps;
            active += doesIo(c);
        }
        // Victims: containers doing IO on the disk at or below their fair share, not held by us.
        // Their own PSI (io.pressure some: the share of the window one of their tasks waited for
        // IO) says whether the disk starves them; the throttle stalls the containers it holds,
        // which PSI counts too, so those never speak for the disk, and neither does one pressing
        // against its own static limit (stalled by that throttle), nor one that also did IO on
        // another data disk (its stall could be from there).
        const double fairIops = active ? totalIops / active : 0, fairBps = active ? totalBps / active : 0;
        bool holding = false, victimsKnown = false;
        double victims = 0;
        const ContainerUse* starved = nullptr;
        for (const auto* c : users) {
            if (state.entries.count(c->id)) {
                holding = true;
                continue;
            }
            double iops = c->rates.readIops + c->rates.writeIops, bps = c->rates.readBps + c->rates.writeBps;
            if (!doesIo(*c) || iops > fairIops || bps > fairBps || !c->pressure) continue;
            if (disksOf[c->id] > 1 || presses(c->rates, c->staticLimits, cfg.factor)) continue;
            victimsKnown = true;
            if (!starved || *c->pressure > victims) {
                victims = *c->pressure;
                starved = c;
            }
        }
        // Contended: every pod task waited at once (kubepods full), or a victim waits; once we hold
        // someone, only the victims decide.
        const bool allWait = disk.pressureKnown && disk.pressure >= cfg.pressure && disksInUse <= 1;
        const bool victimWaits = victimsKnown && victims >= cfg.pressure;
        bool contended = cfg.on && active >= 2 && ((holding && victimsKnown) ? victimWaits : (allWait || victimWaits));
        std::string why;
        if (contended) {
            const std::string busy = " (busy " + percent(disk.utilisation) + ")";
            if (allWait && !(holding && victimsKnown))
                why = "disk " + disk.name + " " + (disk.pressureOf.empty() ? "" : disk.pressureOf + " ") + "full pressure " +
                      percent(disk.pressure) + " of the last " + std::to_string(cfg.window.count()) + " s" + busy;
            else
                why = "disk " + disk.name + ": " + starved->label + " waited for IO " + percent(victims) + " of the last " +
                      std::to_string(cfg.window.count()) + " s" + busy;
        }
        if (contended) {
            state.lastContended[disk.dev] = now;
            for (auto& [id, e] : state.entries)  // held while the contention lasts
                if (e.dev == disk.dev) e.expires = now + cfg.cooldown;
            const double fair[2] = {totalIops / active, totalBps / active};
            const double total[2] = {totalIops, totalBps};
            struct Candidate {
                const ContainerUse* c;
                double share;  // of the disk's throughput, the larger of IOPS and bytes/s
            };
            std::vector<Candidate> over;
            for (const auto* c : users) {
                if (!c->eligible) continue;
                double use[2] = {c->rates.readIops + c->rates.writeIops, c->rates.readBps + c->rates.writeBps};
                double share = 0;
                for (int d = 0; d < 2; ++d)
                    if (use[d] > fair[d] && total[d] > 0) share = std::max(share, use[d] / total[d]);
                if (share > 0) over.push_back({c, share});
            }
            std::sort(over.begin(), over.end(), [](const Candidate& a, const Candidate& b) { return a.share > b.share; });
            for (const auto& [c, share] : over) {
                AdaptiveEntry& e = state.entries[c->id];
                AdaptiveEntry before = e;
                double use[2] = {c->rates.readIops + c->rates.writeIops, c->rates.readBps + c->rates.writeBps};
                std::string what;
                for (int dim = 0; dim < 2; ++dim) {
                    if (use[dim] <= fair[dim]) continue;
                    const bool bytes = bytesDims[dim];
                    const Direction dirs[2] = {bytes ? ReadBps : ReadIops, bytes ? WriteBps : WriteIops};
                    const double rates[2] = {bytes ? c->rates.readBps : c->rates.readIops,
                                             bytes ? c->rates.writeBps : c->rates.writeIops};
                    std::string limited;
                    for (int k = 0; k < 2; ++k) {
                        if (rates[k] < (bytes ? kActiveBps : kActiveIops)) continue;
                        uint64_t floor = bytes ? cfg.floorBps : cfg.floorIops;
                        uint64_t v = std::max(floor, roundUp(cfg.factor * rates[k]));
                        v = tighter(v, limitOf(c->staticLimits, dirs[k]));  // never above the static limit
                        v = tighter(v, limitOf(e.limits, dirs[k]));         // steps only go down while contended
                        limitRef(e.limits, dirs[k]) = v;
                        limited += (limited.empty() ? "" : ", ") + std::string(directionName(dirs[k])) + " " +
                                   (bytes ? formatBytes(v) : std::to_string(v));
                    }
                    if (limited.empty()) continue;
                    what += "; " + rateText(use[dim], bytes) + " = " + percent(100.0 * use[dim] / total[dim]) +
                            " of the disk; limited to " + limited;
                }
                e.dev = disk.dev;
                e.expires = now + cfg.cooldown;
                if (what.empty() || e.limits == before.limits) {
                    if (before.limits.unlimited() && e.limits.unlimited()) state.entries.erase(c->id);
                    continue;  // at its floor or static limit already: nothing to change
                }
                e.reason = why + what;
                changes.push_back({AdaptiveChange::Kind::Tighten, c->id, c->label, before.limits, e.limits, e.reason});
            }
            continue;
        }
        // No contention: after the cooldown, step back up towards the static limit.
        auto last = state.lastContended.find(disk.dev);
        if (last != state.lastContended.end() && now - last->second < cfg.cooldown) continue;
        for (auto it = state.entries.begin(); it != state.entries.end();) {
            AdaptiveEntry& e = it->second;
            if (e.dev != disk.dev) {
                ++it;
                continue;
            }
            const ContainerUse* c = byId[it->first];
            IoRates rates;  // on this disk (none where it did no IO on it)
            for (const auto& u : containers)
                if (u.id == it->first && u.dev == disk.dev) rates = u.rates;
            const double rateOf[4] = {rates.readIops, rates.writeIops, rates.readBps, rates.writeBps};
            Limits before = e.limits;
            for (int d = 0; d < 4; ++d) {
                auto dir = static_cast<Direction>(d);
                uint64_t v = limitOf(e.limits, dir);
                if (!v) continue;
                uint64_t up = std::max(v + 1, roundUp(static_cast<double>(v) / cfg.factor));
                uint64_t cap = limitOf(c->staticLimits, dir);
                // Dropped once the container no longer presses against it, or at the static limit.
                if (rateOf[d] < cfg.factor * static_cast<double>(v) || (cap && up >= cap)) up = 0;
                limitRef(e.limits, dir) = up;
            }
            e.expires = now + cfg.cooldown;
            if (e.limits.unlimited()) {
                changes.push_back({AdaptiveChange::Kind::Release, it->first, c->label, before, Limits{},
                                   "disk " + disk.name + " not contended for " +
                                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(cfg.cooldown).count()) +
                                       " s: back to the static limit"});
                it = state.entries.erase(it);
                continue;
            }
            e.reason = "disk " + disk.name + " not contended since the cooldown: loosening step by step";
            changes.push_back({AdaptiveChange::Kind::Loosen, it->first, c->label, before, e.limits, e.reason});
            ++it;
        }
    }
    return changes;
}

}  // namespace iopslimit::core
