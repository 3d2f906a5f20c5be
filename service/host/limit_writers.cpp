#include "host/limit_writers.h"

#include <cerrno>

#include "core/io_lines.h"
#include "host/cgroup_fs.h"
#include "core/kernel_files.h"

namespace iopslimit::host {

namespace files = core::files;

using core::Limits;
using core::makeError;
using core::Result;

namespace {

// A missing limit file in an existing cgroup means the controller is off there, not a vanished cgroup.
core::Error missingFile(const std::string& dir, const core::Error& e, const char* controller) {
    if (e.code == ENOENT && isDirectory(dir))
        return makeError(std::string("the ") + controller + " controller is not enabled for " + dir, ENOTSUP);
    if (e.code == ENOENT) return makeError("cgroup " + dir + " is gone", ENOENT);
    return e;
}

}  // namespace

Result<Reading> IoMaxWriter::read(const std::string& cgroup, core::DevNum dev, Stage) {
    std::string dir = h_ + "/" + cgroup;
    auto text = readFile(dir + "/" + files::kIoMax);
    if (!text) return missingFile(dir, text.error(), "io");
    auto all = core::parseIoMax(*text);
    if (!all) return makeError(dir + "/io.max: " + all.error().message, EINVAL);
    auto it = all->find(dev);
    return Reading{it == all->end() ? Limits{} : it->second};
}

core::Status IoMaxWriter::write(const std::string& cgroup, core::DevNum dev, const Limits& want, const Limits&, Stage) {
    std::string dir = h_ + "/" + cgroup;
    auto st = writeFile(dir + "/" + files::kIoMax, core::renderIoMaxLine(dev, want));
    if (!st) return missingFile(dir, st.error(), "io");
    return st;
}

namespace {

struct BlkioFile {
    const char* name;
    uint64_t Limits::*field;
};
constexpr BlkioFile kBlkioFiles[] = {
    {files::kBlkioReadIops, &Limits::readIops},
    {files::kBlkioWriteIops, &Limits::writeIops},
    {files::kBlkioReadBps, &Limits::readBps},
    {files::kBlkioWriteBps, &Limits::writeBps},
};

}  // namespace

Result<Reading> BlkioThrottleWriter::read(const std::string& cgroup, core::DevNum dev, Stage) {
    std::string dir = h_ + "/" + cgroup;
    Limits out;
    for (const auto& f : kBlkioFiles) {
        auto text = readFile(dir + "/" + f.name);
        if (!text) return missingFile(dir, text.error(), "blkio");
        auto all = core::parseBlkioThrottle(*text);
        if (!all) return makeError(dir + "/" + f.name + ": " + all.error().message, EINVAL);
        auto it = all->find(dev);
        out.*f.field = it == all->end() ? 0 : it->second;
    }
    return Reading{out};
}

core::Status BlkioThrottleWriter::write(const std::string& cgroup, core::DevNum dev, const Limits& want,
                                        const Limits& have, Stage) {
    std::string dir = h_ + "/" + cgroup;
    for (const auto& f : kBlkioFiles) {
        if (want.*f.field == have.*f.field) continue;
        auto st = writeFile(dir + "/" + f.name, core::renderBlkioLine(dev, want.*f.field));
        if (!st) return missingFile(dir, st.error(), "blkio");
    }
    return core::okStatus();
}

std::unique_ptr<LimitWriter> makeRawWriter(core::CgroupVersion v, const std::string& hierarchy) {
    if (v == core::CgroupVersion::V1) return std::make_unique<BlkioThrottleWriter>(hierarchy);
    return std::make_unique<IoMaxWriter>(hierarchy);
}

}  // namespace iopslimit::host

#include "host/systemd_manager.h"

namespace iopslimit::host {

namespace {

std::string leafOf(const std::string& cgroup) {
    auto slash = cgroup.rfind('/');
    return slash == std::string::npos ? cgroup : cgroup.substr(slash + 1);
}

}  // namespace

SystemdUnitWriter::SystemdUnitWriter(SystemdManager& manager, std::unique_ptr<LimitWriter> raw,
                                     std::map<core::DevNum, std::string> devicePaths)
    : manager_(manager), raw_(std::move(raw)), devicePaths_(std::move(devicePaths)) {}

bool SystemdUnitWriter::isUnitName(const std::string& leaf) {
    auto endsWith = [&](const char* s) {
        std::string suf = s;
        return leaf.size() > suf.size() && leaf.compare(leaf.size() - suf.size(), suf.size(), suf) == 0;
    };
    return endsWith(".scope") || endsWith(".service");
}

Result<Reading> SystemdUnitWriter::read(const std::string& cgroup, core::DevNum dev, Stage stage) {
    std::string leaf = leafOf(cgroup);
    if (!isUnitName(leaf)) return raw_->read(cgroup, dev, stage);
    // A unit whose cgroup is gone is gone: asking systemd would only load a not-found placeholder.
    if (!isDirectory(raw_->describe(cgroup))) return makeError("unit " + leaf + " is gone", ENOENT);
    if (stage == Stage::Starting) {
        auto inFile = raw_->read(cgroup, dev, stage);
        if (inFile || inFile.error().code != ENOTSUP) return inFile;
    }
    auto it = devicePaths_.find(dev);
    if (it == devicePaths_.end()) return makeError("no device node known for " + dev.str(), EINVAL);
    auto held = manager_.unitLimits(leaf, it->second);
    if (!held) return held.error();
    if (stage == Stage::Starting || !held->unlimited()) return Reading{*held};
    // systemd holds nothing for the device: a line in io.max is someone's (ours, written while
    // the container was starting, or an operator's); what is in force is the file's.
    auto inFile = raw_->read(cgroup, dev, stage);
    if (!inFile || inFile->limits.unlimited()) return Reading{*held};
    return Reading{inFile->limits, true};
}

core::Status SystemdUnitWriter::write(const std::string& cgroup, core::DevNum dev, const Limits& want,
                                      const Limits& have, Stage stage) {
    std::string leaf = leafOf(cgroup);
    if (!isUnitName(leaf)) return raw_->write(cgroup, dev, want, have, stage);
    if (stage == Stage::Starting) {
        auto st = raw_->write(cgroup, dev, want, have, stage);
        if (st || st.error().code != ENOTSUP) return st;
    }
    auto it = devicePaths_.find(dev);
    if (it == devicePaths_.end()) return makeError("no device node known for " + dev.str(), EINVAL);
    return manager_.setUnitLimits(leaf, it->second, want);
}

std::string SystemdUnitWriter::describe(const std::string& cgroup) const {
    std::string leaf = leafOf(cgroup);
    return isUnitName(leaf) ? leaf : raw_->describe(cgroup);
}

}  // namespace iopslimit::host
