// Cgroup naming (kubelet cm/ ConvertCgroupNameToSystemd and the cgroupfs layout) and its inverse.
#include "core/cgroup_path.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/pod.h"

namespace iopslimit::core {
namespace {

// Every running container of the two kubelet /pods fixtures (uid, QoS class, containerID),
// generated with python3's json module while writing this test.
struct RunningContainer {
    std::string uid;
    QosClass qos;
    std::string containerId;
};

const std::vector<RunningContainer> kRunning135 = {
    {"3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4", QosClass::Burstable, "containerd://77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83"},
    {"5e5613d6-fccb-40d6-967b-447697d4d871", QosClass::Burstable, "containerd://fe888b5a90a7d62f7b6ab92186e0a2c79e21d75bc864a94c0d64ef170290273f"},
    {"559f50c7-6133-4901-a283-262ff4358722", QosClass::BestEffort, "containerd://1a72454ac6beafc9578614869ebd2cda4dd93156c9320443ddd8cf3caafdaa70"},
    {"b5812e37-ce78-41e2-9d8d-d93a88e481d6", QosClass::Burstable, "containerd://bcbcd3972a517ab0ed8df77d0a07d082c529278f206d0f4a29ebbe940996e9e5"},
    {"ebb73de1-03ec-4c34-bda3-bb8a44f01c2b", QosClass::Guaranteed, "containerd://d8d42efd0bf1d231a739597470d876aba084f8480722678ccd5fef8df5cbce10"},
    {"da59f36e-a7a8-46ed-8d9d-36392eb967d4", QosClass::Burstable, "containerd://a33effaac09ebc0bd003f783736428445148029e0a835cf57e592321b75b8c7a"},
    {"b74071bf-fab2-44d0-9850-55ff20eda8c3", QosClass::Burstable, "containerd://f178027c6d8689af7d274bb9018b4e3a84135a753543436bed5a52c4797760de"},
    {"07bd11a0a13dfe5450a17a39eb8e32d2", QosClass::Burstable, "containerd://898d75812ec6f153cfb46b6cb485c02bffe26643ae6f61323a76a71de8954178"},
    {"eaf7d48161d81d9c3359e1c008571fd6", QosClass::Burstable, "containerd://104e1ed61ab8781f2e535a12c2d8084c79975d2a7931fe6b04c63f6cb45af71e"},
    {"e9afcd8d3c942968802548f9a24d942a", QosClass::Burstable, "containerd://d4d8eec2d084f08795c838bdc3609e6aea11f77a7b677ce6e879636fb6cbf519"},
    {"081d040e-c94b-41ea-8278-eb12903ddd99", QosClass::BestEffort, "containerd://8089c78683adb7999a9399e140e2e4f61e57877f0e72324fb7eba6cc194dbf61"},
    {"52e6202b-d247-4d4d-8ff5-809b6d8b292e", QosClass::BestEffort, "containerd://86f42bd0e6702d9550841cfee08968d96726d8652846d38c9c81f12f97080a96"},
    {"4aa017de-86c6-41cd-b4ad-21b66575685c", QosClass::Burstable, "containerd://5d8fb4b3db861f571c6a1a9de6bf86cbe14cbcfc95f01566608c8e4e791eaf41"},
    {"8ac8c3a9ee4d182b8d934f20e971ada7", QosClass::Burstable, "containerd://88e37f75c461dd32860815f6490cabf0edd2e77f835d1b2625142b3d98d52f27"},
    {"90565722-42c8-4f10-a59b-c8fc6571e86d", QosClass::BestEffort, "containerd://836572c46f0aaa563fbc077ff66c802984860f35dcdee7e9ce5b4f247e2afb41"},
    {"36447428-81f8-45eb-b825-414de2e8012b", QosClass::Burstable, "containerd://facedc3f02c7efea0daff3590c408c2fb5820f875b93cb4c757df0d10d73786f"},
    {"45b528af-fb82-4e96-8103-b9da1194dd36", QosClass::Burstable, "containerd://ff102f3ad315dd9b977f8e654f8dfc8c21daff8744724a835267e0d91374fc54"},
};

const std::vector<RunningContainer> kRunning118 = {
    {"b395a1e17534e69e27827b1f8d737725", QosClass::Burstable, "docker://0a6922403758bbe2d191afa3363e981d2442d50bc054149b672b8683156079ab"},
    {"81b0b50a-1a55-478f-ba87-53bf08678eac", QosClass::BestEffort, "docker://30249b5e556f4ffb5237470b3ed33bf8c85cef43e36aff004083411696ff78b9"},
    {"3f541c3f-b181-443d-bf25-42ddf2468884", QosClass::BestEffort, "docker://6a724bdba92c9e361255c152a45f8910fdd53d5a4317284ebe63b56a57bdadd2"},
    {"0284f2dd-b5cb-4afb-9a28-fcd20756b15d", QosClass::Burstable, "docker://21f205bbce130d8167df6e6e74337b82407c904603da2ffa95619b3572b49d0a"},
    {"98128cb37fdc7d34c4fde6719fa0b628", QosClass::BestEffort, "docker://ecacf5e6b8781a177123f7494297476a140151d3300c7011fdbd22ef50b98391"},
    {"ffc5a2aa-d3c6-4b73-aa30-2da68fbf94de", QosClass::Burstable, "docker://ccfe6b89b8cf6216b08c6f21efcd31d314002d63c194423e77a69fc704653f86"},
    {"b9232e2b-7e34-4ee5-85a2-a684ff8b0e85", QosClass::BestEffort, "docker://9a225950a1ae5b37e78470a18c21850a4bfa4ec74b1ddbe50f8a2cfa0a4da0cf"},
    {"e749ba33-6fcb-4d86-b629-ab9c03ae0bd0", QosClass::BestEffort, "docker://2713955b4b6e1edda313eed95fc9066725c36ecb374251d025b9c3e3458f7fe5"},
    {"4236a7b1ea0007630c0aea66e14bb932", QosClass::Burstable, "docker://cb23ca61f4f4c53a0078114cd1301d79b2fa508a8c7fdfaf7e778a3a6588a225"},
    {"d12e497b0008e22acbcd5a9cf2dd48ac", QosClass::Burstable, "docker://f4b9be223ecdf6ac6cbcc55e8caeb23dece543e373a74487df906c2dbf5be39f"},
    {"b1191f13-da93-4c3f-b7b5-c2aa41458b9b", QosClass::BestEffort, "docker://1911ea197e6437aa691b84c0d22210f248f3e11a0734a340495ab6fe45cba7c6"},
    {"aa7cdc9d-a28b-403d-9e20-cc7df380b454", QosClass::BestEffort, "docker://ab1b3c9d30cebad165cb1ebf5426e3f2a655f9334f4250bfc0e677288009ca26"},
    {"7f0166a1-e64f-4d22-8a85-59064be3a822", QosClass::Burstable, "docker://443bd3a20edc43592097827d60c921314a5ee51a047bc80ef4480e5618ab8d1a"},
    {"6de57221-b672-4470-b563-65954cb4cd87", QosClass::BestEffort, "docker://99489cc6f7ea737018e1e735a546da3bb36b21cacddee131a9ebd5e768c5efdd"},
    {"8fe7164a-946f-422a-87a3-24d181fd7725", QosClass::BestEffort, "docker://48a8015d6f4aa68d59f4945c51f1f1463e2c3c39f5f12c7ce39cc63a209fffc1"},
};


const std::string kHex64 = "49f9e8e5395d57c1083996c09e2e6f042d5fe1ec0310facab32f94912b35ce59";
const std::string kUid = "2942c55e-c9cb-428a-93f4-eaf89c1f3ce0";
const std::string kUidSystemd = "2942c55e_c9cb_428a_93f4_eaf89c1f3ce0";

std::string dashesToUnderscores(std::string s) {
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
}

std::string qosWord(QosClass q) {
    switch (q) {
        case QosClass::Burstable: return "burstable";
        case QosClass::BestEffort: return "besteffort";
        case QosClass::Guaranteed: break;
    }
    return "";
}

// The expected path, spelled out from the kubelet's rules: with root "kubelet" (or none),
// systemd nests slices that repeat their parents' names, cgroupfs nests plain directories.
std::string expectedPodPath(CgroupDriver d, bool kubeletRoot, const std::string& uid, QosClass q) {
    const std::string qos = qosWord(q);
    if (d == CgroupDriver::Systemd) {
        std::string top = kubeletRoot ? "kubelet-kubepods" : "kubepods";
        std::string path = kubeletRoot ? "kubelet.slice/" : "";
        path += top + ".slice/";
        if (!qos.empty()) {
            path += top + "-" + qos + ".slice/";
            path += top + "-" + qos + "-pod" + dashesToUnderscores(uid) + ".slice";
        } else {
            path += top + "-pod" + dashesToUnderscores(uid) + ".slice";
        }
        return path;
    }
    std::string path = kubeletRoot ? "kubelet/kubepods/" : "kubepods/";
    if (!qos.empty()) path += qos + "/";
    return path + "pod" + uid;
}

std::string expectedLeaf(CgroupDriver d, const std::string& rawId) {
    const std::string scheme = rawId.substr(0, rawId.find("://"));
    const std::string id = rawId.substr(rawId.find("://") + 3);
    if (d == CgroupDriver::Systemd) {
        if (scheme == "containerd") return "cri-containerd-" + id + ".scope";
        if (scheme == "cri-o") return "crio-" + id + ".scope";
        if (scheme == "docker") return "docker-" + id + ".scope";
        ADD_FAILURE() << "unexpected scheme " << scheme;
        return "";
    }
    return scheme == "cri-o" ? "crio-" + id : id;
}

void checkFixture(const std::vector<RunningContainer>& running) {
    for (CgroupDriver d : {CgroupDriver::Systemd, CgroupDriver::Cgroupfs}) {
        for (bool kubeletRoot : {false, true}) {
            CgroupLayout layout{d, kubeletRoot ? std::vector<std::string>{"kubelet"} : std::vector<std::string>{}};
            for (const auto& rc : running) {
                SCOPED_TRACE(std::string(driverName(d)) + (kubeletRoot ? " /kubelet " : " ") + rc.uid + " " +
                             rc.containerId);
                auto id = parseContainerId(rc.containerId);
                ASSERT_TRUE(id.ok()) << id.error().message;
                const std::string pod = expectedPodPath(d, kubeletRoot, rc.uid, rc.qos);
                EXPECT_EQ(podCgroup(layout, rc.uid, rc.qos), pod);
                EXPECT_EQ(containerLeaf(d, *id), expectedLeaf(d, rc.containerId));
                EXPECT_EQ(containerCgroup(layout, rc.uid, rc.qos, *id), pod + "/" + expectedLeaf(d, rc.containerId));
            }
        }
    }
}

TEST(ContainerCgroup, EveryRunningContainerOfKubelet135) {
    ASSERT_EQ(kRunning135.size(), 17u);
    checkFixture(kRunning135);
}

TEST(ContainerCgroup, EveryRunningContainerOfKubelet118Docker) {
    ASSERT_EQ(kRunning118.size(), 15u);
    checkFixture(kRunning118);
}

// The table above must be exactly the running containers decodePodList finds.
TEST(ContainerCgroup, FixtureTablesMatchTheDecodedPods) {
    for (const auto& [file, table] : {std::pair{"nri-kubernetes_1_35_kubelet_pods.json", &kRunning135},
                                      std::pair{"nri-kubernetes_1_18_docker_kubelet_pods.json", &kRunning118}}) {
        SCOPED_TRACE(file);
        std::ifstream in(std::string(IOPSLIMIT_TEST_DATA) + "/" + file, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        auto list = decodePodList(ss.str());
        ASSERT_TRUE(list.ok()) << list.error().message;
        size_t i = 0;
        for (const auto& p : list->pods)
            for (const auto& c : p.containers) {
                if (c.state != ContainerState::Running) continue;
                ASSERT_LT(i, table->size());
                EXPECT_EQ(p.uid, (*table)[i].uid);
                EXPECT_EQ(p.qos, (*table)[i].qos);
                EXPECT_EQ(c.containerId, (*table)[i].containerId);
                ++i;
            }
        EXPECT_EQ(i, table->size());
    }
}

struct PathCase {
    CgroupDriver driver;
    std::vector<std::string> root;
    std::string uid;
    QosClass qos;
    Runtime runtime;
    std::string id;
    std::string want;
};

TEST(ContainerCgroup, HandWrittenVectors) {
    using D = CgroupDriver;
    using Q = QosClass;
    using R = Runtime;
    const std::string& h = kHex64;
    const std::vector<std::string> kubelet = {"kubelet"};
    const std::vector<PathCase> cases = {
        {D::Systemd, {}, kUid, Q::Burstable, R::Containerd, h,
         "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd + ".slice/cri-containerd-" + h + ".scope"},
        {D::Systemd, {}, kUid, Q::BestEffort, R::Containerd, h,
         "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSystemd + ".slice/cri-containerd-" + h + ".scope"},
        {D::Systemd, {}, kUid, Q::Guaranteed, R::Containerd, h,
         "kubepods.slice/kubepods-pod" + kUidSystemd + ".slice/cri-containerd-" + h + ".scope"},
        {D::Systemd, {}, kUid, Q::Burstable, R::Crio, h,
         "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd + ".slice/crio-" + h + ".scope"},
        {D::Systemd, {}, kUid, Q::Guaranteed, R::Docker, h,
         "kubepods.slice/kubepods-pod" + kUidSystemd + ".slice/docker-" + h + ".scope"},
        {D::Systemd, {}, "07bd11a0a13dfe5450a17a39eb8e32d2", Q::Burstable, R::Containerd, h,  // static pod
         "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod07bd11a0a13dfe5450a17a39eb8e32d2.slice/cri-containerd-" + h + ".scope"},
        {D::Cgroupfs, {}, kUid, Q::Burstable, R::Containerd, h, "kubepods/burstable/pod" + kUid + "/" + h},
        {D::Cgroupfs, {}, kUid, Q::BestEffort, R::Docker, h, "kubepods/besteffort/pod" + kUid + "/" + h},
        {D::Cgroupfs, {}, kUid, Q::Guaranteed, R::Containerd, h, "kubepods/pod" + kUid + "/" + h},
        {D::Cgroupfs, {}, kUid, Q::Burstable, R::Crio, h, "kubepods/burstable/pod" + kUid + "/crio-" + h},
        {D::Cgroupfs, {}, kUid, Q::Guaranteed, R::Crio, h, "kubepods/pod" + kUid + "/crio-" + h},
        {D::Systemd, kubelet, kUid, Q::Burstable, R::Containerd, h,
         "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod" + kUidSystemd +
             ".slice/cri-containerd-" + h + ".scope"},
        {D::Systemd, kubelet, kUid, Q::Guaranteed, R::Containerd, h,
         "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + kUidSystemd + ".slice/cri-containerd-" + h + ".scope"},
        {D::Cgroupfs, kubelet, kUid, Q::Burstable, R::Containerd, h, "kubelet/kubepods/burstable/pod" + kUid + "/" + h},
        {D::Cgroupfs, kubelet, kUid, Q::Guaranteed, R::Crio, h, "kubelet/kubepods/pod" + kUid + "/crio-" + h},
        // A '-' inside a root component is escaped like the UID's ("/my-root" -> my_root.slice).
        {D::Systemd, {"my-root"}, kUid, Q::BestEffort, R::Containerd, h,
         "my_root.slice/my_root-kubepods.slice/my_root-kubepods-besteffort.slice/my_root-kubepods-besteffort-pod" +
             kUidSystemd + ".slice/cri-containerd-" + h + ".scope"},
        {D::Cgroupfs, {"a", "b"}, kUid, Q::BestEffort, R::Containerd, h, "a/b/kubepods/besteffort/pod" + kUid + "/" + h},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.want);
        CgroupLayout layout{c.driver, c.root};
        EXPECT_EQ(containerCgroup(layout, c.uid, c.qos, ContainerId{c.runtime, c.id}), c.want);
        std::string pod = c.want.substr(0, c.want.rfind('/'));
        EXPECT_EQ(podCgroup(layout, c.uid, c.qos), pod);
    }
}

TEST(KubepodsCgroup, TopLevel) {
    EXPECT_EQ(kubepodsCgroup({CgroupDriver::Systemd, {}}), "kubepods.slice");
    EXPECT_EQ(kubepodsCgroup({CgroupDriver::Cgroupfs, {}}), "kubepods");
    EXPECT_EQ(kubepodsCgroup({CgroupDriver::Systemd, {"kubelet"}}), "kubelet.slice/kubelet-kubepods.slice");
    EXPECT_EQ(kubepodsCgroup({CgroupDriver::Cgroupfs, {"kubelet"}}), "kubelet/kubepods");
    EXPECT_EQ(kubepodsCgroup({CgroupDriver::Systemd, {"a", "b"}}), "a.slice/a-b.slice/a-b-kubepods.slice");
}

TEST(SplitCgroupRoot, Forms) {
    using V = std::vector<std::string>;
    const std::vector<std::pair<std::string, V>> cases = {
        {"", {}},
        {"/", {}},
        {"/kubelet", {"kubelet"}},
        {"kubelet", {"kubelet"}},
        {"/kubelet/", {"kubelet"}},
        {"//kubelet//", {"kubelet"}},
        {"/kubelet.slice", {"kubelet"}},
        {"kubelet.slice/kubelet-kubepods.slice", {"kubelet"}},
        {"/kubelet/kubepods", {"kubelet"}},
        {"kubepods.slice", {}},
        {"kubepods", {}},
        {"/a/b", {"a", "b"}},
        {"a.slice/a-b.slice", {"a", "b"}},
        {"a.slice/a-b.slice/a-b-kubepods.slice", {"a", "b"}},
        {"/my-root", {"my-root"}},
    };
    for (const auto& [in, want] : cases) {
        SCOPED_TRACE(in);
        EXPECT_EQ(splitCgroupRoot(in), want);
    }
}

// What detection finds on disk (the kubepods cgroup) gives back the root it was built from.
TEST(SplitCgroupRoot, InvertsKubepodsCgroup) {
    for (const std::vector<std::string>& root :
         {std::vector<std::string>{}, {"kubelet"}, {"a", "b"}, {"my_root"}, {"x", "y", "z"}}) {
        for (CgroupDriver d : {CgroupDriver::Systemd, CgroupDriver::Cgroupfs}) {
            std::string top = kubepodsCgroup({d, root});
            SCOPED_TRACE(top);
            EXPECT_EQ(splitCgroupRoot(top), root);
        }
    }
}

struct LeafCase {
    std::string leaf;
    Runtime runtime;
    std::string id;
};

TEST(ContainerIdFromLeaf, ContainerLeaves) {
    const std::string& h = kHex64;
    const std::vector<LeafCase> cases = {
        {"cri-containerd-" + h + ".scope", Runtime::Containerd, h},
        {"cri-containerd-" + h, Runtime::Containerd, h},
        {"crio-" + h + ".scope", Runtime::Crio, h},
        {"crio-" + h, Runtime::Crio, h},
        {"docker-" + h + ".scope", Runtime::Docker, h},
        {"containerd-" + h + ".scope", Runtime::Containerd, h},
        {h, Runtime::Unknown, h},  // cgroupfs containerd/docker: the bare id
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.leaf);
        auto id = containerIdFromLeaf(c.leaf);
        ASSERT_TRUE(id.has_value());
        EXPECT_EQ(id->runtime, c.runtime);
        EXPECT_EQ(id->id, c.id);
    }
}

TEST(ContainerIdFromLeaf, NotContainerLeaves) {
    const std::string& h = kHex64;
    std::string upper = h;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    const std::vector<std::string> cases = {
        "crio-conmon-" + h + ".scope",  // CRI-O's monitor, not the container
        "crio-conmon-" + h,
        "",
        "kubepods.slice",
        "kubepods",
        "kubepods-burstable.slice",
        "burstable",
        "besteffort",
        "kubepods-burstable-pod" + kUidSystemd + ".slice",
        "kubepods-pod07bd11a0a13dfe5450a17a39eb8e32d2.slice",
        "pod" + kUid,
        "pod07bd11a0a13dfe5450a17a39eb8e32d2",
        "container",  // crun's child of the container scope
        "kube-proxy",
        "init.scope",
        "system.slice",
        "kubelet.service",
        "containerd.service",
        h.substr(0, 63),  // a bare id is exactly 64 hex
        h + "0",
        upper,
        "cri-containerd-.scope",
        "cri-containerd-xyz.scope",
        "cri-containerd-" + h + "x.scope",
        "docker-" + upper + ".scope",
        "run-ra2ddf9594bbf4a1986439b594f89eb0f.scope",
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c);
        auto id = containerIdFromLeaf(c);
        EXPECT_FALSE(id.has_value()) << "gave " << id->id;
    }
}

TEST(ContainerIdFromLeaf, InvertsContainerLeafForEveryFixtureContainer) {
    for (const auto* table : {&kRunning135, &kRunning118}) {
        for (const auto& rc : *table) {
            auto id = parseContainerId(rc.containerId);
            ASSERT_TRUE(id.ok());
            for (CgroupDriver d : {CgroupDriver::Systemd, CgroupDriver::Cgroupfs}) {
                std::string leaf = containerLeaf(d, *id);
                SCOPED_TRACE(leaf);
                auto back = containerIdFromLeaf(leaf);
                ASSERT_TRUE(back.has_value());
                EXPECT_EQ(back->id, id->id);
                // cgroupfs names containerd and docker containers by the bare id alone.
                bool bare = d == CgroupDriver::Cgroupfs && id->runtime != Runtime::Crio;
                EXPECT_EQ(back->runtime, bare ? Runtime::Unknown : id->runtime);
            }
        }
    }
}

std::vector<std::string> components(const std::string& path) {
    std::vector<std::string> out;
    std::stringstream ss(path);
    std::string part;
    while (std::getline(ss, part, '/'))
        if (!part.empty()) out.push_back(part);
    return out;
}

// coroot-node-agent's TestContainerByCgroup vectors: for paths in the kubepods tree the deepest
// component that is a container leaf names the expected container. Paths outside kubepods (bare
// /docker/<id>, system.slice scopes, lxc, talos) are found by location in coroot, which our
// name-only function does not do; of those we check only that service, slice and lxc names are
// never taken for containers.
TEST(ContainerIdFromLeaf, CorootVectors) {
    std::ifstream in(std::string(IOPSLIMIT_TEST_DATA) + "/coroot_cgroup_path_test_vectors.txt");
    ASSERT_TRUE(in.good());
    std::string line;
    int kubepods = 0, others = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto t1 = line.find('\t'), t2 = line.rfind('\t');
        ASSERT_NE(t1, std::string::npos);
        ASSERT_NE(t1, t2);
        const std::string path = line.substr(0, t1);
        const std::string type = line.substr(t1 + 1, t2 - t1 - 1);
        std::string want = line.substr(t2 + 1);
        ASSERT_GE(want.size(), 2u);
        want = want.substr(1, want.size() - 2);  // strip the quotes
        SCOPED_TRACE(path);
        const auto parts = components(path);
        ASSERT_FALSE(parts.empty());

        if (parts[0] == "kubepods" || parts[0] == "kubepods.slice") {
            ++kubepods;
            std::optional<ContainerId> found;
            for (auto it = parts.rbegin(); it != parts.rend() && !found; ++it) found = containerIdFromLeaf(*it);
            ASSERT_TRUE(found.has_value());
            EXPECT_EQ(found->id, want);
            if (type == "ContainerTypeCrio") EXPECT_EQ(found->runtime, Runtime::Crio);
            else if (type == "ContainerTypeContainerd") EXPECT_EQ(found->runtime, Runtime::Containerd);
            else if (type == "ContainerTypeDocker") EXPECT_EQ(found->runtime, Runtime::Unknown);  // bare id
            else ADD_FAILURE() << "unexpected type " << type;
            // The pod level of the same path names the pod.
            bool podFound = false;
            for (const auto& p : parts)
                if (auto uid = podUidFromCgroupName(p)) {
                    podFound = true;
                    EXPECT_TRUE(uid->size() == 32 || uid->size() == 36) << *uid;
                    EXPECT_EQ(uid->find('_'), std::string::npos);
                }
            EXPECT_TRUE(podFound);
        } else if (type == "ContainerTypeSystemdService" || type == "ContainerTypeTalosRuntime" ||
                   type == "ContainerTypeLxc") {
            ++others;
            for (const auto& p : parts) EXPECT_FALSE(containerIdFromLeaf(p).has_value()) << p;
        }
    }
    EXPECT_EQ(kubepods, 7);
    EXPECT_EQ(others, 13);
}

// Real kubelet paths from the coroot vectors, rebuilt from their parts.
TEST(ContainerCgroup, MatchesRealPathsFromCoroot) {
    const std::string crioId = "49f9e8e5395d57c1083996c09e2e6f042d5fe1ec0310facab32f94912b35ce59";
    EXPECT_EQ(containerCgroup({CgroupDriver::Systemd, {}}, "2942c55e-c9cb-428a-93f4-eaf89c1f3ce0", QosClass::Burstable,
                              {Runtime::Crio, crioId}),
              "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2942c55e_c9cb_428a_93f4_eaf89c1f3ce0.slice/crio-" +
                  crioId + ".scope");
    const std::string dockerId = "d166c6190614efc91956b78e96d74c3fbc96ca8e91948c36de3bc5b0e7b27d48";
    EXPECT_EQ(containerCgroup({CgroupDriver::Cgroupfs, {}}, "9729a196c4723b60ab401eaff722982d", QosClass::Burstable,
                              {Runtime::Docker, dockerId}),
              "kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/" + dockerId);
    const std::string guaranteedId = "32c562ed81a2622b37b80cb216859820ba51bd694f60ee4cf10d07a4011266f8";
    EXPECT_EQ(containerCgroup({CgroupDriver::Cgroupfs, {}}, "a38c12e8-255a-11e9-8cd9-0007cb0b2cc8", QosClass::Guaranteed,
                              {Runtime::Docker, guaranteedId}),
              "kubepods/poda38c12e8-255a-11e9-8cd9-0007cb0b2cc8/" + guaranteedId);
    const std::string crioFs = "63425c4a8b4291744a79dd9011fddc7a1f8ffda61f65d72196aa01d00cae2e2e";
    EXPECT_EQ(containerCgroup({CgroupDriver::Cgroupfs, {}}, "a48c12e8-255a-11e9-8cd9-0007cb0b2cc8", QosClass::Guaranteed,
                              {Runtime::Crio, crioFs}),
              "kubepods/poda48c12e8-255a-11e9-8cd9-0007cb0b2cc8/crio-" + crioFs);
}

TEST(PodUidFromCgroupName, SliceAndCgroupfsNames) {
    const std::vector<std::pair<std::string, std::string>> good = {
        {"kubepods-burstable-pod" + kUidSystemd + ".slice", kUid},
        {"kubepods-besteffort-pod" + kUidSystemd + ".slice", kUid},
        {"kubepods-pod" + kUidSystemd + ".slice", kUid},
        {"kubelet-kubepods-burstable-pod" + kUidSystemd + ".slice", kUid},
        {"kubepods-burstable-pod07bd11a0a13dfe5450a17a39eb8e32d2.slice", "07bd11a0a13dfe5450a17a39eb8e32d2"},
        {"pod" + kUid, kUid},
        {"pod07bd11a0a13dfe5450a17a39eb8e32d2", "07bd11a0a13dfe5450a17a39eb8e32d2"},
    };
    for (const auto& [name, want] : good) {
        SCOPED_TRACE(name);
        auto uid = podUidFromCgroupName(name);
        ASSERT_TRUE(uid.has_value());
        EXPECT_EQ(*uid, want);
    }
    const std::vector<std::string> bad = {
        "",
        "pod",
        "kubepods.slice",
        "kubepods",
        "kubepods-burstable.slice",
        "kubepods-besteffort.slice",
        "burstable",
        "besteffort",
        "kubepods-burstable-pod.slice",
        "cri-containerd-" + kHex64 + ".scope",
        "crio-" + kHex64,
        kHex64,
        "system.slice",
        "kubelet.slice",
    };
    for (const auto& name : bad) {
        SCOPED_TRACE(name);
        auto uid = podUidFromCgroupName(name);
        EXPECT_FALSE(uid.has_value()) << "gave " << *uid;
    }
}

TEST(PodUidFromCgroupName, InvertsPodCgroupForEveryFixturePod) {
    for (const auto* table : {&kRunning135, &kRunning118})
        for (const auto& rc : *table)
            for (CgroupDriver d : {CgroupDriver::Systemd, CgroupDriver::Cgroupfs})
                for (const auto& root : {std::vector<std::string>{}, std::vector<std::string>{"kubelet"}}) {
                    std::string pod = podCgroup({d, root}, rc.uid, rc.qos);
                    SCOPED_TRACE(pod);
                    auto uid = podUidFromCgroupName(pod.substr(pod.rfind('/') + 1));
                    ASSERT_TRUE(uid.has_value());
                    EXPECT_EQ(*uid, rc.uid);
                    // and no level above the pod is mistaken for one
                    for (const auto& part : components(pod.substr(0, pod.rfind('/'))))
                        EXPECT_FALSE(podUidFromCgroupName(part).has_value()) << part;
                }
}

TEST(CgroupNames, DriverAndVersion) {
    EXPECT_EQ(driverName(CgroupDriver::Systemd), "systemd");
    EXPECT_EQ(driverName(CgroupDriver::Cgroupfs), "cgroupfs");
    EXPECT_EQ(versionName(CgroupVersion::V1), "v1");
    EXPECT_EQ(versionName(CgroupVersion::V2), "v2");
}

}  // namespace
}  // namespace iopslimit::core
