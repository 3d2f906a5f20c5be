#include "host/limit_writers.h"

#include <cerrno>

#include "core/io_lines.h"
#include "host/cgroup_fs.h"
#include "host/kernel_files.h"

namespace iopslimit::host {

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

Result<Limits> IoMaxWriter::read(const std::string& cgroup, core::DevNum dev) {
    std::string dir = h_ + "/" + cgroup;
    auto text = readFile(dir + "/" + files::kIoMax);
    if (!text) return missingFile(dir, text.error(), "io");
    auto all = core::parseIoMax(*text);
    if (!all) return makeError(dir + "/io.max: " + all.error().message, EINVAL);
    auto it = all->find(dev);
    return it == all->end() ? Limits{} : it->second;
}

core::Status IoMaxWriter::write(const std::string& cgroup, core::DevNum dev, const Limits& want, const Limits&) {
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

Result<Limits> BlkioThrottleWriter::read(const std::string& cgroup, core::DevNum dev) {
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
    return out;
}

core::Status BlkioThrottleWriter::write(const std::string& cgroup, core::DevNum dev, const Limits& want,
                                        const Limits& have) {
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
