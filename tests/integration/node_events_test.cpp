// What real nodes do after the daemon started: the kubepods tree appears later (the kubelet
// starts after iops-limitd), with either driver or under a kubelet cgroup root. The watchers and
// the layout follow at once; CHECK_INTERVAL=3600, so no poll can be what limited anything.
#include "daemon_fixture.h"

using namespace testing_support;

namespace {

enum class LateLayout { Cgroupfs, Systemd, SystemdUnderKubeletRoot };

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
    for (size_t i = 0; (i = s.find(from, i)) != std::string::npos; i += to.size()) s.replace(i, from.size(), to);
    return s;
}

// The container's cgroup as the kubelet names it in each layout (written here, not by core).
std::string cgroupIn(LateLayout l, const Ctr& c) {
    switch (l) {
        case LateLayout::Cgroupfs: return cgroupOf(c, false);
        case LateLayout::Systemd: return cgroupOf(c, true);
        case LateLayout::SystemdUnderKubeletRoot:
            return "kubelet.slice/" + replaceAll(cgroupOf(c, true), "kubepods", "kubelet-kubepods");
    }
    return {};
}

class LateKubepods : public RunningDaemon, public ::testing::WithParamInterface<LateLayout> {};

TEST_P(LateKubepods, TheTreeAppearingAfterStartIsWatchedAtOnce) {
    const LateLayout layout = GetParam();
    fs::path cg = tmp_.path() / "cgroup";
    fs::remove_all(cg / "kubepods.slice");  // the kubelet has not started yet
    startBus(false);
    startDaemon();
    ASSERT_TRUE(waitFor([&] { return daemon_->err().find("Started") != std::string::npos; })) << daemon_->err();

    // The "kubelet" starts: its whole tree, with the pods' containers, appears at once.
    fs::path staging = tmp_.path() / "staging";
    for (const auto& c : containers_) writeText(staging / cgroupIn(layout, c) / "io.max", "");
    std::string top = cgroupIn(layout, containers_.front());
    top = top.substr(0, top.find('/'));
    fs::rename(staging / top, cg / top);

    auto ioMaxIn = [&](const std::string& pod) {
        for (const auto& c : containers_)
            if (c.pod == pod) return readText(cg / cgroupIn(layout, c) / "io.max");
        return std::string("no such pod");
    };
    EXPECT_TRUE(waitFor([&] { return ioMaxIn("e2e-statefulset-0") == "259:0 rbps=max wbps=max riops=200 wiops=200\n"; },
                        std::chrono::seconds(3)))
        << ioMaxIn("e2e-statefulset-0") << daemon_->err();
    EXPECT_TRUE(waitFor([&] { return ioMaxIn("e2e-deployment-79967c5968-8bnn8") == "259:0 rbps=max wbps=max riops=500 wiops=500\n"; },
                        std::chrono::seconds(3)))
        << ioMaxIn("e2e-deployment-79967c5968-8bnn8");
    EXPECT_EQ(ioMaxIn("coredns-7d764666f9-qdcxt"), "");  // kube-system: excluded
    EXPECT_NE(daemon_->err().find("Found the kubepods cgroup: driver " +
                                  std::string(layout == LateLayout::Cgroupfs ? "cgroupfs" : "systemd")),
              std::string::npos)
        << daemon_->err();

    // Then a container of a pod the daemon has never seen: limited at once under the new tree,
    // as when the tree existed at start.
    Ctr stranger{"scraper", "late-0", "0f0f0f0f-0000-4000-8000-000000000042", "besteffort", "late",
                 std::string(64, 'f')};
    appear(cg, cgroupIn(layout, stranger), tmp_.path() / "staging2");
    EXPECT_TRUE(waitFor([&] { return readText(cg / cgroupIn(layout, stranger) / "io.max") ==
                                     "259:0 rbps=max wbps=max riops=500 wiops=500\n"; },
                        std::chrono::seconds(2)))
        << readText(cg / cgroupIn(layout, stranger) / "io.max") << daemon_->err();
    EXPECT_TRUE(daemon_->running());
}

INSTANTIATE_TEST_SUITE_P(Layouts, LateKubepods,
                         ::testing::Values(LateLayout::Cgroupfs, LateLayout::Systemd, LateLayout::SystemdUnderKubeletRoot),
                         [](const auto& info) {
                             switch (info.param) {
                                 case LateLayout::Cgroupfs: return std::string("Cgroupfs");
                                 case LateLayout::Systemd: return std::string("Systemd");
                                 case LateLayout::SystemdUnderKubeletRoot: return std::string("SystemdUnderKubeletRoot");
                             }
                             return std::string();
                         });

}  // namespace

namespace {

// The fake mount table rewritten as the kernel would show it after a mount (atomically: the
// daemon may read it at any moment).
void setMountTable(const fs::path& root, const std::string& extraLine) {
    writeText(root / "proc/self/mountinfo.new",
              "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
              "90 22 259:1 / /data rw,noatime shared:40 - xfs /dev/nvme0n1p1 rw,attr2\n" + extraLine);
    fs::rename(root / "proc/self/mountinfo.new", root / "proc/self/mountinfo");
}

TEST_F(RunningDaemon, ADataMountMountedLaterIsWaitedForThenLimitedAndFollowedToAnotherDisk) {
    // A second disk, sdb (8:16), for the move.
    writeText(tmp_.path() / "sys/devices/virtual/block/sdb/dev", "8:16\n");
    fs::create_symlink("../../devices/virtual/block/sdb", tmp_.path() / "sys/dev/block/8:16");
    extraEnv_["DATA_MOUNT"] = "/mnt/late";
    extraEnv_["METRICS_ADDRESS"] = "127.0.0.1:" + std::to_string(freePort());
    NotifySocket notify(tmp_.path() / "notify");
    startBus(false);
    startDaemon();  // starts although /mnt/late is not mounted: no failed unit after an install

    // Waiting, and saying so everywhere.
    EXPECT_NE(notify.drain().find("STATUS=Waiting for DATA_MOUNT /mnt/late (/mnt/late does not exist); pods from kubelet"),
              std::string::npos)
        << notify.drain();
    EXPECT_NE(property("WaitingFor").find("\"/mnt/late\" \"/mnt/late does not exist\""), std::string::npos)
        << property("WaitingFor");
    EXPECT_NE(ctl("status").out.find("/mnt/late: waiting (/mnt/late does not exist)"), std::string::npos) << ctl("status").out;
    EXPECT_NE(metrics(std::stoi(extraEnv_["METRICS_ADDRESS"].substr(10))).find(
                  "iopslimit_data_mount_ready{mount=\"/mnt/late\",device=\"\"} 0"),
              std::string::npos);
    EXPECT_NE(daemon_->err().find("Waiting for DATA_MOUNT /mnt/late: /mnt/late does not exist"), std::string::npos);
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "");  // nothing to write to yet
    EXPECT_NE(ctl("list").out.find("pending"), std::string::npos);

    // Mounted: every container limited at once, no poll (CHECK_INTERVAL=3600).
    auto t0 = std::chrono::steady_clock::now();
    setMountTable(tmp_.path(), "95 22 259:1 /late / rw - xfs /dev/nvme0n1p1 rw\n"
                               "96 22 259:1 /late /mnt/late rw - xfs /dev/nvme0n1p1 rw\n");
    // One pass writes them one after another: the first and the last seen.
    EXPECT_TRUE(waitFor([&] {
        return ioMax("e2e-statefulset-0") == "259:0 rbps=max wbps=max riops=200 wiops=200\n" &&
               ioMax("e2e-deployment-79967c5968-8bnn8") == "259:0 rbps=max wbps=max riops=500 wiops=500\n";
    }, std::chrono::seconds(3)))
        << ioMax("e2e-statefulset-0") << ioMax("e2e-deployment-79967c5968-8bnn8") << daemon_->err();
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(took, 1.0) << "limits came " << took << " s after the mount";
    EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=500 wiops=500\n");
    EXPECT_EQ(ioMax("coredns-7d764666f9-qdcxt"), "");
    EXPECT_TRUE(waitFor([&] { return property("WaitingFor") == "a(ss) 0\n"; })) << property("WaitingFor");
    EXPECT_NE(property("Devices").find("\"/mnt/late\" \"/dev/nvme0n1\" \"259:0\""), std::string::npos) << property("Devices");
    EXPECT_TRUE(waitFor([&] {
        return notify.drain().find("STATUS=Limiting 8 containers on nvme0n1 (259:0) via cgroup v2 files") != std::string::npos;
    })) << notify.drain();

    // The mount point moves to another disk: limits follow, ours leave the old one.
    setMountTable(tmp_.path(), "97 22 8:16 / /mnt/late rw - ext4 /dev/sdb rw\n");
    EXPECT_TRUE(waitFor([&] { return ioMax("e2e-statefulset-0") == "8:16 rbps=max wbps=max riops=200 wiops=200\n"; },
                        std::chrono::seconds(3)))
        << ioMax("e2e-statefulset-0") << daemon_->err();
    EXPECT_TRUE(waitFor([&] {
        return daemon_->err().find("No longer a data disk: nvme0n1 (259:0); removed our limit from 8 container(s) there") !=
               std::string::npos;
    })) << daemon_->err();
    EXPECT_TRUE(daemon_->running());
}

// DATA_MOUNT as operators write it: a symlink to the mount point, or a directory on the data file
// system that is not itself a mount point. Resolved as df(1) does, below IOPS_LIMIT_FS_ROOT.
TEST(DataMount, ASymlinkOrADirectoryOnTheDataFileSystemResolvesToItsDisk) {
    TempDir t;
    makeFakeDisk(t.path());
    writeText(t.path() / "proc/self/mountinfo", "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
                                                "90 22 259:1 / /mnt/disk1 rw,noatime shared:40 - xfs /dev/nvme0n1p1 rw\n");
    fs::create_directories(t.path() / "fs/mnt/disk1/kubelet/pods");
    fs::create_directories(t.path() / "fs/var/lib");
    fs::create_symlink("../../mnt/disk1/kubelet", t.path() / "fs/var/lib/kubelet");
    fs::create_directories(t.path() / "fs/srv");
    writeText(t.path() / "cgroup/cgroup.controllers", "io\n");
    for (const char* dataMount : {"/var/lib/kubelet", "/mnt/disk1/kubelet/pods", "/var/lib/kubelet/pods/"}) {
        RunResult r = run({IOPSLIMITD_PATH, "--dry-run"},
                          {{"DATA_MOUNT", dataMount}, {"IOPS_LIMIT_FS_ROOT", (t.path() / "fs").string()},
                           {"IOPS_LIMIT_PROC_ROOT", (t.path() / "proc").string()},
                           {"IOPS_LIMIT_SYS_ROOT", (t.path() / "sys").string()}, {"KUBELET_HOST", "127.0.0.1"},
                           {"KUBELET_PORT", "1"}, {"CGROUP_ROOT", (t.path() / "cgroup").string()},
                           {"CGROUP_VERSION", "v2"}, {"STATE_DIRECTORY", (t.path() / "state").string()}},
                          t.path());
        EXPECT_EQ(r.exitCode, 0) << dataMount << "\n" << r.err;
        EXPECT_NE(r.err.find(std::string("Data disk nvme0n1 (259:0) for ") + dataMount +
                             " (file system on partition nvme0n1p1): " + dataMount +
                             ": xfs on /dev/nvme0n1p1 mounted at /mnt/disk1 -> disk nvme0n1 (259:0)"),
                  std::string::npos)
            << r.err;
    }
    // A directory on the root file system: its disk, with a warning that it is the root's.
    RunResult r = run({IOPSLIMITD_PATH, "--dry-run"},
                      {{"DATA_MOUNT", "/srv"}, {"IOPS_LIMIT_FS_ROOT", (t.path() / "fs").string()},
                       {"IOPS_LIMIT_PROC_ROOT", (t.path() / "proc").string()},
                       {"IOPS_LIMIT_SYS_ROOT", (t.path() / "sys").string()}, {"KUBELET_HOST", "127.0.0.1"},
                       {"KUBELET_PORT", "1"}, {"CGROUP_ROOT", (t.path() / "cgroup").string()}, {"CGROUP_VERSION", "v2"},
                       {"STATE_DIRECTORY", (t.path() / "state").string()}},
                      t.path());
    EXPECT_NE(r.err.find("DATA_MOUNT /srv is on the root file system: limits apply to the root disk vda"), std::string::npos)
        << r.err;
}

}  // namespace

namespace {

// What we set is remembered across restarts: the first pass after a restart corrects exactly
// what a reload in the same process would have, and leaves what someone else set alone.
TEST_F(RunningDaemon, ARestartCorrectsWhatChangedWhileStoppedExactlyAsAReloadWould) {
    startBus(false);
    startDaemon();
    ASSERT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=500 wiops=500\n");
    ASSERT_EQ(ioMax("e2e-scraper-5f97dc94d8-vkcjl"), "259:0 rbps=max wbps=max riops=500 wiops=500\n");
    EXPECT_EQ(daemon_->stop(), 0);

    // While it is stopped: one pod gets excluded by a label; an operator sets the same 500 by hand
    // on a container of another pod that gets excluded too (so that one is not ours any more).
    Json::Value list;
    std::ifstream(tmp_.path() / "pods.json") >> list;
    for (auto& item : list["items"]) {
        std::string name = item["metadata"]["name"].asString();
        if (name == "e2e-deployment-79967c5968-8bnn8" || name == "e2e-scraper-5f97dc94d8-vkcjl")
            item["metadata"]["labels"]["iops-limit"] = "off";
    }
    writeText(tmp_.path() / "pods.json", Json::writeString(Json::StreamWriterBuilder(), list));
    const Ctr* byHand = containerOf("e2e-scraper-5f97dc94d8-vkcjl");
    writeText(tmp_.path() / "cgroup" / cgroupOf(*byHand, true) / "io.max", "259:0 rbps=max wbps=max riops=501 wiops=501\n");
    extraEnv_["EXCLUDE_LABEL_SELECTOR"] = "iops-limit=off";

    startDaemon();
    EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=max wiops=max\n")
        << daemon_->err();  // ours, and now excluded: removed on the first pass
    EXPECT_EQ(ioMax("e2e-scraper-5f97dc94d8-vkcjl"), "259:0 rbps=max wbps=max riops=501 wiops=501\n");  // not ours
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");
    EXPECT_NE(daemon_->err().find("Removed IOPS limit from excluded container"), std::string::npos);

    // A state file from before "ours" was recorded: every decision that was not an exclusion
    // counts as ours.
    EXPECT_EQ(daemon_->stop(), 0);
    Json::Value state;
    std::ifstream(tmp_.path() / "state/decisions.json") >> state;
    EXPECT_TRUE(state.isMember("ours"));
    state.removeMember("ours");
    state["version"] = 1;
    const Ctr* statefulset = containerOf("e2e-statefulset-0");
    for (auto& c : state["containers"])
        if (c["id"].asString() == statefulset->id) c["excluded"] = false;
    writeText(tmp_.path() / "state/decisions.json", Json::writeString(Json::StreamWriterBuilder(), state));
    for (auto& item : list["items"])
        if (item["metadata"]["name"].asString() == "e2e-statefulset-0") item["metadata"]["labels"]["iops-limit"] = "off";
    writeText(tmp_.path() / "pods.json", Json::writeString(Json::StreamWriterBuilder(), list));
    startDaemon();
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=max wiops=max\n") << daemon_->err();
}

}  // namespace

namespace {

// One meaning for the environment file: what systemd gave the process at start (simulated here
// by putting the file's values, as systemd 252 reads them, into the daemon's environment) and
// what a reload reads are the same, trailing " # comment" included; and a variable deleted from
// the file is gone after a reload, as after a restart.
TEST_F(RunningDaemon, StartAndReloadReadTheEnvironmentFileTheSameWay) {
    const std::string file = "# the operator's file\n"
                             "EXCLUDE_NAMESPACES=kube-system,scraper  # scraper jobs\n"
                             "CONTAINER_IOPS_LIMIT=300\n"
                             "export CHECK_INTERVAL=5\n";
    writeText(tmp_.path() / "iops-limit.env", file);
    extraEnv_["EXCLUDE_NAMESPACES"] = "kube-system,scraper  # scraper jobs";  // what systemd passes
    extraEnv_["CONTAINER_IOPS_LIMIT"] = "300";
    startBus(false);
    startDaemon();
    // "scraper  # scraper jobs" is not the namespace scraper: its pods stay limited.
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");
    EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=300 wiops=300\n");
    std::string err = daemon_->err();
    EXPECT_NE(err.find("iops-limit.env:2: "), std::string::npos) << err;     // the trailing comment
    EXPECT_NE(err.find("# scraper jobs"), std::string::npos) << err;
    EXPECT_NE(err.find("iops-limit.env:4: "), std::string::npos) << err;     // export: ignored by systemd

    ASSERT_EQ(ctl("reload").exitCode, 0);
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");  // same meaning
    EXPECT_EQ(property("DefaultLimits"), "(tttt) 300 300 0 0\n");

    // The operator fixes the comment and drops the default: the reload sees exactly that.
    writeText(tmp_.path() / "iops-limit.env", "# scraper jobs\nEXCLUDE_NAMESPACES=kube-system,scraper\n");
    ASSERT_EQ(ctl("reload").exitCode, 0);
    EXPECT_EQ(property("DefaultLimits"), "(tttt) 500 500 0 0\n");  // not the 300 of the start
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=max wiops=max\n");  // excluded now
}

}  // namespace
