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
