// The daemon's data disks after start: a DATA_MOUNT mounted late (a cloud node formatting its
// NVMe at boot, a package installed before /data exists) gets limits within moments of the
// mount; one moved to another disk takes our limits along. No polling: the mount table tells.
#include "core/kernel_files.h"
#include "daemon/adaptive_controller.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/manager_bus.h"

namespace iopslimit::daemon {

void Daemon::watchMountTable() {
    if (mountTable_) loop_.removeFd(mountTable_->fd());
    mountTable_ = std::make_unique<host::MountWatcher>(setup_->cfg.procRoot + "/" + core::files::kMountInfo);
    if (mountTable_->fd() < 0) {
        log::warning("Failed to watch the mount table; a DATA_MOUNT mounted later is seen at the next reload");
        return;
    }
    loop_.addFd(mountTable_->fd(), mountTable_->events(), [this] {
        if (!mountTable_->changed() || mountsSoon_) return;
        // Mounts come in bursts (a boot, a unit with several): look once the burst is over.
        mountsSoon_ = true;
        loop_.addTimer(std::chrono::milliseconds(100), [this] {
            mountsSoon_ = false;
            checkDataMounts();
        });
    });
}

void Daemon::checkDataMounts() {
    auto now = host::resolveDataMounts(setup_->cfg.dataMounts, setup_->roots());
    if (now == setup_->dataMounts()) return;
    std::vector<host::BlockDevice> gone;
    for (const auto& old : setup_->devices) {
        bool kept = false;
        for (const auto& d : now.devices) kept = kept || d.dev == old.dev;
        if (!kept) gone.push_back(old);
    }
    for (const auto& d : now.devices) {
        bool known = false;
        for (const auto& old : setup_->devices) known = known || (old.dev == d.dev && old.mountedAt == d.mountedAt);
        if (!known) logDataDisk(d);
    }
    for (const auto& [mount, why] : now.waiting) log::warning("Waiting for DATA_MOUNT " + mount + ": " + why);
    engine_.releaseDevices(gone);  // with the writer that still knows them
    setup_->setDataMounts(std::move(now));
    applied(engine_.apply(Update::replanned()));
    if (api_) api_->emitDisksChanged();
    if (adaptive_ && ready_) adaptive_->configure(*setup_);  // other disks: new baselines
}

}  // namespace iopslimit::daemon
