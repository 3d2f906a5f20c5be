// Host code on temporary directory trees: cgroup detection, finding a container's cgroup,
// and the raw v2/v1 limit writers. Regular files stand in for the kernel's: a write overwrites
// from offset 0 and leaves the rest, so tests start from empty files and assert the written text.
#include <gtest/gtest.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/planner.h"
#include "host/cgroup_fs.h"
#include "host/cgroup_watcher.h"
#include "core/kernel_files.h"
#include "support/fakes.h"
#include "support/temp_tree.h"
#include "host/limit_writers.h"

namespace iopslimit::host {
namespace {

namespace fs = std::filesystem;
namespace files = core::files;
using core::CgroupDriver;
using core::CgroupVersion;
using core::Limits;
using core::QosClass;

using testing_support::TempDir;

core::Config configFor(const TempDir& root, core::Environment env = {}) {
    env["CGROUP_ROOT"] = root.path().string();
    auto c = core::parseConfig(env, "node-1");
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    if (!c.ok()) return {};
    return std::move(c).value();
}

const std::string kHexA = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const std::string kHexB = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const std::string kHexC = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";
const std::string kHexD = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";
const std::string kUid = "5e5613d6-fccb-40d6-967b-447697d4d871";
const std::string kUidS = "5e5613d6_fccb_40d6_967b_447697d4d871";
const std::string kUid2 = "ebb73de1-03ec-4c34-bda3-bb8a44f01c2b";
const std::string kUid2S = "ebb73de1_03ec_4c34_bda3_bb8a44f01c2b";
const std::string kUid3 = "07bd11a0a13dfe5450a17a39eb8e32d2";

// ---------------------------------------------------------------------------------------------
// File helpers

TEST(HostFiles, ReadWriteListAndErrno) {
    TempDir t;
    t.makeFile("f", "");
    t.makeDir("d1");
    t.makeDir("d2/inner");
    t.makeDir(".hidden");
    t.makeFile("file-not-dir");

    ASSERT_TRUE(writeFile(t / "f", "hello\n").ok());
    auto r = readFile(t / "f");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, "hello\n");

    auto missingRead = readFile(t / "nope");
    ASSERT_FALSE(missingRead.ok());
    EXPECT_EQ(missingRead.error().code, ENOENT);
    // No O_CREAT: a cgroup file that is not there is not created.
    auto missingWrite = writeFile(t / "nope", "x");
    ASSERT_FALSE(missingWrite.ok());
    EXPECT_EQ(missingWrite.error().code, ENOENT);
    EXPECT_FALSE(fs::exists(t / "nope"));
    auto inMissingDir = writeFile(t / "gone/io.max", "x");
    ASSERT_FALSE(inMissingDir.ok());
    EXPECT_EQ(inMissingDir.error().code, ENOENT);

    EXPECT_TRUE(isDirectory(t.path()));
    EXPECT_TRUE(isDirectory(t / "d1"));
    EXPECT_FALSE(isDirectory(t / "f"));
    EXPECT_FALSE(isDirectory(t / "nope"));

    auto subdirs = listSubdirs(t.path());
    std::sort(subdirs.begin(), subdirs.end());
    EXPECT_EQ(subdirs, (std::vector<std::string>{"d1", "d2"}));
    EXPECT_TRUE(listSubdirs(t / "nope").empty());
}

// ---------------------------------------------------------------------------------------------
// Writers

TEST(IoMaxWriter, ReadsAndWritesIoMax) {
    TempDir t;
    const std::string cg = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidS +
                           ".slice/cri-containerd-" + kHexA + ".scope";
    t.makeFile(cg + "/io.max");
    IoMaxWriter w(t.path());
    EXPECT_EQ(w.describe(cg), t / cg);

    auto empty = w.read(cg, {8, 0}, Stage::Started);
    ASSERT_TRUE(empty.ok()) << empty.error().message;
    EXPECT_EQ(empty->limits, Limits{});

    ASSERT_TRUE(w.write(cg, {8, 0}, Limits{200, 0, 0, 0}, Limits{}, Stage::Started).ok());
    EXPECT_EQ(t.read(cg + "/io.max"), "8:0 rbps=max wbps=max riops=200 wiops=max\n");
    auto back = w.read(cg, {8, 0}, Stage::Started);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->limits, (Limits{200, 0, 0, 0}));
    auto other = w.read(cg, {8, 16}, Stage::Started);
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(other->limits, Limits{});

    t.makeFile(cg + "/io.max");
    ASSERT_TRUE(w.write(cg, {259, 1}, Limits{1, 2, 1048576, 0}, Limits{}, Stage::Started).ok());
    EXPECT_EQ(t.read(cg + "/io.max"), "259:1 rbps=1048576 wbps=max riops=1 wiops=2\n");

    // What the kernel shows for several devices.
    t.makeFile(cg + "/io.max", "8:0 rbps=max wbps=max riops=10 wiops=max\n259:1 rbps=max wbps=5 riops=max wiops=max\n");
    auto multi = w.read(cg, {259, 1}, Stage::Started);
    ASSERT_TRUE(multi.ok());
    EXPECT_EQ(multi->limits, (Limits{0, 0, 0, 5}));
}

TEST(IoMaxWriter, ErrorCodes) {
    TempDir t;
    t.makeDir("kubepods.slice/no-io");
    t.makeFile("kubepods.slice/garbled/io.max", "8:0 riops=lots\n");
    IoMaxWriter w(t.path());

    auto goneRead = w.read("kubepods.slice/gone.scope", {8, 0}, Stage::Started);
    ASSERT_FALSE(goneRead.ok());
    EXPECT_EQ(goneRead.error().code, ENOENT);
    auto goneWrite = w.write("kubepods.slice/gone.scope", {8, 0}, Limits{1, 1, 0, 0}, Limits{}, Stage::Started);
    ASSERT_FALSE(goneWrite.ok());
    EXPECT_EQ(goneWrite.error().code, ENOENT);

    // The cgroup exists but has no io.max: the io controller is not enabled there.
    auto offRead = w.read("kubepods.slice/no-io", {8, 0}, Stage::Started);
    ASSERT_FALSE(offRead.ok());
    EXPECT_EQ(offRead.error().code, ENOTSUP);
    auto offWrite = w.write("kubepods.slice/no-io", {8, 0}, Limits{1, 1, 0, 0}, Limits{}, Stage::Started);
    ASSERT_FALSE(offWrite.ok());
    EXPECT_EQ(offWrite.error().code, ENOTSUP);
    EXPECT_FALSE(fs::exists(t / "kubepods.slice/no-io/io.max"));

    auto garbled = w.read("kubepods.slice/garbled", {8, 0}, Stage::Started);
    ASSERT_FALSE(garbled.ok());
    EXPECT_EQ(garbled.error().code, EINVAL);
}

const char* const kBlkioFiles[] = {files::kBlkioReadIops, files::kBlkioWriteIops, files::kBlkioReadBps,
                                   files::kBlkioWriteBps};

void makeBlkioCgroup(const TempDir& t, const std::string& cg) {
    for (const char* f : kBlkioFiles) t.makeFile(cg + "/" + f);
}

TEST(BlkioThrottleWriter, ReadsAndWritesOnlyWhatDiffers) {
    TempDir t;
    const std::string cg = "kubepods/burstable/pod" + kUid + "/" + kHexA;
    makeBlkioCgroup(t, cg);
    BlkioThrottleWriter w(t.path());
    EXPECT_EQ(w.describe(cg), t / cg);

    auto empty = w.read(cg, {8, 0}, Stage::Started);
    ASSERT_TRUE(empty.ok()) << empty.error().message;
    EXPECT_EQ(empty->limits, Limits{});

    const Limits want{200, 100, 0, 1048576};
    ASSERT_TRUE(w.write(cg, {8, 0}, want, Limits{}, Stage::Started).ok());
    EXPECT_EQ(t.read(cg + "/blkio.throttle.read_iops_device"), "8:0 200\n");
    EXPECT_EQ(t.read(cg + "/blkio.throttle.write_iops_device"), "8:0 100\n");
    EXPECT_EQ(t.read(cg + "/blkio.throttle.read_bps_device"), "");  // 0 == 0: not written
    EXPECT_EQ(t.read(cg + "/blkio.throttle.write_bps_device"), "8:0 1048576\n");
    auto back = w.read(cg, {8, 0}, Stage::Started);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->limits, want);

    // Lowering one direction to unlimited writes "MAJ:MIN 0" to that file alone.
    makeBlkioCgroup(t, cg);
    ASSERT_TRUE(w.write(cg, {8, 0}, Limits{0, 100, 0, 1048576}, want, Stage::Started).ok());
    EXPECT_EQ(t.read(cg + "/blkio.throttle.read_iops_device"), "8:0 0\n");
    EXPECT_EQ(t.read(cg + "/blkio.throttle.write_iops_device"), "");
    EXPECT_EQ(t.read(cg + "/blkio.throttle.read_bps_device"), "");
    EXPECT_EQ(t.read(cg + "/blkio.throttle.write_bps_device"), "");

    // Nothing differs: nothing is written, not even to a cgroup that is gone.
    EXPECT_TRUE(w.write("kubepods/gone", {8, 0}, want, want, Stage::Started).ok());

    // Several devices, zero lines meaning no limit.
    t.makeFile(cg + "/blkio.throttle.read_iops_device", "8:0 0\n259:0 300\n");
    t.makeFile(cg + "/blkio.throttle.write_iops_device", "259:0 400\n");
    t.makeFile(cg + "/blkio.throttle.read_bps_device", "");
    t.makeFile(cg + "/blkio.throttle.write_bps_device", "8:0 5\n");
    auto dev0 = w.read(cg, {8, 0}, Stage::Started);
    ASSERT_TRUE(dev0.ok());
    EXPECT_EQ(dev0->limits, (Limits{0, 0, 0, 5}));
    auto dev259 = w.read(cg, {259, 0}, Stage::Started);
    ASSERT_TRUE(dev259.ok());
    EXPECT_EQ(dev259->limits, (Limits{300, 400, 0, 0}));
}

TEST(BlkioThrottleWriter, ErrorCodes) {
    TempDir t;
    t.makeDir("kubepods/no-blkio");
    makeBlkioCgroup(t, "kubepods/garbled");
    t.makeFile("kubepods/garbled/blkio.throttle.write_bps_device", "8:0 lots\n");
    BlkioThrottleWriter w(t.path());

    auto goneRead = w.read("kubepods/gone", {8, 0}, Stage::Started);
    ASSERT_FALSE(goneRead.ok());
    EXPECT_EQ(goneRead.error().code, ENOENT);
    auto goneWrite = w.write("kubepods/gone", {8, 0}, Limits{1, 0, 0, 0}, Limits{}, Stage::Started);
    ASSERT_FALSE(goneWrite.ok());
    EXPECT_EQ(goneWrite.error().code, ENOENT);

    auto offRead = w.read("kubepods/no-blkio", {8, 0}, Stage::Started);
    ASSERT_FALSE(offRead.ok());
    EXPECT_EQ(offRead.error().code, ENOTSUP);
    auto offWrite = w.write("kubepods/no-blkio", {8, 0}, Limits{1, 0, 0, 0}, Limits{}, Stage::Started);
    ASSERT_FALSE(offWrite.ok());
    EXPECT_EQ(offWrite.error().code, ENOTSUP);

    auto garbled = w.read("kubepods/garbled", {8, 0}, Stage::Started);
    ASSERT_FALSE(garbled.ok());
    EXPECT_EQ(garbled.error().code, EINVAL);
}

TEST(MakeRawWriter, PicksTheFormatByVersion) {
    TempDir t;
    t.makeFile("cg/io.max");
    makeBlkioCgroup(t, "cg");
    auto v2 = makeRawWriter(CgroupVersion::V2, t.path());
    auto v1 = makeRawWriter(CgroupVersion::V1, t.path());
    EXPECT_NE(dynamic_cast<IoMaxWriter*>(v2.get()), nullptr);
    EXPECT_NE(dynamic_cast<BlkioThrottleWriter*>(v1.get()), nullptr);
    ASSERT_TRUE(v2->write("cg", {8, 0}, Limits{7, 0, 0, 0}, Limits{}, Stage::Started).ok());
    ASSERT_TRUE(v1->write("cg", {8, 0}, Limits{7, 0, 0, 0}, Limits{}, Stage::Started).ok());
    EXPECT_EQ(t.read("cg/io.max"), "8:0 rbps=max wbps=max riops=7 wiops=max\n");
    EXPECT_EQ(t.read("cg/blkio.throttle.read_iops_device"), "8:0 7\n");
}

// ---------------------------------------------------------------------------------------------
// Detection

struct DetectCase {
    std::string name;
    std::vector<std::string> dirs;
    std::vector<std::string> files;
    core::Environment env;
    CgroupVersion version;
    std::string hierarchy;  // relative to the temp root; "" = the root itself
    CgroupDriver driver;
    std::vector<std::string> kubeletRoot;
    bool driverDetected;
};

TEST(DetectCgroups, TempTrees) {
    using V = CgroupVersion;
    using D = CgroupDriver;
    const std::vector<DetectCase> cases = {
        {"v2 systemd", {"kubepods.slice/kubepods-burstable.slice"}, {"cgroup.controllers"}, {}, V::V2, "", D::Systemd, {}, true},
        {"v2 cgroupfs", {"kubepods/burstable"}, {"cgroup.controllers"}, {}, V::V2, "", D::Cgroupfs, {}, true},
        {"v1 systemd", {"blkio/kubepods.slice", "memory/kubepods.slice"}, {}, {}, V::V1, "blkio", D::Systemd, {}, true},
        {"v1 cgroupfs", {"blkio/kubepods/besteffort"}, {}, {}, V::V1, "blkio", D::Cgroupfs, {}, true},
        {"v2 kind-style kubelet root, systemd", {"kubelet.slice/kubelet-kubepods.slice"}, {"cgroup.controllers"}, {},
         V::V2, "", D::Systemd, {"kubelet"}, true},
        {"v2 kind-style kubelet root, cgroupfs", {"kubelet/kubepods/burstable"}, {"cgroup.controllers"}, {}, V::V2, "",
         D::Cgroupfs, {"kubelet"}, true},
        {"v1 kubelet root", {"blkio/kubelet.slice/kubelet-kubepods.slice"}, {}, {}, V::V1, "blkio", D::Systemd,
         {"kubelet"}, true},
        {"hybrid without blkio: the unified hierarchy", {"unified/kubepods.slice", "systemd"}, {"unified/cgroup.controllers"},
         {}, V::V2, "unified", D::Systemd, {}, true},
        {"v2 without kubepods yet: systemd assumed, retried later", {"system.slice"}, {"cgroup.controllers"}, {}, V::V2, "",
         D::Systemd, {}, false},
        {"configured driver wins over the tree", {"kubepods.slice"}, {"cgroup.controllers"},
         {{"CGROUP_DRIVER", "cgroupfs"}}, V::V2, "", D::Cgroupfs, {}, true},
        {"configured driver, root found in the tree", {"kubelet.slice/kubelet-kubepods.slice"}, {"cgroup.controllers"},
         {{"CGROUP_DRIVER", "systemd"}}, V::V2, "", D::Systemd, {"kubelet"}, true},
        {"configured driver and root, empty tree", {}, {"cgroup.controllers"},
         {{"CGROUP_DRIVER", "cgroupfs"}, {"KUBELET_CGROUP_ROOT", "/kubelet"}}, V::V2, "", D::Cgroupfs, {"kubelet"}, true},
        {"configured root, driver from the tree", {"kubelet/kubepods"}, {"cgroup.controllers"},
         {{"KUBELET_CGROUP_ROOT", "/kubelet"}}, V::V2, "", D::Cgroupfs, {"kubelet"}, true},
        {"configured v2 on a hybrid tree", {"blkio/kubepods", "unified/kubepods"}, {"unified/cgroup.controllers"},
         {{"CGROUP_VERSION", "v2"}}, V::V2, "unified", D::Cgroupfs, {}, true},
        {"configured v1", {"blkio/kubepods.slice"}, {"cgroup.controllers"}, {{"CGROUP_VERSION", "v1"}}, V::V1, "blkio",
         D::Systemd, {}, true},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        TempDir t;
        for (const auto& d : c.dirs) t.makeDir(d);
        for (const auto& f : c.files) t.makeFile(f);
        auto s = detectCgroups(configFor(t, c.env));
        ASSERT_TRUE(s.ok()) << s.error().message;
        EXPECT_EQ(s->version, c.version);
        EXPECT_EQ(s->hierarchy, c.hierarchy.empty() ? t.path().string() : t / c.hierarchy);
        EXPECT_EQ(s->layout.driver, c.driver);
        EXPECT_EQ(s->layout.kubeletRoot, c.kubeletRoot);
        EXPECT_EQ(s->driverDetected, c.driverDetected);
        EXPECT_FALSE(s->note.empty());
    }
}

// An explicit KUBELET_CGROUP_ROOT names the kubelet we serve; another kubepods tree on the same
// host (a node's own kubelet beside kind's nested one) must not replace it.
TEST(DetectCgroups, ConfiguredKubeletRootIsKept) {
    TempDir t;
    t.makeFile("cgroup.controllers");
    t.makeDir("kubepods.slice");
    t.makeDir("kubelet.slice/kubelet-kubepods.slice");
    auto s = detectCgroups(configFor(t, {{"KUBELET_CGROUP_ROOT", "/kubelet"}}));
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s->layout.kubeletRoot, std::vector<std::string>{"kubelet"});
    EXPECT_EQ(s->layout.driver, CgroupDriver::Systemd);
}

TEST(DetectCgroups, Errors) {
    struct ErrCase {
        std::string name;
        std::vector<std::string> dirs, files;
        core::Environment env;
    };
    const std::vector<ErrCase> cases = {
        {"nothing there", {}, {}, {}},
        {"only unrelated controllers", {"memory", "cpu"}, {}, {}},
        {"v1 requested, no blkio", {"kubepods"}, {"cgroup.controllers"}, {{"CGROUP_VERSION", "v1"}}},
        {"v2 requested, only v1", {"blkio/kubepods"}, {}, {{"CGROUP_VERSION", "v2"}}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        TempDir t;
        for (const auto& d : c.dirs) t.makeDir(d);
        for (const auto& f : c.files) t.makeFile(f);
        EXPECT_FALSE(detectCgroups(configFor(t, c.env)).ok());
    }
    TempDir t;
    t.makeFile("not-a-dir");
    core::Config cfg = configFor(t);
    cfg.cgroupRoot = t / "not-a-dir";
    EXPECT_FALSE(detectCgroups(cfg).ok());
    cfg.cgroupRoot = t / "missing";
    EXPECT_FALSE(detectCgroups(cfg).ok());
}

TEST(RedetectLayout, FindsKubepodsOnceTheKubeletCreatesIt) {
    TempDir t;
    t.makeFile("cgroup.controllers");
    auto s = detectCgroups(configFor(t));
    ASSERT_TRUE(s.ok());
    CgroupSetup setup = *s;
    EXPECT_FALSE(setup.driverDetected);
    EXPECT_FALSE(redetectLayout(setup));
    t.makeDir("kubelet/kubepods");
    EXPECT_TRUE(redetectLayout(setup));
    EXPECT_TRUE(setup.driverDetected);
    EXPECT_EQ(setup.layout.driver, CgroupDriver::Cgroupfs);
    EXPECT_EQ(setup.layout.kubeletRoot, std::vector<std::string>{"kubelet"});
}

// ---------------------------------------------------------------------------------------------
// Finding a container's cgroup

CgroupSetup setupOn(const TempDir& t, CgroupDriver d, std::vector<std::string> root = {}) {
    CgroupSetup s;
    s.version = CgroupVersion::V2;
    s.hierarchy = t.path();
    s.layout = {d, std::move(root)};
    s.driverDetected = true;
    return s;
}

core::PlanEntry entryFor(const CgroupSetup& s, const std::string& uid, QosClass qos, bool qosKnown,
                         const std::string& rawId) {
    core::Pod p;
    p.ns = "shop";
    p.name = "web";
    p.uid = uid;
    p.qos = qos;
    p.qosKnown = qosKnown;
    p.containers = {core::Container{"app", "img", rawId, core::ContainerKind::Regular, core::ContainerState::Running}};
    core::PlanInput in;
    in.layout = s.layout;
    auto plan = core::makePlan({p}, in);
    EXPECT_EQ(plan.entries.size(), 1u);
    return plan.entries.at(0);
}

const std::string kBurstablePod = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidS + ".slice";

TEST(FindContainerCgroup, DerivedPath) {
    TempDir t;
    auto s = setupOn(t, CgroupDriver::Systemd);
    auto e = entryFor(s, kUid, QosClass::Burstable, true, "containerd://" + kHexA);
    ASSERT_EQ(e.cgroup, kBurstablePod + "/cri-containerd-" + kHexA + ".scope");
    t.makeDir(e.cgroup);
    t.makeDir(kBurstablePod + "/docker-" + kHexA + ".scope");  // a decoy with the same id
    auto r = findContainerCgroup(s, e);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, e.cgroup);
}

TEST(FindContainerCgroup, DerivedPathCgroupfsWithKubeletRoot) {
    TempDir t;
    auto s = setupOn(t, CgroupDriver::Cgroupfs, {"kubelet"});
    auto e = entryFor(s, kUid3, QosClass::Guaranteed, true, "docker://" + kHexB);
    ASSERT_EQ(e.cgroup, "kubelet/kubepods/pod" + kUid3 + "/" + kHexB);
    t.makeDir(e.cgroup);
    auto r = findContainerCgroup(s, e);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, e.cgroup);
}

TEST(FindContainerCgroup, UnknownQosSearchesAllThreeLevels) {
    const std::vector<std::string> podDirs = {
        kBurstablePod,
        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidS + ".slice",
        "kubepods.slice/kubepods-pod" + kUidS + ".slice",
    };
    for (const auto& podDir : podDirs) {
        SCOPED_TRACE(podDir);
        TempDir t;
        auto s = setupOn(t, CgroupDriver::Systemd);
        auto e = entryFor(s, kUid, QosClass::BestEffort, false, "containerd://" + kHexA);
        const std::string want = podDir + "/cri-containerd-" + kHexA + ".scope";
        t.makeDir(want);
        auto r = findContainerCgroup(s, e);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(*r, want);
    }
}

TEST(FindContainerCgroup, KnownQosLooksOnlyInItsOwnLevel) {
    TempDir t;
    auto s = setupOn(t, CgroupDriver::Systemd);
    auto e = entryFor(s, kUid, QosClass::Guaranteed, true, "containerd://" + kHexA);
    t.makeDir(kBurstablePod + "/cri-containerd-" + kHexA + ".scope");
    auto r = findContainerCgroup(s, e);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOENT);
}

TEST(FindContainerCgroup, DifferentlyPrefixedChildOfThePodCgroup) {
    const std::vector<std::string> leaves = {
        "docker-" + kHexA + ".scope",
        "crio-" + kHexA + ".scope",
        "containerd-" + kHexA + ".scope",
        kHexA,
    };
    for (const auto& leaf : leaves) {
        SCOPED_TRACE(leaf);
        TempDir t;
        auto s = setupOn(t, CgroupDriver::Systemd);
        auto e = entryFor(s, kUid, QosClass::Burstable, true, "containerd://" + kHexA);
        t.makeDir(kBurstablePod + "/cri-containerd-" + kHexB + ".scope");  // another container
        t.makeDir(kBurstablePod + "/" + leaf);
        auto r = findContainerCgroup(s, e);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(*r, kBurstablePod + "/" + leaf);
    }
}

TEST(FindContainerCgroup, NeverTheCrioMonitor) {
    {
        TempDir t;
        auto s = setupOn(t, CgroupDriver::Systemd);
        auto e = entryFor(s, kUid, QosClass::Burstable, true, "containerd://" + kHexA);
        t.makeDir(kBurstablePod + "/crio-conmon-" + kHexA + ".scope");
        t.makeDir(kBurstablePod + "/crio-" + kHexA + ".scope");
        auto r = findContainerCgroup(s, e);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(*r, kBurstablePod + "/crio-" + kHexA + ".scope");
    }
    {
        TempDir t;
        auto s = setupOn(t, CgroupDriver::Systemd);
        auto e = entryFor(s, kUid, QosClass::Burstable, true, "cri-o://" + kHexA);
        t.makeDir(kBurstablePod + "/crio-conmon-" + kHexA + ".scope");
        auto r = findContainerCgroup(s, e);
        ASSERT_FALSE(r.ok()) << "found " << *r;
        EXPECT_EQ(r.error().code, ENOENT);
    }
}

TEST(FindContainerCgroup, MissingOrUnusable) {
    TempDir t;
    auto s = setupOn(t, CgroupDriver::Systemd);
    // The pod's cgroup exists, the container's does not (yet, or any more).
    t.makeDir(kBurstablePod + "/cri-containerd-" + kHexB + ".scope");
    auto e = entryFor(s, kUid, QosClass::Burstable, true, "containerd://" + kHexA);
    auto r = findContainerCgroup(s, e);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_NE(r.error().message.find(e.cgroup), std::string::npos) << r.error().message;

    auto noPod = entryFor(s, kUid2, QosClass::BestEffort, false, "containerd://" + kHexA);
    auto r2 = findContainerCgroup(s, noPod);
    ASSERT_FALSE(r2.ok());
    EXPECT_EQ(r2.error().code, ENOENT);

    auto noId = entryFor(s, kUid, QosClass::Burstable, true, "");
    ASSERT_FALSE(noId.idError.empty());
    EXPECT_FALSE(findContainerCgroup(s, noId).ok());
}

// ---------------------------------------------------------------------------------------------
// Listing container cgroups (no pod source)

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

TEST(ListContainerCgroups, SystemdTree) {
    TempDir t;
    const std::string be = "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUid2S + ".slice";
    const std::string g = "kubepods.slice/kubepods-pod" + kUid3 + ".slice";
    t.makeDir(kBurstablePod + "/cri-containerd-" + kHexA + ".scope");
    t.makeDir(kBurstablePod + "/cri-containerd-" + kHexB + ".scope");
    t.makeDir(be + "/crio-" + kHexC + ".scope/container");  // crun's child is not listed itself
    t.makeDir(be + "/crio-conmon-" + kHexC + ".scope");
    t.makeDir(g + "/docker-" + kHexD + ".scope");
    t.makeDir("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUid2S + ".slice");  // no containers
    t.makeFile("kubepods.slice/cgroup.procs");
    t.makeFile(kBurstablePod + "/cri-containerd-" + kHexC + ".scope");  // a file, not a cgroup
    t.makeDir("system.slice/docker-" + kHexD + ".scope");              // outside kubepods
    auto s = setupOn(t, CgroupDriver::Systemd);
    EXPECT_EQ(sorted(listContainerCgroups(s)), sorted({
                                                   kBurstablePod + "/cri-containerd-" + kHexA + ".scope",
                                                   kBurstablePod + "/cri-containerd-" + kHexB + ".scope",
                                                   be + "/crio-" + kHexC + ".scope",
                                                   g + "/docker-" + kHexD + ".scope",
                                               }));
}

TEST(ListContainerCgroups, CgroupfsTreeWithKubeletRoot) {
    TempDir t;
    t.makeDir("kubelet/kubepods/burstable/pod" + kUid + "/" + kHexA);
    t.makeDir("kubelet/kubepods/besteffort/pod" + kUid2 + "/crio-" + kHexB);
    t.makeDir("kubelet/kubepods/pod" + kUid3 + "/" + kHexC);
    t.makeDir("kubepods/burstable/pod" + kUid + "/" + kHexD);  // another kubelet's tree
    auto s = setupOn(t, CgroupDriver::Cgroupfs, {"kubelet"});
    EXPECT_EQ(sorted(listContainerCgroups(s)), sorted({
                                                   "kubelet/kubepods/burstable/pod" + kUid + "/" + kHexA,
                                                   "kubelet/kubepods/besteffort/pod" + kUid2 + "/crio-" + kHexB,
                                                   "kubelet/kubepods/pod" + kUid3 + "/" + kHexC,
                                               }));
}

TEST(ListContainerCgroups, NoKubepods) {
    TempDir t;
    t.makeDir("system.slice");
    EXPECT_TRUE(listContainerCgroups(setupOn(t, CgroupDriver::Systemd)).empty());
    EXPECT_TRUE(listContainerCgroups(setupOn(t, CgroupDriver::Cgroupfs)).empty());
}

// A unit's cgroup: systemd's properties once the container runs, the io.max file while it starts
// (a SetUnitProperties then would make systemd re-attach the device filter runc is replacing).
TEST(SystemdUnitWriter, StartingGoesToIoMaxStartedToSystemdAndHandsOverWhatIsOnlyInTheFile) {
    TempDir t;
    const std::string scope = "cri-containerd-" + kHexA + ".scope";
    const std::string cg = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidS + ".slice/" + scope;
    t.makeFile(cg + "/io.max");
    testing_support::FakeSystemdManager systemd;
    systemd.units[scope];  // loaded, no IO limits
    SystemdUnitWriter w(systemd, makeRawWriter(CgroupVersion::V2, t.path()), {{{259, 0}, "/dev/nvme0n1"}});
    const Limits lim{150, 150, 0, 0};

    // Starting: the file only; systemd is not asked anything.
    auto r = w.read(cg, {259, 0}, Stage::Starting);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->limits, Limits{});
    ASSERT_TRUE(w.write(cg, {259, 0}, lim, r->limits, Stage::Starting).ok());
    EXPECT_EQ(t.read(cg + "/io.max"), "259:0 rbps=max wbps=max riops=150 wiops=150\n");
    EXPECT_TRUE(systemd.calls.empty());
    r = w.read(cg, {259, 0}, Stage::Starting);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->limits, lim);
    EXPECT_FALSE(r->kernelOnly);

    // Started, systemd holds nothing: the file's line, in the file only.
    r = w.read(cg, {259, 0}, Stage::Started);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->limits, lim);
    EXPECT_TRUE(r->kernelOnly);
    // Written again: SetUnitProperties, and then systemd holds it.
    ASSERT_TRUE(w.write(cg, {259, 0}, lim, r->limits, Stage::Started).ok());
    ASSERT_EQ(systemd.calls.size(), 1u);
    EXPECT_EQ(systemd.calls[0].unit, scope);
    EXPECT_EQ(systemd.calls[0].device, "/dev/nvme0n1");
    EXPECT_EQ(systemd.calls[0].limits, lim);
    r = w.read(cg, {259, 0}, Stage::Started);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->limits, lim);
    EXPECT_FALSE(r->kernelOnly);

    // What systemd holds is what counts once it holds anything (it rewrites the line).
    systemd.units[scope]["/dev/nvme0n1"] = Limits{90, 90, 0, 0};
    r = w.read(cg, {259, 0}, Stage::Started);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->limits, (Limits{90, 90, 0, 0}));
    EXPECT_FALSE(r->kernelOnly);

    // Nothing anywhere: unlimited, nothing to hand over.
    systemd.units[scope].clear();
    t.makeFile(cg + "/io.max");
    r = w.read(cg, {259, 0}, Stage::Started);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->limits, Limits{});
    EXPECT_FALSE(r->kernelOnly);

    // A unit whose cgroup has no io.max (the io controller is not enabled for it, as on a host
    // whose io stays on cgroup v1): a starting container goes through systemd too.
    const std::string noIoScope = "cri-containerd-" + kHexB + ".scope";
    const std::string noIo = "kubepods.slice/" + noIoScope;
    t.makeDir(noIo);
    systemd.units[noIoScope];
    systemd.calls.clear();
    r = w.read(noIo, {259, 0}, Stage::Starting);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->limits, Limits{});
    ASSERT_TRUE(w.write(noIo, {259, 0}, lim, r->limits, Stage::Starting).ok());
    ASSERT_EQ(systemd.calls.size(), 1u);
    EXPECT_EQ(systemd.calls[0].unit, noIoScope);
    r = w.read(noIo, {259, 0}, Stage::Started);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->limits, lim);

    // Gone: ENOENT without asking systemd. Not a unit (cgroupfs driver): the file, either stage.
    systemd.calls.clear();
    auto gone = w.read("kubepods.slice/cri-containerd-" + std::string(64, 'f') + ".scope", {259, 0}, Stage::Started);
    ASSERT_FALSE(gone.ok());
    EXPECT_EQ(gone.error().code, ENOENT);
    const std::string plain = "kubepods/burstable/pod" + kUid + "/" + kHexA;
    t.makeFile(plain + "/io.max");
    ASSERT_TRUE(w.write(plain, {259, 0}, lim, Limits{}, Stage::Started).ok());
    EXPECT_EQ(t.read(plain + "/io.max"), "259:0 rbps=max wbps=max riops=150 wiops=150\n");
    EXPECT_TRUE(systemd.calls.empty());
}

// Detection and lookup together, as the daemon uses them.
TEST(FindContainerCgroup, AfterDetectionOnV1Cgroupfs) {
    TempDir t;
    const std::string cg = "kubepods/burstable/pod" + kUid + "/" + kHexA;
    t.makeDir("blkio/" + cg);
    auto s = detectCgroups(configFor(t));
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto e = entryFor(*s, kUid, QosClass::Burstable, true, "containerd://" + kHexA);
    auto r = findContainerCgroup(*s, e);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, cg);
    for (const char* f : kBlkioFiles) t.makeFile("blkio/" + cg + "/" + f);
    auto w = makeRawWriter(s->version, s->hierarchy);
    ASSERT_TRUE(w->write(*r, {8, 0}, Limits{500, 500, 0, 0}, Limits{}, Stage::Started).ok());
    EXPECT_EQ(t.read("blkio/" + cg + "/blkio.throttle.read_iops_device"), "8:0 500\n");
    EXPECT_EQ(t.read("blkio/" + cg + "/blkio.throttle.write_iops_device"), "8:0 500\n");
}

}  // namespace
}  // namespace iopslimit::host

// ---------------------------------------------------------------------------------------------
// The cgroup watcher when the inotify watch limit is reached

namespace iopslimit::host {
namespace {

TEST(CgroupWatcher, AWatchLimitIsCountedAndReportedOnceNamingTheRemedy) {
    TempDir t;
    t.makeFile("cgroup.controllers", "io\n");
    for (const char* uid : {"0f0f0f0f_0000_4000_8000_000000000001", "0f0f0f0f_0000_4000_8000_000000000002",
                            "0f0f0f0f_0000_4000_8000_000000000003", "0f0f0f0f_0000_4000_8000_000000000004"})
        t.makeDir(std::string("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod") + uid + ".slice");
    auto setup = detectCgroups(configFor(t));
    ASSERT_TRUE(setup.ok());
    // In a child, in its own user namespace, whose inotify watch limit it may lower without
    // touching the host's: 3 watches for root, kubepods and QoS, none left for the 4 pods.
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWUSER) != 0) _exit(77);
        std::ofstream("/proc/sys/user/max_inotify_watches") << "3\n";
        std::string got;
        {
            std::ifstream in("/proc/sys/user/max_inotify_watches");
            in >> got;
        }
        if (got != "3") _exit(77);
        CgroupWatcher w(*setup, [](const std::string&) {});
        if (w.fd() < 0) _exit(10);
        if (w.watches() != 3) _exit(11);
        if (w.unwatched() != 4) _exit(12);  // the 4 pod directories
        std::vector<std::string> reported;
        w.onWatchError = [&](const std::string& m) { reported.push_back(m); };
        w.rescan(false);
        w.rescan(false);
        if (reported.size() != 1) _exit(13);  // once per cause, not per directory or rescan
        if (reported[0].find("No space left on device") == std::string::npos) _exit(14);
        if (reported[0].find("raise fs.inotify.max_user_watches") == std::string::npos) _exit(15);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot lower the inotify watch limit in a user namespace here";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "10 no inotify, 11 watches, 12 unwatched count, 13 reports, 14/15 message";
}

}  // namespace
}  // namespace iopslimit::host
