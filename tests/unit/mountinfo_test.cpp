// /proc/self/mountinfo parsing (proc(5)) and exact mount-point lookup.
#include "core/mountinfo.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace iopslimit::core {
namespace {

// Lines as the kernel writes them: optional fields (shared:N, master:N, propagate_from:N,
// unbindable) between the options and the "-" separator; octal escapes for ' ', '\t', '\n', '\\'.
const std::string kMountInfo =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
    "100 27 259:1 / /data rw,relatime shared:40 - xfs /dev/nvme0n1p1 rw,attr2,inode64\n"
    "101 27 259:2 / /mnt/my\\040disk rw,relatime shared:41 master:3 - ext4 /dev/nvme1n1 rw\n"
    "102 27 8:17 /sub\\011dir /mnt/tab\\011and\\134back rw shared:7 propagate_from:2 unbindable - ext4 /dev/sdb1 rw\n"
    "103 100 253:0 / /data rw,relatime - xfs /dev/mapper/vg-data rw\n"
    "104 27 0:50 / /var/lib/kubelet/pods/1234/volumes/kubernetes.io~empty-dir/cache rw - tmpfs tmpfs rw\n";

TEST(ParseMountInfo, RealisticLines) {
    auto r = parseMountInfo(kMountInfo);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto& m = *r;
    ASSERT_EQ(m.size(), 9u);

    EXPECT_EQ(m[0].dev, (DevNum{0, 21}));
    EXPECT_EQ(m[0].root, "/");
    EXPECT_EQ(m[0].mountPoint, "/proc");
    EXPECT_EQ(m[0].fsType, "proc");
    EXPECT_EQ(m[0].source, "proc");

    EXPECT_EQ(m[1].dev, (DevNum{254, 0}));
    EXPECT_EQ(m[1].mountPoint, "/");
    EXPECT_EQ(m[1].fsType, "ext4");
    EXPECT_EQ(m[1].source, "/dev/vda");

    // proc(5)'s own example
    EXPECT_EQ(m[3].dev, (DevNum{98, 0}));
    EXPECT_EQ(m[3].root, "/mnt1");
    EXPECT_EQ(m[3].mountPoint, "/mnt2");
    EXPECT_EQ(m[3].fsType, "ext3");
    EXPECT_EQ(m[3].source, "/dev/root");

    EXPECT_EQ(m[4].dev, (DevNum{259, 1}));
    EXPECT_EQ(m[4].mountPoint, "/data");
    EXPECT_EQ(m[4].fsType, "xfs");
    EXPECT_EQ(m[4].source, "/dev/nvme0n1p1");

    EXPECT_EQ(m[5].dev, (DevNum{259, 2}));
    EXPECT_EQ(m[5].mountPoint, "/mnt/my disk");  // \040 unescaped
    EXPECT_EQ(m[5].fsType, "ext4");
    EXPECT_EQ(m[5].source, "/dev/nvme1n1");

    EXPECT_EQ(m[6].dev, (DevNum{8, 17}));
    EXPECT_EQ(m[6].root, "/sub\tdir");
    EXPECT_EQ(m[6].mountPoint, "/mnt/tab\tand\\back");
    EXPECT_EQ(m[6].fsType, "ext4");
    EXPECT_EQ(m[6].source, "/dev/sdb1");

    EXPECT_EQ(m[8].mountPoint, "/var/lib/kubelet/pods/1234/volumes/kubernetes.io~empty-dir/cache");
    EXPECT_EQ(m[8].fsType, "tmpfs");
}

TEST(ParseMountInfo, EscapesAtTheEndAndNonEscapes) {
    auto r = parseMountInfo(
        "1 0 8:1 / /mnt/end\\040 rw - ext4 /dev/sda1 rw\n"
        "2 0 8:2 / /mnt/back\\134 rw - ext4 /dev/sda2 rw\n"
        "3 0 8:3 / /mnt/not\\9 rw - ext4 /dev/sda3 rw\n"
        "4 0 8:4 / /mnt/short\\04 rw - ext4 /dev/sda4 rw\n");
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 4u);
    EXPECT_EQ((*r)[0].mountPoint, "/mnt/end ");
    EXPECT_EQ((*r)[1].mountPoint, "/mnt/back\\");
    EXPECT_EQ((*r)[2].mountPoint, "/mnt/not\\9");    // not an octal escape: kept as is
    EXPECT_EQ((*r)[3].mountPoint, "/mnt/short\\04");  // too short to be one
}

TEST(ParseMountInfo, EmptyContent) {
    for (const char* c : {"", "\n"}) {
        auto r = parseMountInfo(c);
        ASSERT_TRUE(r.ok());
        EXPECT_TRUE(r->empty());
    }
}

TEST(ParseMountInfo, NoTrailingNewline) {
    auto r = parseMountInfo("27 1 254:0 / / rw - ext4 /dev/vda rw");
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].source, "/dev/vda");
}

TEST(ParseMountInfo, MalformedLinesAreErrors) {
    const std::vector<std::string> cases = {
        "27 1 254:0 / / rw ext4 /dev/vda rw",          // no separator
        "27 1 254:0 / / rw -",                        // nothing after the separator
        "27 1 x:y / / rw - ext4 /dev/vda rw",         // bad device
        "27 1 254 / / rw - ext4 /dev/vda rw",         //
        "27 1 254:0 / - ext4 /dev/vda rw",            // too few fields before "-"
        "garbage",                                    //
        "27 1 254:0 / / rw - ext4 /dev/vda rw\nbad",  // one bad line spoils the file
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c);
        auto r = parseMountInfo(c);
        EXPECT_FALSE(r.ok());
    }
}

TEST(FindMount, ExactMatchLastWinsTrailingSlash) {
    auto r = parseMountInfo(kMountInfo);
    ASSERT_TRUE(r.ok());
    struct Case {
        std::string path;
        bool found;
        DevNum dev;
    };
    const std::vector<Case> cases = {
        {"/data", true, {253, 0}},    // over-mounted: the last entry is what is visible
        {"/data/", true, {253, 0}},   // trailing slash
        {"/data//", true, {253, 0}},  //
        {"/", true, {254, 0}},
        {"/mnt/my disk", true, {259, 2}},
        {"/mnt/my\\040disk", false, {}},  // lookups take the real name, not the escaped one
        {"/mnt2", true, {98, 0}},
        {"/mnt1", false, {}},  // a root inside the file system is not a mount point
        {"/dat", false, {}},
        {"/data/sub", false, {}},  // exact match only; no parent lookup
        {"/proc/", true, {0, 21}},
        {"", false, {}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.path);
        auto m = findMount(*r, c.path);
        ASSERT_EQ(m.has_value(), c.found);
        if (c.found) {
            EXPECT_EQ(m->dev, c.dev);
        }
    }
    EXPECT_FALSE(findMount({}, "/").has_value());
}

// This machine's own table parses, and "/" is in it.
TEST(ParseMountInfo, ThisMachine) {
    std::ifstream in("/proc/self/mountinfo");
    if (!in.good()) GTEST_SKIP() << "no /proc/self/mountinfo";
    std::ostringstream ss;
    ss << in.rdbuf();
    auto r = parseMountInfo(ss.str());
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->empty());
    EXPECT_TRUE(findMount(*r, "/").has_value());
}

}  // namespace
}  // namespace iopslimit::core
