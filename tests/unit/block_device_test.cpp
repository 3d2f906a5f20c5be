// DATA_MOUNT -> disk on temp trees (a mount table, sysfs, a file system with symlinks): every kind
// of path operators write and every kind of mount a data disk hides behind.
#include <gtest/gtest.h>

#include <cerrno>

#include "core/mountinfo.h"
#include "host/block_device.h"
#include "support/temp_tree.h"

namespace iopslimit::host {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

class DataDisk : public ::testing::Test {
protected:
    void SetUp() override {
        // nvme0n1 (259:0) with partition nvme0n1p1 (259:1); sdc (8:32) whole-disk; dm-0 (253:0)
        // named "vg-data"; vda (254:0), the root disk.
        disk("devices/pci0000:00/nvme0/nvme0n1", "259:0");
        disk("devices/pci0000:00/nvme0/nvme0n1/nvme0n1p1", "259:1", true);
        disk("devices/pci0000:00/sata/sdc", "8:32");
        disk("devices/virtual/block/dm-0", "253:0");
        t_.makeFile("sys/devices/virtual/block/dm-0/dm/name", "vg-data\n");
        fs::create_directories(t_.path() / "sys/block");
        fs::create_symlink("../devices/virtual/block/dm-0", t_.path() / "sys/block/dm-0");
        disk("devices/virtual/block/vda", "254:0");
        mounts("22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
               "90 22 259:1 / /data rw,noatime shared:40 - xfs /dev/nvme0n1p1 rw,attr2\n"
               "91 22 0:51 / /srv/btrfs rw - btrfs /dev/sdc rw,subvol=/\n"
               "92 22 0:60 / /var/lib/containerd/ov rw - overlay overlay rw,lowerdir=/l,upperdir=/data/upper,workdir=/data/work\n"
               "93 22 0:33 / /run/tmpfs rw - tmpfs tmpfs rw\n"
               "94 22 0:61 / /srv/lvm rw - btrfs /dev/mapper/vg-data rw\n"
               "95 22 259:1 /bind /mnt/bound rw - xfs /dev/nvme0n1p1 rw\n");
        fs::create_directories(t_.path() / "fs/data/kubelet");
        fs::create_directories(t_.path() / "fs/var/lib");
        fs::create_symlink("/data/kubelet", t_.path() / "fs/var/lib/kubelet-abs");  // absolute: left alone
        fs::create_symlink("../../data/kubelet", t_.path() / "fs/var/lib/kubelet");
        fs::create_directories(t_.path() / "fs/srv/plain");
    }
    void disk(const std::string& dir, const std::string& dev, bool partition = false) {
        t_.makeFile("sys/" + dir + "/dev", dev + "\n");
        if (partition) t_.makeFile("sys/" + dir + "/partition", "1\n");
        fs::create_directories(t_.path() / "sys/dev/block");
        fs::create_directories(t_.path() / "sys/class/block");
        std::string name = dir.substr(dir.rfind('/') + 1);
        fs::create_symlink("../../" + dir, t_.path() / "sys/dev/block" / dev);
        fs::create_symlink("../../" + dir, t_.path() / "sys/class/block" / name);
    }
    void mounts(const std::string& table) { t_.makeFile("proc/self/mountinfo", table); }
    HostRoots roots() const { return {t_ / "proc", t_ / "sys", t_ / "fs"}; }

    TempDir t_;
};

TEST_F(DataDisk, EveryKindOfPathAndMountResolvesToItsWholeDisk) {
    struct Case {
        const char* path;
        const char* disk;
        core::DevNum dev;
        const char* mountedAt;
    };
    const Case cases[] = {
        {"/data", "nvme0n1", {259, 0}, "/data"},                     // a mount point on a partition
        {"/data/", "nvme0n1", {259, 0}, "/data"},                    // with a trailing slash
        {"/data/kubelet", "nvme0n1", {259, 0}, "/data"},             // a directory on it (df's answer)
        {"/var/lib/kubelet", "nvme0n1", {259, 0}, "/data"},          // a symlink to that directory
        {"/mnt/bound", "nvme0n1", {259, 0}, "/mnt/bound"},           // a bind mount: its file system's disk
        {"/var/lib/containerd/ov", "nvme0n1", {259, 0}, "/var/lib/containerd/ov"},  // overlay: its upper dir's
        {"/srv/btrfs", "sdc", {8, 32}, "/srv/btrfs"},                // anonymous device: its source
        {"/srv/lvm", "dm-0", {253, 0}, "/srv/lvm"},                  // /dev/mapper/NAME through dm/name
        {"/srv/plain", "vda", {254, 0}, "/"},                        // a directory on the root file system
    };
    for (const auto& c : cases) {
        auto bd = resolveDataMount(c.path, roots());
        ASSERT_TRUE(bd) << c.path << ": " << bd.error().message;
        EXPECT_EQ(bd->name, c.disk) << c.path;
        EXPECT_EQ(bd->dev, c.dev) << c.path;
        EXPECT_EQ(bd->mountedAt, c.mountedAt) << c.path;
        EXPECT_EQ(bd->mountPoint, c.path);
    }
    auto part = resolveDataMount("/data", roots());
    EXPECT_EQ(part->fsDev, (core::DevNum{259, 1}));
    EXPECT_EQ(part->describe(), "/data: xfs on /dev/nvme0n1p1 -> disk nvme0n1 (259:0), file system on partition nvme0n1p1");
}

TEST_F(DataDisk, WhatCannotBeLimitedYetSaysWhy) {
    auto missing = resolveDataMount("/nowhere", roots());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_EQ(missing.error().message, "/nowhere does not exist");
    EXPECT_FALSE(resolveDataMount("/var/lib/kubelet-abs", roots()));  // points outside the tree
    auto tmpfs = resolveDataMount("/run/tmpfs", roots());
    ASSERT_FALSE(tmpfs);
    EXPECT_EQ(tmpfs.error().code, EINVAL);
    EXPECT_EQ(tmpfs.error().message, "tmpfs on tmpfs mounted at /run/tmpfs is not backed by a block device");
    mounts("garbage\n");
    EXPECT_EQ(resolveDataMount("/data", roots()).error().code, EIO);
}

TEST_F(DataDisk, SeveralMountsOneDiskAndTheOnesToWaitFor) {
    auto m = resolveDataMounts({"/data", "/var/lib/kubelet", "/srv/btrfs", "/nowhere", "/run/tmpfs"}, roots());
    ASSERT_EQ(m.devices.size(), 2u);  // /data and /var/lib/kubelet share nvme0n1
    EXPECT_EQ(m.devices[0].name, "nvme0n1");
    EXPECT_EQ(m.devices[1].name, "sdc");
    ASSERT_EQ(m.waiting.size(), 2u);
    EXPECT_EQ(m.waiting[0].first, "/nowhere");
    EXPECT_EQ(m.waiting[1].first, "/run/tmpfs");
    EXPECT_TRUE(m == resolveDataMounts({"/data", "/var/lib/kubelet", "/srv/btrfs", "/nowhere", "/run/tmpfs"}, roots()));
}

TEST(FindContainingMount, LongestWholeComponentPrefixLastAmongEquals) {
    auto mounts = core::parseMountInfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                                       "2 1 8:2 / /data rw - ext4 /dev/sda2 rw\n"
                                       "3 1 8:3 / /data2 rw - ext4 /dev/sda3 rw\n"
                                       "4 2 8:4 / /data/deep rw - ext4 /dev/sda4 rw\n"
                                       "5 1 8:5 / /data rw - ext4 /dev/sda5 rw\n")
                      .value();
    auto dev = [&](const char* p) { return core::findContainingMount(mounts, p)->dev.minor; };
    EXPECT_EQ(dev("/"), 1u);
    EXPECT_EQ(dev("/etc/x"), 1u);
    EXPECT_EQ(dev("/data"), 5u);          // over-mounted: the last one
    EXPECT_EQ(dev("/data/x/y"), 5u);
    EXPECT_EQ(dev("/data2"), 3u);         // not /data's: whole components only
    EXPECT_EQ(dev("/datax"), 1u);
    EXPECT_EQ(dev("/data/deep/z"), 4u);
    EXPECT_FALSE(core::findContainingMount({}, "/x"));
    EXPECT_EQ(core::mountOption("rw,lowerdir=/a:/b,upperdir=/u,workdir=/w", "upperdir"), "/u");
    EXPECT_EQ(core::mountOption("rw,upperdirx=/u", "upperdir"), std::nullopt);
    EXPECT_EQ(core::mountOption("", "upperdir"), std::nullopt);
}

}  // namespace
}  // namespace iopslimit::host
