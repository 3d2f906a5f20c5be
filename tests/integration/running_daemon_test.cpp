// The io.iopslimit1 D-Bus API on a private dbus-daemon (never the host's system bus): every
// property and method through real busctl and the generated proxy, signals, root-only mutations
// (the daemon's own check and the shipped bus policy), override persistence across restarts,
// reload from the environment file, sd_notify messages, and iops-limitctl.
#include "daemon_fixture.h"

using namespace testing_support;

namespace {

TEST_F(RunningDaemon, PropertiesAndIntrospectionThroughBusctl) {
    startBus(false);
    startDaemon();
    std::string intro = busctl("introspect io.iopslimit1 /io/iopslimit1").out;
    for (const char* m : {"io.iopslimit1.Manager", ".ListContainers", ".Explain", ".SetPodOverride", ".ClearPodOverride",
                          ".ListOverrides", ".Resync", ".Reload", ".LimitApplied", ".LimitFailed", ".ManagedContainers"})
        EXPECT_NE(intro.find(m), std::string::npos) << m << "\n" << intro;
    EXPECT_EQ(property("NodeName"), "s \"datagen-1-35\"\n");
    EXPECT_EQ(property("CgroupVersion"), "s \"v2\"\n");
    EXPECT_EQ(property("CgroupDriver"), "s \"systemd\"\n");
    EXPECT_EQ(property("Backend"), "s \"cgroupfs\"\n");  // no systemd1 on this bus
    EXPECT_EQ(property("Runtime"), "s \"auto\"\n");
    EXPECT_EQ(property("Devices"), "a(sss) 1 \"/data\" \"/dev/nvme0n1\" \"259:0\"\n");
    EXPECT_EQ(property("DefaultLimits"), "(tttt) 500 500 0 0\n");
    EXPECT_EQ(property("PodSource"), "s \"kubelet\"\n");
    std::string sync = property("LastSyncUSec");
    ASSERT_EQ(sync.rfind("t ", 0), 0u);
    uint64_t usec = std::stoull(sync.substr(2));
    uint64_t now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::system_clock::now().time_since_epoch()).count());
    EXPECT_GT(usec, now - 60'000'000);
    EXPECT_LE(usec, now);
    EXPECT_EQ(property("Version").rfind("s \"", 0), 0u);

    // ManagedContainers agrees with ListContainers.
    RunResult list = call("ListContainers", false);
    ASSERT_EQ(list.exitCode, 0) << list.err;
    RunResult js = busctl("--json=short call io.iopslimit1 /io/iopslimit1 io.iopslimit1.Manager ListContainers");
    Json::Value v;
    std::istringstream(js.out) >> v;
    const Json::Value& rows = v["data"][0];
    ASSERT_TRUE(rows.isArray()) << js.out;
    unsigned limited = 0;
    bool sawAnnotated = false, sawExcluded = false;
    for (const auto& r : rows) {
        if (r[5].asString() != "excluded" && r[10].asString() == "applied") ++limited;
        if (r[1].asString() == "e2e-statefulset-0") {
            sawAnnotated = true;
            EXPECT_EQ(r[5].asString(), "annotation");
            EXPECT_EQ(r[6].asUInt64(), 200u);
            EXPECT_EQ(r[7].asUInt64(), 200u);
            EXPECT_NE(r[4].asString().find("cri-containerd-"), std::string::npos);
        }
        if (r[0].asString() == "kube-system") {
            sawExcluded = true;
            EXPECT_EQ(r[5].asString(), "excluded");
            EXPECT_EQ(r[10].asString(), "excluded");
        }
    }
    EXPECT_TRUE(sawAnnotated && sawExcluded);
    EXPECT_EQ(property("ManagedContainers"), "u " + std::to_string(limited) + "\n");
    EXPECT_EQ(limited, 8u);
}

TEST_F(RunningDaemon, ExplainSaysWhyAndRejectsBadNames) {
    startBus(false);
    startDaemon();
    RunResult r = call("Explain ss scraper e2e-statefulset-0");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("iops-limit/limit"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("read-iops: 200 from pod-annotation"), std::string::npos) << r.out;
    RunResult ks = call("Explain ss kube-system coredns-7d764666f9-qdcxt");
    EXPECT_NE(ks.out.find("excluded by namespace kube-system"), std::string::npos) << ks.out;
    RunResult unknown = call("Explain ss scraper no-such-pod");
    EXPECT_NE(unknown.out.find("is not among the 24 pods"), std::string::npos) << unknown.out;
    RunResult bad = call("Explain ss 'Bad Namespace' x");
    EXPECT_NE(bad.exitCode, 0);
    EXPECT_NE(bad.err.find("namespace and pod must be Kubernetes names"), std::string::npos) << bad.err;
}

TEST_F(RunningDaemon, OverridesApplyPersistAcrossRestartAndClear) {
    startBus(false);
    startDaemon();
    ASSERT_NE(ioMax("e2e-statefulset-0").find("riops=200 wiops=200"), std::string::npos);
    RunResult set = call("SetPodOverride sstttt scraper e2e-statefulset-0 50 60 0 1048576");
    ASSERT_EQ(set.exitCode, 0) << set.err;
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=1048576 riops=50 wiops=60\n");
    EXPECT_EQ(call("ListOverrides").out, "a(sstttt) 1 \"scraper\" \"e2e-statefulset-0\" 50 60 0 1048576\n");
    EXPECT_TRUE(fs::exists(tmp_.path() / "state/overrides.json"));

    // Restart: the override comes back from the state directory.
    EXPECT_EQ(daemon_->stop(), 0);
    writeText(tmp_.path() / "cgroup" / cgroupOf(containers_[0], true) / "io.max", "");
    startDaemon();
    EXPECT_EQ(call("ListOverrides").out, "a(sstttt) 1 \"scraper\" \"e2e-statefulset-0\" 50 60 0 1048576\n");
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=1048576 riops=50 wiops=60\n");

    RunResult clear = call("ClearPodOverride ss scraper e2e-statefulset-0");
    ASSERT_EQ(clear.exitCode, 0) << clear.err;
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");
    EXPECT_EQ(call("ListOverrides").out, "a(sstttt) 0\n");
    RunResult again = call("ClearPodOverride ss scraper e2e-statefulset-0");
    EXPECT_NE(again.exitCode, 0);
    EXPECT_NE(again.err.find("no override for pod scraper/e2e-statefulset-0"), std::string::npos) << again.err;
    RunResult huge = call("SetPodOverride sstttt scraper e2e-statefulset-0 18446744073709551615 0 0 0");
    EXPECT_NE(huge.exitCode, 0);
    EXPECT_NE(huge.err.find("too large"), std::string::npos) << huge.err;
}

TEST_F(RunningDaemon, TheDaemonRefusesMutationsFromNonRootEvenOnALooseBus) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to uid 65534 with setpriv";
    startBus(false);
    startDaemon();
    for (const char* m : {"SetPodOverride string:scraper string:e2e-statefulset-0 uint64:1 uint64:1 uint64:1 uint64:1",
                          "ClearPodOverride string:scraper string:x", "Resync", "Reload"}) {
        RunResult r = send(m, true);
        EXPECT_NE(r.exitCode, 0) << m;
        EXPECT_NE(r.err.find("org.freedesktop.DBus.Error.AccessDenied"), std::string::npos) << m << ": " << r.err;
        EXPECT_NE(r.err.find("allowed for root only (caller uid 65534)"), std::string::npos) << m << ": " << r.err;
    }
    EXPECT_NE(ioMax("e2e-statefulset-0").find("riops=200"), std::string::npos);
    RunResult read = call("ListContainers", true);
    EXPECT_EQ(read.exitCode, 0) << read.err;
    RunResult denied = ctl("set scraper/e2e-statefulset-0 --iops 1", true);
    EXPECT_EQ(denied.exitCode, 4) << denied.err;
    EXPECT_NE(denied.err.find("permission denied"), std::string::npos) << denied.err;
}

TEST_F(RunningDaemon, TheShippedPolicyLetsAnyoneReadAndOnlyRootMutate) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to uid 65534 with setpriv";
    startBus(true);
    startDaemon();
    EXPECT_EQ(call("ListContainers", true).exitCode, 0);
    EXPECT_EQ(call("ListOverrides", true).exitCode, 0);
    EXPECT_EQ(call("ListContainerStats", true).exitCode, 0);
    EXPECT_EQ(shell(std::string(IOPSLIMITCTL_PATH) + " top -b -n 1", true).exitCode, 0);
    EXPECT_EQ(call("Explain ss scraper e2e-statefulset-0", true).exitCode, 0);
    EXPECT_EQ(busctl("get-property io.iopslimit1 /io/iopslimit1 io.iopslimit1.Manager NodeName", true).exitCode, 0);
    EXPECT_EQ(busctl("introspect io.iopslimit1 /io/iopslimit1", true).exitCode, 0);
    RunResult r = send("SetPodOverride string:scraper string:e2e-statefulset-0 uint64:1 uint64:1 uint64:1 uint64:1", true);
    EXPECT_NE(r.exitCode, 0);
    // The bus said no, before the daemon saw the call.
    EXPECT_NE(r.err.find("Rejected send message"), std::string::npos) << r.err;
    EXPECT_EQ(call("Resync", true).exitCode, 1);
    EXPECT_EQ(call("SetPodOverride sstttt scraper e2e-statefulset-0 7 7 0 0").exitCode, 0);  // root may
    EXPECT_NE(ioMax("e2e-statefulset-0").find("riops=7 wiops=7"), std::string::npos);
}

TEST_F(RunningDaemon, SignalsReachAGeneratedProxy) {
    startBus(false);
    startDaemon();
    auto conn = sdbus::createSessionBusConnectionWithAddress(address_);
    Recorder rec(*conn);
    conn->enterEventLoopAsync();
    ASSERT_EQ(call("SetPodOverride sstttt scraper e2e-statefulset-0 42 43 0 0").exitCode, 0);
    EXPECT_TRUE(waitFor([&] { return rec.applied().find("scraper/e2e-statefulset-0/compute-pi-digits 42 43") != std::string::npos; }))
        << rec.applied();
    // Through the proxy's methods too.
    auto rows = rec.ListContainers();
    EXPECT_EQ(rows.size(), 17u);
    EXPECT_EQ(rec.NodeName(), "datagen-1-35");
    conn->leaveEventLoop();
}

TEST_F(RunningDaemon, ReloadReadsTheEnvironmentFileAndRefusesBadValues) {
    startBus(false);
    startDaemon();
    writeText(tmp_.path() / "iops-limit.env", "# changed by the operator\nCONTAINER_IOPS_LIMIT=300\n");
    RunResult ok = ctl("reload");
    ASSERT_EQ(ok.exitCode, 0) << ok.err;
    EXPECT_EQ(property("DefaultLimits"), "(tttt) 300 300 0 0\n");
    EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=300 wiops=300\n");

    writeText(tmp_.path() / "iops-limit.env", "CONTAINER_IOPS_LIMIT=lots\n");
    RunResult bad = ctl("reload");
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_NE(bad.err.find("CONTAINER_IOPS_LIMIT"), std::string::npos) << bad.err;
    EXPECT_EQ(property("DefaultLimits"), "(tttt) 300 300 0 0\n");
    EXPECT_TRUE(daemon_->running());
    EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=300 wiops=300\n");
}

TEST_F(RunningDaemon, NotifiesSystemdOfReadinessReloadAndStop) {
    NotifySocket notify(tmp_.path() / "notify");
    startBus(false);
    startDaemon();
    // READY=1 follows the bus name by a hair: wait for it rather than race it.
    std::string msgs;
    EXPECT_TRUE(waitFor([&] { return (msgs = notify.drain()).find("READY=1") != std::string::npos; })) << msgs;
    EXPECT_NE(msgs.find("STATUS=Limiting 8 containers on nvme0n1 (259:0) via cgroup v2 files; pods from kubelet"),
              std::string::npos)
        << msgs;
    ASSERT_EQ(ctl("reload").exitCode, 0);
    msgs = notify.drain();
    auto reloading = msgs.find("RELOADING=1");
    ASSERT_NE(reloading, std::string::npos) << msgs;
    EXPECT_NE(msgs.find("READY=1", reloading), std::string::npos) << msgs;
    EXPECT_EQ(daemon_->stop(), 0);
    EXPECT_NE(notify.drain().find("STOPPING=1"), std::string::npos);
}

TEST_F(RunningDaemon, ACorruptStateFileIsMovedAsideNotFatal) {
    writeText(tmp_.path() / "state/overrides.json", "{\"overrides\": [ {\"namespace\": 5 ");
    startBus(false);
    startDaemon();
    EXPECT_NE(daemon_->err().find("Failed to load overrides from"), std::string::npos) << daemon_->err();
    EXPECT_EQ(call("ListOverrides").out, "a(sstttt) 0\n");
    bool movedAside = false;
    for (const auto& e : fs::directory_iterator(tmp_.path() / "state"))
        movedAside = movedAside || e.path().filename().string().rfind("overrides.json.corrupt-", 0) == 0;
    EXPECT_TRUE(movedAside);
    EXPECT_NE(ioMax("e2e-statefulset-0").find("riops=200"), std::string::npos);
}

TEST_F(RunningDaemon, IopsLimitctlCommands) {
    startBus(false);
    startDaemon();
    RunResult status = ctl("status");
    ASSERT_EQ(status.exitCode, 0) << status.err;
    EXPECT_NE(status.out.find("Pod source: kubelet"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("/data on /dev/nvme0n1 (259:0)"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("Containers: 8 limited"), std::string::npos) << status.out;

    RunResult list = ctl("list");
    EXPECT_EQ(list.out.rfind("NAMESPACE", 0), 0u);
    EXPECT_NE(list.out.find("17 containers listed."), std::string::npos) << list.out;
    RunResult json = ctl("list --json");
    Json::Value v;
    std::istringstream(json.out) >> v;
    ASSERT_TRUE(v.isArray()) << json.out;
    EXPECT_EQ(v.size(), 17u);

    RunResult set = ctl("set scraper/e2e-statefulset-0 --read-iops 70 --write-bps 10Mi");
    ASSERT_EQ(set.exitCode, 0) << set.err;
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=10485760 riops=70 wiops=500\n");
    EXPECT_NE(ctl("overrides").out.find("e2e-statefulset-0"), std::string::npos);
    EXPECT_NE(ctl("explain scraper/e2e-statefulset-0").out.find("Override: read 70 / write 500 IOPS"), std::string::npos);
    EXPECT_EQ(ctl("clear scraper/e2e-statefulset-0").exitCode, 0);
    EXPECT_EQ(ctl("resync").exitCode, 0);

    EXPECT_EQ(ctl("set scraper/e2e-statefulset-0 --read-iops abc").exitCode, 2);
    EXPECT_EQ(ctl("set noslash").exitCode, 2);
    EXPECT_EQ(ctl("frobnicate").exitCode, 2);

    daemon_->stop();
    RunResult down = ctl("status");
    EXPECT_EQ(down.exitCode, 1);
    EXPECT_NE(down.err.find("iops-limitd is not running"), std::string::npos) << down.err;
    // Bad arguments are usage errors before anything is asked of the bus: the same with no bus at all.
    const std::string noBus = "DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + (tmp_.path() / "no-bus").string() + " ";
    for (const char* bad : {"top -d 0", "top -d 1x", "top -n 0", "top -n", "top --order size", "top --frob",
                            "explain noslash", "explain", "clear a/b extra", "set"}) {
        for (const std::string& prefix : {std::string(), noBus}) {
            RunResult r = shell(prefix + IOPSLIMITCTL_PATH + " " + bad);
            EXPECT_EQ(r.exitCode, 2) << prefix << bad << ": " << r.err;
            EXPECT_EQ(r.err.find("not running"), std::string::npos) << prefix << bad << ": " << r.err;
        }
    }
    EXPECT_NE(shell(noBus + IOPSLIMITCTL_PATH + " top -d 0").err.find("top -d needs seconds from 0.25 to 3600"),
              std::string::npos);
}

}  // namespace

namespace {

TEST_F(RunningDaemon, ANewContainerCgroupGetsItsLimitAtOnceWithoutWaitingForThePoll) {
    // e2e-statefulset-0 (annotated 200) has no cgroup yet when the daemon starts.
    const Ctr* annotated = containerOf("e2e-statefulset-0");
    ASSERT_TRUE(annotated);
    fs::path cg = tmp_.path() / "cgroup";
    fs::remove_all(cg / cgroupOf(*annotated, true));
    startBus(false);
    startDaemon();  // CHECK_INTERVAL=3600: only the watcher can act from here on
    int fetchesBefore = kubeletRequests(*emu_);
    std::string managed = property("ManagedContainers");
    ASSERT_EQ(managed.rfind("u ", 0), 0u) << managed;
    unsigned managedBefore = std::stoul(managed.substr(2));

    appear(cg, cgroupOf(*annotated, true), tmp_.path() / "staging1");
    EXPECT_TRUE(waitFor([&] { return ioMax("e2e-statefulset-0") == "259:0 rbps=max wbps=max riops=200 wiops=200\n"; },
                        std::chrono::seconds(5)))
        << ioMax("e2e-statefulset-0") << daemon_->err();
    // What the daemon shows follows at once, not at the next poll (an hour away here).
    EXPECT_EQ(property("ManagedContainers"), "u " + std::to_string(managedBefore + 1) + "\n");
    Json::Value listed;
    std::istringstream(ctl("list --json").out) >> listed;
    std::string state;
    for (const auto& c : listed)
        if (c["pod"].asString() == "e2e-statefulset-0") state = c["state"].asString();
    EXPECT_EQ(state, "applied") << listed;
    // A known container needs no fetch.
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_EQ(kubeletRequests(*emu_), fetchesBefore);

    // A container of a pod the daemon has never seen: the default at once, then one fetch.
    std::string rel = "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f0f0f0f_0000_4000_8000_000000000001.slice/"
                      "cri-containerd-" + std::string(64, 'e') + ".scope";
    appear(cg, rel, tmp_.path() / "staging2");
    EXPECT_TRUE(waitFor([&] { return readText(cg / rel / "io.max") == "259:0 rbps=max wbps=max riops=500 wiops=500\n"; },
                        std::chrono::seconds(5)))
        << readText(cg / rel / "io.max");
    EXPECT_TRUE(waitFor([&] { return kubeletRequests(*emu_) == fetchesBefore + 1; }, std::chrono::seconds(5)))
        << emu_->stats();
    // An unknown container that already carries a (stricter) limit keeps it: only fresh pod
    // data may change a limit someone set.
    {
        fs::path staging = tmp_.path() / "staging3";
        fs::create_directories(staging);
        writeText(staging / "io.max", "259:0 rbps=max wbps=max riops=77 wiops=77\n");
        std::string kept = "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f0f0f0f_0000_4000_8000_000000000002.slice/"
                           "cri-containerd-" + std::string(64, 'd') + ".scope";
        fs::create_directories((cg / kept).parent_path());
        fs::rename(staging, cg / kept);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        EXPECT_EQ(readText(cg / kept / "io.max"), "259:0 rbps=max wbps=max riops=77 wiops=77\n");
        EXPECT_TRUE(waitFor([&] { return kubeletRequests(*emu_) == fetchesBefore + 2; })) << emu_->stats();
        fetchesBefore += 1;
    }
    // A burst of unknown containers is one fetch, not one each.
    for (int i = 0; i < 5; ++i)
        appear(cg, "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f0f0f0f_0000_4000_8000_00000000010" +
                       std::to_string(i) + ".slice/cri-containerd-" + std::string(63, 'a') + std::to_string(i) + ".scope",
               tmp_.path() / ("burst" + std::to_string(i)));
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    EXPECT_EQ(kubeletRequests(*emu_), fetchesBefore + 2) << emu_->stats();
    EXPECT_TRUE(daemon_->running());
}

TEST_F(RunningDaemon, AHungKubeletDelaysNeitherNewContainersNorTheBusNorStopping) {
    // The poll runs on the fetch thread: while the kubelet takes 8 s to answer, a new container
    // is limited at once, D-Bus answers, and SIGTERM aborts the hung request.
    emu_ = std::make_unique<Emulator>(Emulator::Options{(tmp_.path() / "pods.json").string(), true, true, "normal",
                                                        "normal", 8.0});
    const Ctr* annotated = containerOf("e2e-statefulset-0");
    ASSERT_TRUE(annotated);
    fs::path cg = tmp_.path() / "cgroup";
    fs::remove_all(cg / cgroupOf(*annotated, true));
    startBus(false);
    auto env = daemonEnv();
    env["CHECK_INTERVAL"] = "1";
    daemon_ = std::make_unique<Process>(std::vector<std::string>{IOPSLIMITD_PATH}, env, tmp_.path(), "daemon");
    ASSERT_TRUE(waitFor([&] { return busctl("status io.iopslimit1").exitCode == 0 || !daemon_->running(); }));
    int before = kubeletRequests(*emu_);
    emu_->control("/mode?kubelet=slow");
    ASSERT_TRUE(waitFor([&] { return kubeletRequests(*emu_) > before; }, std::chrono::seconds(5))) << "a poll started";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));

    auto t0 = std::chrono::steady_clock::now();
    appear(cg, cgroupOf(*annotated, true), tmp_.path() / "staging");
    EXPECT_TRUE(waitFor([&] { return ioMax("e2e-statefulset-0") == "259:0 rbps=max wbps=max riops=200 wiops=200\n"; },
                        std::chrono::seconds(5)));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2)) << "limited while the poll hangs";
    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(property("PodSource"), "s \"kubelet\"\n");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2)) << "the bus answers while the poll hangs";

    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(daemon_->stop(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4)) << "the hung request is aborted";
}

TEST_F(RunningDaemon, AContainerLimitedBeforeItsPodIsListedLosesTheDefaultWhenThePodIsExcluded) {
    // kindnet-zkpn8 (kube-system: excluded) starts before the kubelet lists it, as containers
    // often do: it gets the default at once; a fetch that still does not list it must not make
    // the daemon forget that the default is its own, so the exclusion can take it away later.
    const Ctr* excluded = containerOf("kindnet-zkpn8");
    ASSERT_TRUE(excluded);
    fs::path cg = tmp_.path() / "cgroup";
    fs::remove_all(cg / cgroupOf(*excluded, true));
    Json::Value list = loadJson((tmp_.path() / "pods.json").string()), without = list;
    without["items"] = Json::arrayValue;
    for (const auto& item : list["items"])
        if (item["metadata"]["name"].asString() != "kindnet-zkpn8") without["items"].append(item);
    writeText(tmp_.path() / "pods.json", Json::writeString(Json::StreamWriterBuilder(), without));
    startBus(false);
    startDaemon();
    int fetches = kubeletRequests(*emu_);

    appear(cg, cgroupOf(*excluded, true), tmp_.path() / "staging");
    EXPECT_TRUE(waitFor([&] { return ioMax("kindnet-zkpn8") == "259:0 rbps=max wbps=max riops=500 wiops=500\n"; }))
        << ioMax("kindnet-zkpn8");
    ASSERT_TRUE(waitFor([&] { return kubeletRequests(*emu_) > fetches; })) << "the fetch an unknown container triggers";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(ioMax("kindnet-zkpn8"), "259:0 rbps=max wbps=max riops=500 wiops=500\n") << "still unknown: kept";

    writeText(tmp_.path() / "pods.json", Json::writeString(Json::StreamWriterBuilder(), list));
    ASSERT_EQ(call("Resync").exitCode, 0);
    EXPECT_EQ(ioMax("kindnet-zkpn8"), "259:0 rbps=max wbps=max riops=max wiops=max\n") << daemon_->err();
}

}  // namespace

namespace {

TEST_F(RunningDaemon, ARestartWithEveryPodSourceDownRestoresTheLastDecisions) {
    startBus(false);
    startDaemon();
    ASSERT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");
    EXPECT_TRUE(fs::exists(tmp_.path() / "state/decisions.json"));
    EXPECT_EQ(daemon_->stop(), 0);

    // The kubelet goes away and every cgroup loses its limit (as if re-created).
    emu_->control("/mode?kubelet=down");
    for (const auto& c : containers_) writeText(tmp_.path() / "cgroup" / cgroupOf(c, true) / "io.max", "");
    startDaemon();
    EXPECT_NE(daemon_->err().find("Failed to get pods from kubelet API"), std::string::npos);
    // Annotation-specific, not just the default; excluded containers stay untouched.
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");
    EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=500 wiops=500\n");
    EXPECT_EQ(ioMax("coredns-7d764666f9-qdcxt"), "");
    EXPECT_EQ(property("PodSource"), "s \"cache\"\n");

    // The kubelet comes back: fresh data, same decisions, nothing loosened on the way.
    emu_->control("/mode?kubelet=normal");
    ASSERT_EQ(call("Resync").exitCode, 0);
    EXPECT_EQ(property("PodSource"), "s \"kubelet\"\n");
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");
}

TEST_F(RunningDaemon, AFailingSourceNeverLoosensALimit) {
    startBus(false);
    const int port = freePort();
    writeText(tmp_.path() / "iops-limit.env", "METRICS_ADDRESS=127.0.0.1:" + std::to_string(port) + "\n");
    startDaemon();
    ASSERT_EQ(call("Reload").exitCode, 0);  // the environment file turns the metrics on
    ASSERT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");
    for (const char* mode : {"403", "500", "garbage", "down"}) {
        emu_->control(std::string("/mode?kubelet=") + mode);
        RunResult r = call("Resync");
        EXPECT_NE(r.exitCode, 0) << mode;  // the caller learns the source failed
        EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n") << mode;
        EXPECT_EQ(ioMax("e2e-deployment-79967c5968-8bnn8"), "259:0 rbps=max wbps=max riops=500 wiops=500\n") << mode;
    }
    EXPECT_TRUE(daemon_->running());
    std::string page = metrics(port);
    EXPECT_GE(metricValue(page, "iopslimit_pod_source_failures_total{source=\"kubelet\"}"), 4) << page;
    EXPECT_EQ(metricValue(page, "iopslimit_pod_source_failures_total{source=\"apiserver\"}"), 0);
    EXPECT_EQ(metricValue(page, "iopslimit_pod_source{source=\"kubelet\"}"), 1) << "the last fresh data came from it";
    EXPECT_NE(daemon_->err().find("HTTP 403: Forbidden"), std::string::npos);
    EXPECT_NE(daemon_->err().find("bad response: invalid JSON"), std::string::npos);
}

}  // namespace

namespace {

Json::Value podJson(const fs::path& podsFile, const std::string& name) {
    Json::Value list;
    std::ifstream(podsFile) >> list;
    for (const auto& item : list["items"])
        if (item["metadata"]["name"].asString() == name) return item;
    return Json::Value();
}

std::string event(const std::string& type, const Json::Value& pod) {
    Json::Value ev;
    ev["type"] = type;
    ev["object"] = pod;
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    return Json::writeString(w, ev);
}

int stat(const Emulator& emu, const char* key) {
    Json::Value v;
    std::istringstream(emu.stats()) >> v;
    return v[key].asInt();
}

TEST_F(RunningDaemon, TheApiServerWatchAppliesAnnotationChangesAndSurvivesBrokenStreams) {
    // The API server authenticates by token; no client certificate on this emulator.
    emu_ = std::make_unique<Emulator>(Emulator::Options{(tmp_.path() / "pods.json").string(), false, true});
    startBus(false);
    auto env = daemonEnv();
    env["KUBE_API_SERVER"] = emu_->baseUrl();
    env["KUBE_CA_PATH"] = (certDir() / "ca.crt").string();
    env["KUBE_TOKEN_PATH"] = (certDir() / "token").string();
    env["WATCH_STALL_TIMEOUT"] = "2";
    const int port = freePort();
    env["METRICS_ADDRESS"] = "127.0.0.1:" + std::to_string(port);
    daemon_ = std::make_unique<Process>(std::vector<std::string>{IOPSLIMITD_PATH}, env, tmp_.path(), "daemon");
    ASSERT_TRUE(waitFor([&] { return stat(*emu_, "open_watches") == 1; })) << emu_->stats() << daemon_->err();
    const std::string pod = "e2e-deployment-79967c5968-8bnn8";
    ASSERT_EQ(ioMax(pod), "259:0 rbps=max wbps=max riops=500 wiops=500\n");

    auto annotate = [&](const std::string& value) {
        Json::Value p = podJson(tmp_.path() / "pods.json", pod);
        p["metadata"]["annotations"]["iops-limit/limit"] = value;
        emu_->control("/event", event("MODIFIED", p));
    };
    auto start = std::chrono::steady_clock::now();
    annotate("300");
    ASSERT_TRUE(waitFor([&] { return ioMax(pod) == "259:0 rbps=max wbps=max riops=300 wiops=300\n"; }))
        << ioMax(pod) << daemon_->err();
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::cout << "annotation change -> io.max through the watch: " << took.count() << " ms\n";
    EXPECT_EQ(property("PodSource"), "s \"apiserver\"\n");

    // 410 Gone mid-stream: relist, watch again.
    int lists = stat(*emu_, "api_list_requests");
    emu_->control("/gone");
    ASSERT_TRUE(waitFor([&] { return stat(*emu_, "api_list_requests") > lists && stat(*emu_, "open_watches") == 1; }))
        << emu_->stats();
    annotate("310");
    EXPECT_TRUE(waitFor([&] { return ioMax(pod).find("riops=310") != std::string::npos; })) << ioMax(pod);

    // A truncated line, then a stalled stream: reconnect each time (the stall after 2 s).
    int watches = stat(*emu_, "watch_requests");
    emu_->control("/truncate");
    ASSERT_TRUE(waitFor([&] { return stat(*emu_, "watch_requests") > watches && stat(*emu_, "open_watches") == 1; }))
        << emu_->stats();
    watches = stat(*emu_, "watch_requests");
    emu_->control("/stall");
    ASSERT_TRUE(waitFor([&] { return stat(*emu_, "watch_requests") > watches; }, std::chrono::seconds(15))) << emu_->stats();
    emu_->control("/unstall");
    ASSERT_TRUE(waitFor([&] { return stat(*emu_, "open_watches") == 1; })) << emu_->stats();
    annotate("320");
    EXPECT_TRUE(waitFor([&] { return ioMax(pod).find("riops=320") != std::string::npos; })) << ioMax(pod);
    // The metrics saw it: 410, truncation and stall are three restarts; the watch is open again.
    std::string page = metrics(port);
    EXPECT_GE(metricValue(page, "iopslimit_watch_restarts_total"), 3) << page;
    EXPECT_EQ(metricValue(page, "iopslimit_watch_up"), 1);
    EXPECT_EQ(metricValue(page, "iopslimit_pod_source{source=\"apiserver\"}"), 1);
    EXPECT_GT(metricValue(page, "iopslimit_pod_source_last_success_timestamp_seconds{source=\"apiserver\"}"), 1.7e9);

    // Limits were never loosened on the way, and a deleted pod is forgotten.
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");
    emu_->control("/event", event("DELETED", podJson(tmp_.path() / "pods.json", pod)));
    EXPECT_TRUE(waitFor([&] { return call("ListContainers").out.find(pod) == std::string::npos; }));
    EXPECT_TRUE(daemon_->running());
}

}  // namespace

namespace {

long statusKiB(pid_t pid, const char* field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
    return -1;
}

// Clones the recorded pods up to n pods with fresh UIDs and container IDs (every third one
// annotated), and makes their cgroups; returns each container's cgroup and expected riops.
std::vector<std::pair<std::string, std::string>> makeManyPods(const fs::path& podsFile, const fs::path& cgroupRoot, int n) {
    Json::Value src;
    std::ifstream(std::string(IOPSLIMIT_TEST_DATA) + "/nri-kubernetes_1_35_kubelet_pods.json") >> src;
    Json::Value tmpl;
    for (const auto& p : src["items"])
        if (p["metadata"]["name"].asString() == "e2e-deployment-79967c5968-zjslc") tmpl = p;
    Json::Value list;
    list["kind"] = "PodList";
    list["items"] = Json::arrayValue;
    std::vector<std::pair<std::string, std::string>> want;
    char buf[80];
    for (int i = 0; i < n; ++i) {
        Json::Value p = tmpl;
        std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", i);
        p["metadata"]["uid"] = buf;
        p["metadata"]["name"] = "many-" + std::to_string(i);
        std::snprintf(buf, sizeof buf, "%064d", i);
        p["status"]["containerStatuses"][0]["containerID"] = std::string("containerd://") + buf;
        std::string limit = i % 3 == 0 ? "150" : "500";
        if (i % 3 == 0) p["metadata"]["annotations"]["iops-limit/limit"] = "150";
        list["items"].append(p);
        Ctr c{"scraper", p["metadata"]["name"].asString(), p["metadata"]["uid"].asString(), "burstable", "x", buf};
        std::string rel = cgroupOf(c, true);
        writeText(cgroupRoot / rel / "io.max", "");
        want.emplace_back(rel, limit);
    }
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    writeText(podsFile, Json::writeString(w, list));
    return want;
}

TEST_F(RunningDaemon, SigkillInTheMiddleOfALargeApplyThenRestartLeavesNoWrongLimit) {
    fs::path cg = tmp_.path() / "cgroup";
    auto want = makeManyPods(tmp_.path() / "pods.json", cg, 1000);
    startBus(false);
    daemon_ = std::make_unique<Process>(std::vector<std::string>{IOPSLIMITD_PATH}, daemonEnv(), tmp_.path(), "daemon");
    // Kill it once it has started writing, before it can have finished.
    auto limitedCount = [&] {
        int n = 0;
        for (const auto& [rel, limit] : want) n += readText(cg / rel / "io.max").empty() ? 0 : 1;
        return n;
    };
    ASSERT_TRUE(waitFor([&] { return limitedCount() > 0; }, std::chrono::seconds(20))) << daemon_->err();
    daemon_->stop(SIGKILL);
    int before = limitedCount();
    std::cout << "killed with " << before << " of 1000 containers limited\n";
    startDaemon();
    int wrong = 0;
    for (const auto& [rel, limit] : want)
        if (readText(cg / rel / "io.max") != "259:0 rbps=max wbps=max riops=" + limit + " wiops=" + limit + "\n") ++wrong;
    EXPECT_EQ(wrong, 0);
}

TEST_F(RunningDaemon, ChurnOfContainersWhileAnnotationsChangeKeepsMemoryBounded) {
    fs::path cg = tmp_.path() / "cgroup";
    startBus(false);
    startDaemon();
    auto rssAfterStart = statusKiB(daemon_->pid(), "RssAnon:");
    Json::Value pods;
    std::ifstream(tmp_.path() / "pods.json") >> pods;
    // 500 containers of unknown pods appear and vanish in bursts of 50, while the pods file
    // flips an annotation and the daemon resyncs between bursts.
    for (int burst = 0; burst < 10; ++burst) {
        std::vector<std::string> made;
        for (int i = 0; i < 50; ++i) {
            char uid[40], id[70];
            std::snprintf(uid, sizeof uid, "0f0f0f0f_%04d_4000_8000_%012d", burst, i);
            std::snprintf(id, sizeof id, "%032d%032d", burst, i);
            std::string rel = std::string("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod") + uid +
                              ".slice/cri-containerd-" + id + ".scope";
            appear(cg, rel, tmp_.path() / ("churn" + std::to_string(i)));
            made.push_back(rel);
        }
        ASSERT_TRUE(waitFor([&] { return readText(cg / made.back() / "io.max").find("riops=500") != std::string::npos; }));
        for (auto& item : pods["items"])
            if (item["metadata"]["name"].asString() == "e2e-statefulset-0")
                item["metadata"]["annotations"]["iops-limit/limit"] = burst % 2 ? "250" : "200";
        writeText(tmp_.path() / "pods.json.tmp", Json::writeString(Json::StreamWriterBuilder(), pods));
        fs::rename(tmp_.path() / "pods.json.tmp", tmp_.path() / "pods.json");
        ASSERT_EQ(call("Resync").exitCode, 0);
        for (const auto& rel : made) fs::remove_all(cg / rel);
    }
    ASSERT_EQ(call("Resync").exitCode, 0);
    EXPECT_NE(ioMax("e2e-statefulset-0").find("riops=250"), std::string::npos) << ioMax("e2e-statefulset-0");
    auto rssEnd = statusKiB(daemon_->pid(), "RssAnon:");
    std::cout << "daemon RssAnon: " << rssAfterStart << " KiB after start, " << rssEnd << " KiB after 500 containers of churn\n";
#if defined(__SANITIZE_ADDRESS__)
    // ASan's quarantine keeps freed memory resident on purpose: RSS says nothing here (the
    // leak checker at exit does).
    (void)rssEnd;
#else
    EXPECT_LT(rssEnd, rssAfterStart + 4096);  // bounded: nothing per vanished container stays
#endif
    // Only the fixture's containers remain in the daemon's view.
    EXPECT_EQ(property("ManagedContainers"), "u 8\n");
}

}  // namespace

namespace {

// Every line of a Prometheus text page is a comment (HELP/TYPE before the family's samples) or
// `name{label="value",...} number`; returns the first offending line, or "".
std::string badExpositionLine(const std::string& text) {
    static const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$)");
    static const std::regex comment(R"(^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
    std::set<std::string> typed;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, comment)) {
            if (m[1] == "TYPE") typed.insert(m[2]);
            continue;
        }
        if (!std::regex_match(line, m, sample)) return line;
        std::string name = m[1];
        bool known = typed.count(name);
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            if (name.ends_with(suffix) && typed.count(name.substr(0, name.size() - std::strlen(suffix)))) known = true;
        if (!known) return line + "   <- no TYPE before it";
    }
    return {};
}

class Observability : public RunningDaemon {
protected:
    // The annotated pod (iops-limit/limit: "200") and a default one, with IO counters.
    void SetUp() override {
        RunningDaemon::SetUp();
        for (const auto& c : containers_) {
            if (c.pod == "e2e-statefulset-0") annotated_ = c;
            if (c.pod == "e2e-scraper-5f97dc94d8-vkcjl") plain_ = c;
        }
        ASSERT_FALSE(annotated_.id.empty());
        ASSERT_FALSE(plain_.id.empty());
        // 259:0 is the throttled disk (/data); 8:0 is another disk and must not be counted.
        setIo(annotated_, 1000, 2000);
        writeText(dir(annotated_) / "io.pressure", "some avg10=12.50 avg60=3.00 avg300=1.00 total=4500000\n"
                                                   "full avg10=2.25 avg60=0.50 avg300=0.10 total=1500000\n");
        setIo(plain_, 0, 0);
        writeText(dir(plain_) / "io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                               "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    }
    fs::path dir(const Ctr& c) const { return tmp_.path() / "cgroup" / cgroupOf(c, true); }
    // Replaced atomically (rename), as the kernel's file never reads half-written: a reader
    // seeing it empty would take the counters for reset and report a burst.
    void setIo(const Ctr& c, uint64_t reads, uint64_t writes) {
        writeText(dir(c) / "io.stat.new", "8:0 rbytes=1 wbytes=1 rios=777777 wios=777777 dbytes=0 dios=0\n"
                                      "259:0 rbytes=" + std::to_string(reads * 4096) + " wbytes=" +
                                          std::to_string(writes * 4096) + " rios=" + std::to_string(reads) +
                                          " wios=" + std::to_string(writes) + " dbytes=0 dios=0\n");
        fs::rename(dir(c) / "io.stat.new", dir(c) / "io.stat");
    }
    std::string labels(const Ctr& c) const {
        return "namespace=\"" + c.ns + "\",pod=\"" + c.pod + "\",container=\"" + c.name + "\"";
    }
    RunResult get(const std::string& path, const std::string& extra = "") {
        return shell("curl -sS -w '\\n%{http_code} %{content_type}' " + extra + " http://127.0.0.1:" +
                     std::to_string(port_) + path);
    }
    int port_ = freePort();
    Ctr annotated_, plain_;
};

TEST_F(Observability, MetricsEndpointServesLimitsSourcesErrorsAndEachContainersIo) {
    // One container whose io.max cannot be read (a directory): an apply error.
    const Ctr* broken = nullptr;
    for (const auto& c : containers_)
        if (c.ns == "scraper" && c.pod != annotated_.pod && c.pod != plain_.pod) broken = &c;
    ASSERT_NE(broken, nullptr);
    fs::remove(dir(*broken) / "io.max");
    fs::create_directory(dir(*broken) / "io.max");

    startBus(false);
    writeText(tmp_.path() / "iops-limit.env", "METRICS_ADDRESS=127.0.0.1:" + std::to_string(port_) + "\n");
    auto env = daemonEnv();
    env["METRICS_ADDRESS"] = "127.0.0.1:" + std::to_string(port_);
    daemon_ = std::make_unique<Process>(std::vector<std::string>{IOPSLIMITD_PATH}, env, tmp_.path(), "daemon");
    ASSERT_TRUE(waitFor([&] { return get("/metrics").exitCode == 0 || !daemon_->running(); })) << daemon_->err();

    RunResult r = get("/metrics");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::string status = r.out.substr(r.out.rfind('\n') + 1);
    std::string page = r.out.substr(0, r.out.rfind('\n') + 1);
    EXPECT_EQ(status, "200 text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(badExpositionLine(page), "");

    // What is in force, per container, and where it came from.
    EXPECT_EQ(metricValue(page, "iopslimit_container_limit{" + labels(annotated_) + ",limit=\"read_iops\"}"), 200);
    EXPECT_EQ(metricValue(page, "iopslimit_container_limit{" + labels(plain_) + ",limit=\"write_iops\"}"), 500);
    EXPECT_TRUE(std::isnan(metricValue(page, "iopslimit_container_limit{" + labels(plain_) + ",limit=\"read_bps\"}")))
        << "unlimited directions are not exported";
    double total = 0;
    for (const char* src : {"default", "annotation", "override", "excluded"})
        total += metricValue(page, std::string("iopslimit_containers{source=\"") + src + "\"}");
    EXPECT_EQ(total, static_cast<double>(containers_.size()));
    EXPECT_GE(metricValue(page, "iopslimit_containers{source=\"annotation\"}"), 1);
    EXPECT_EQ(metricValue(page, "iopslimit_pod_source{source=\"kubelet\"}"), 1);
    EXPECT_EQ(metricValue(page, "iopslimit_pod_source{source=\"apiserver\"}"), 0);
    EXPECT_GT(metricValue(page, "iopslimit_pod_source_last_success_timestamp_seconds{source=\"kubelet\"}"), 1.7e9);
    EXPECT_GE(metricValue(page, "iopslimit_apply_errors_total{cause=\"other\"}"), 1);
    EXPECT_EQ(metricValue(page, "iopslimit_apply_errors_total{cause=\"permission\"}"), 0);
    EXPECT_GE(metricValue(page, "iopslimit_reconcile_duration_seconds_count"), 1);
    EXPECT_EQ(metricValue(page, "iopslimit_reconcile_duration_seconds_bucket{le=\"+Inf\"}"),
              metricValue(page, "iopslimit_reconcile_duration_seconds_count"));
    EXPECT_GE(metricValue(page, "iopslimit_limits_applied_total{source=\"annotation\"}"), 1);
    EXPECT_EQ(metricValue(page, "iopslimit_watch_restarts_total"), 0);
    EXPECT_GT(metricValue(page, "process_resident_memory_bytes"), 1e6);

    // IO counters of the throttled disk only, read at scrape time; pressure from io.pressure.
    std::string ops = "iopslimit_container_io_ops_total{" + labels(annotated_) + ",device=\"259:0\",op=";
    EXPECT_EQ(metricValue(page, ops + "\"read\"}"), 1000);
    EXPECT_EQ(metricValue(page, ops + "\"write\"}"), 2000);
    EXPECT_EQ(metricValue(page, "iopslimit_container_io_bytes_total{" + labels(annotated_) + ",device=\"259:0\",op=\"write\"}"),
              2000 * 4096.0);
    EXPECT_EQ(page.find("device=\"8:0\""), std::string::npos);
    EXPECT_EQ(metricValue(page, "iopslimit_container_io_pressure_some_avg10{" + labels(annotated_) + "}"), 12.5);
    EXPECT_EQ(metricValue(page, "iopslimit_container_io_pressure_some_seconds_total{" + labels(annotated_) + "}"), 4.5);
    setIo(annotated_, 1500, 2000);
    EXPECT_EQ(metricValue(get("/metrics").out, ops + "\"read\"}"), 1500) << "counters are read at every scrape";

    // A container of a pod nobody listed yet appears: counted, and its apply timed.
    double unknown = metricValue(page, "iopslimit_new_containers_total{pod_data=\"unknown\"}");
    double timed = metricValue(page, "iopslimit_new_container_apply_duration_seconds_count");
    appear(tmp_.path() / "cgroup",
           "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f0f0f0f_0000_4000_8000_000000000009.slice/"
           "cri-containerd-" + std::string(64, 'c') + ".scope",
           tmp_.path() / "staging-new");
    EXPECT_TRUE(waitFor([&] {
        return metricValue(get("/metrics").out, "iopslimit_new_containers_total{pod_data=\"unknown\"}") == unknown + 1;
    })) << get("/metrics").out;
    page = get("/metrics").out;
    EXPECT_EQ(metricValue(page, "iopslimit_new_container_apply_duration_seconds_count"), timed + 1);
    EXPECT_LT(metricValue(page, "iopslimit_new_container_apply_duration_seconds_sum"), 1.0);

    // Only GET/HEAD on /metrics and /.
    EXPECT_EQ(get("/").out.substr(get("/").out.rfind('\n') + 1, 3), "200");
    RunResult notFound = get("/nope");
    EXPECT_EQ(notFound.out.substr(notFound.out.rfind('\n') + 1, 3), "404");
    RunResult post = get("/metrics", "-X POST --data x=1");
    EXPECT_EQ(post.out.substr(post.out.rfind('\n') + 1, 3), "405");
    RunResult head = get("/metrics", "-I");
    EXPECT_NE(head.out.find("200"), std::string::npos);

    // A client that connects and sends nothing does not stall the daemon.
    int idle = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(property("PodSource"), "s \"kubelet\"\n");
    EXPECT_EQ(get("/metrics").exitCode, 0);
    close(idle);

    // Off when METRICS_ADDRESS is empty; a reload that sets it (environment file) starts it.
    int other = freePort();
    daemon_->stop();
    env["METRICS_ADDRESS"] = "";
    writeText(tmp_.path() / "iops-limit.env", "METRICS_ADDRESS=127.0.0.1:" + std::to_string(other) + "\n");
    daemon_ = std::make_unique<Process>(std::vector<std::string>{IOPSLIMITD_PATH}, env, tmp_.path(), "daemon2");
    ASSERT_TRUE(waitFor([&] { return busctl("status io.iopslimit1").exitCode == 0; })) << daemon_->err();
    EXPECT_NE(get("/metrics").exitCode, 0) << "off unless METRICS_ADDRESS is set";
    ASSERT_EQ(call("Reload").exitCode, 0);
    port_ = other;
    EXPECT_TRUE(waitFor([&] { return get("/metrics").exitCode == 0; })) << daemon_->err();
}

TEST_F(Observability, ABadMetricsAddressIsAClearStartupError) {
    startBus(false);
    auto env = daemonEnv();
    env["METRICS_ADDRESS"] = "metrics.example:80";
    RunResult r = run({IOPSLIMITD_PATH}, env, tmp_.path());
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("METRICS_ADDRESS=\"metrics.example:80\": not an IPv4 address"), std::string::npos) << r.err;
}

TEST_F(Observability, APortInUseLeavesEnforcementRunning) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(fd, 1), 0);
    startBus(false);
    auto env = daemonEnv();
    env["METRICS_ADDRESS"] = std::to_string(port_);
    daemon_ = std::make_unique<Process>(std::vector<std::string>{IOPSLIMITD_PATH}, env, tmp_.path(), "daemon");
    ASSERT_TRUE(waitFor([&] { return busctl("status io.iopslimit1").exitCode == 0 || !daemon_->running(); }));
    EXPECT_TRUE(daemon_->running());
    EXPECT_EQ(ioMax("e2e-statefulset-0"), "259:0 rbps=max wbps=max riops=200 wiops=200\n");
    EXPECT_NE(daemon_->err().find("Failed to listen for metrics on 127.0.0.1:" + std::to_string(port_)), std::string::npos)
        << daemon_->err();
    close(fd);
}

// ListContainerStats: rates between two reads of the counters, over the window it reports.
Json::Value statsCall(const std::function<RunResult(const std::string&)>& busctl) {
    RunResult r = busctl("--json=short call io.iopslimit1 /io/iopslimit1 io.iopslimit1.Manager ListContainerStats");
    Json::Value v;
    std::istringstream(r.out) >> v;
    return v;
}

TEST_F(Observability, ListContainerStatsGivesRatesPressureAndLimitsAndTopShowsThem) {
    startBus(false);
    startDaemon();
    auto bus = [&](const std::string& a) { return busctl(a); };
    auto find = [&](const Json::Value& reply, const Ctr& c) -> Json::Value {
        for (const auto& row : reply["data"][0])
            if (row[3].asString() == c.id) return row;
        return Json::Value();
    };
    // First call after a pause: a fresh 1 s window, counters unchanged -> zero rates.
    Json::Value first = statsCall(bus);
    ASSERT_EQ(first["type"].asString(), "a(ssssdddddtttt)t") << first;
    EXPECT_GE(first["data"][1].asUInt64(), 1000000u);
    Json::Value row = find(first, annotated_);
    ASSERT_FALSE(row.isNull()) << first;
    EXPECT_EQ(row[0].asString(), annotated_.ns);
    EXPECT_EQ(row[2].asString(), annotated_.name);
    EXPECT_EQ(row[4].asDouble(), 0);
    EXPECT_EQ(row[8].asDouble(), 12.5) << "io.pressure some avg10";
    EXPECT_EQ(row[9].asUInt64(), 200u);
    EXPECT_EQ(row[10].asUInt64(), 200u);
    EXPECT_EQ(row[11].asUInt64(), 0u);

    // 600 more reads and 300 more writes between two calls: rate x window = the delta.
    setIo(annotated_, 1600, 2300);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    Json::Value second = statsCall(bus);
    double window = second["data"][1].asDouble() / 1e6;
    EXPECT_GE(window, 0.4);
    EXPECT_LE(window, 10);
    row = find(second, annotated_);
    EXPECT_NEAR(row[4].asDouble() * window, 600, 1);
    EXPECT_NEAR(row[5].asDouble() * window, 300, 1);
    EXPECT_NEAR(row[7].asDouble() * window, 300 * 4096, 4096);
    EXPECT_EQ(find(second, plain_)[4].asDouble(), 0);

    // iops-limitctl top, batch mode: two refreshes, the busiest first, LIMIT% of its limit.
    setIo(annotated_, 1600, 2300);
    RunResult top = ctl("top -b -n 2 -d 0.3");
    ASSERT_EQ(top.exitCode, 0) << top.err;
    EXPECT_NE(top.out.find("iops-limitd on datagen-1-35: " + std::to_string(first["data"][0].size()) + " containers"),
              std::string::npos) << top.out;
    EXPECT_NE(top.out.find("POD"), std::string::npos);
    EXPECT_NE(top.out.find("LIMIT%"), std::string::npos);
    EXPECT_NE(top.out.find(annotated_.ns + "/" + annotated_.pod), std::string::npos) << top.out;
    // Make the annotated container busy at about its limit during the refresh.
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        uint64_t reads = 1600;
        while (!stop) {
            reads += 20;  // ~200 reads/s
            setIo(annotated_, reads, 2300);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });
    RunResult busy = ctl("top -b -n 3 -d 0.5 --order limit");
    stop = true;
    writer.join();
    ASSERT_EQ(busy.exitCode, 0) << busy.err;
    // The last refresh's first row is the annotated container, near 100% of its 200 IOPS.
    std::string last = busy.out.substr(busy.out.rfind("POD"));
    std::istringstream lines(last);
    std::string header, firstRow;
    std::getline(lines, header);
    std::getline(lines, firstRow);
    EXPECT_EQ(firstRow.rfind(annotated_.ns + "/" + annotated_.pod, 0), 0u) << busy.out;
    std::istringstream cells(firstRow);
    std::vector<std::string> c;
    for (std::string w; cells >> w;) c.push_back(w);
    ASSERT_EQ(c.size(), 9u) << firstRow;
    EXPECT_NEAR(std::stod(c[6]), 100, 40) << firstRow;  // LIMIT%: ~200 reads/s against 200
    EXPECT_EQ(c[7], "12.50");
    EXPECT_EQ(c[8], "annotation");  // SOURCE: where its limit comes from (adaptive when one holds it)

    EXPECT_EQ(ctl("top -n 0").exitCode, 2);
    EXPECT_EQ(ctl("top -d abc").exitCode, 2);
    EXPECT_EQ(ctl("top --order size").exitCode, 2);
}

}  // namespace
