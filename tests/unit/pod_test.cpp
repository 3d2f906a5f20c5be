// PodList decoding on real kubelet /pods responses (tests/data, see SOURCES.md) and container IDs.
#include "core/pod.h"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace iopslimit::core {
namespace {

std::string readData(const std::string& name) {
    std::ifstream in(std::string(IOPSLIMIT_TEST_DATA) + "/" + name, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot open " << name;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const Pod* findPod(const PodList& list, const std::string& ns, const std::string& name) {
    for (const auto& p : list.pods)
        if (p.ns == ns && p.name == name) return &p;
    return nullptr;
}

// What the fixtures hold, generated with python3's json module while writing this test
// (independent of decodePodList), in document order; statuses init, regular, ephemeral.
using K = ContainerKind;
using S = ContainerState;
struct WantContainer {
    ContainerKind kind;
    std::string name, image, containerId;
    ContainerState state;
};
struct WantPod {
    std::string ns, name, uid, phase;
    QosClass qos;
    std::string nodeName;
    size_t labels;
    std::vector<WantContainer> containers;
};
struct WantStatus {
    std::string phase;
    QosClass qos;
    std::vector<WantContainer> containers;
};

const std::vector<WantPod> kPods135 = {
    {"scraper", "e2e-hpa-6cd8d99884-tggnr", "3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4", "Running", QosClass::Burstable, "datagen-1-35", 3,
     {{K::Regular, "php-apache", "docker.io/library/nginx:alpine", "containerd://77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83", S::Running}}},
    {"scraper", "e2e-failjob-64h4g", "0961a396-5fff-45fe-a970-19b2aac96e5d", "Failed", QosClass::BestEffort, "datagen-1-35", 5,
     {{K::Regular, "main", "docker.io/library/bash:5", "containerd://7228c83273e06a326bc27d624138a8f1c1979a887f0cabf9ab5d15feccf91986", S::Terminated}}},
    {"scraper", "e2e-failjob-4kj9v", "55d90638-651f-430e-9b6c-ca0462a0beef", "Failed", QosClass::BestEffort, "datagen-1-35", 5,
     {{K::Regular, "main", "docker.io/library/bash:5", "containerd://be08fc25bb341cd8becf2a144275fc0c6b7494a6c2dcf142096cbf335b1a5f9c", S::Terminated}}},
    {"scraper", "e2e-failjob-28dqq", "7301a765-c63f-4f77-98ef-e7ecef8768b8", "Failed", QosClass::BestEffort, "datagen-1-35", 5,
     {{K::Regular, "main", "docker.io/library/bash:5", "containerd://66a24ad283f68a7788951625d89427e94573fc079e168bdae328c9ca370e824e", S::Terminated}}},
    {"kube-system", "metrics-server-9d74bb658-c6nnt", "5e5613d6-fccb-40d6-967b-447697d4d871", "Running", QosClass::Burstable, "datagen-1-35", 2,
     {{K::Regular, "metrics-server", "sha256:b39bceeb0c5918ba1b41c8c9eaf39801280f82909548a1e2cae089f8af6094e7", "containerd://fe888b5a90a7d62f7b6ab92186e0a2c79e21d75bc864a94c0d64ef170290273f", S::Running}}},
    {"scraper", "e2e-scraper-5f97dc94d8-vkcjl", "559f50c7-6133-4901-a283-262ff4358722", "Running", QosClass::BestEffort, "datagen-1-35", 2,
     {{K::Regular, "e2e-scraper", "docker.io/library/alpine:latest", "containerd://1a72454ac6beafc9578614869ebd2cda4dd93156c9320443ddd8cf3caafdaa70", S::Running}}},
    {"scraper", "e2e-statefulset-0", "b5812e37-ce78-41e2-9d8d-d93a88e481d6", "Running", QosClass::Burstable, "datagen-1-35", 4,
     {{K::Regular, "compute-pi-digits", "docker.io/library/perl:5.34.0", "containerd://bcbcd3972a517ab0ed8df77d0a07d082c529278f206d0f4a29ebbe940996e9e5", S::Running}}},
    {"kube-system", "kindnet-zkpn8", "ebb73de1-03ec-4c34-bda3-bb8a44f01c2b", "Running", QosClass::Guaranteed, "datagen-1-35", 5,
     {{K::Regular, "kindnet-cni", "docker.io/kindest/kindnetd:v20260213-ea8e5717", "containerd://d8d42efd0bf1d231a739597470d876aba084f8480722678ccd5fef8df5cbce10", S::Running}}},
    {"scraper", "e2e-deployment-79967c5968-8bnn8", "da59f36e-a7a8-46ed-8d9d-36392eb967d4", "Running", QosClass::Burstable, "datagen-1-35", 2,
     {{K::Regular, "compute-pi-digits", "docker.io/library/perl:5.34.0", "containerd://a33effaac09ebc0bd003f783736428445148029e0a835cf57e592321b75b8c7a", S::Running}}},
    {"scraper", "e2e-cronjob-29707813-dhlr2", "8c27e2aa-e3ee-406d-b45e-432476d5dc13", "Succeeded", QosClass::Burstable, "datagen-1-35", 5,
     {{K::Regular, "compute-pi-digits", "docker.io/library/perl:5.34.0", "containerd://1049c9e937cb297fed12045bff1cf9495bd4c2b1df2c3f0cdbf448e7cf752c99", S::Terminated}}},
    {"scraper", "e2e-cronjob-29707814-h2f28", "4660035c-a554-4d41-adae-3c37c9a89cf7", "Succeeded", QosClass::Burstable, "datagen-1-35", 5,
     {{K::Regular, "compute-pi-digits", "docker.io/library/perl:5.34.0", "containerd://a45dab364c021f86bb7c7bb76a0c733c9e15b3a6584ef6c8c10633d1b7327233", S::Terminated}}},
    {"scraper", "e2e-statefulset-1", "b74071bf-fab2-44d0-9850-55ff20eda8c3", "Running", QosClass::Burstable, "datagen-1-35", 4,
     {{K::Regular, "compute-pi-digits", "docker.io/library/perl:5.34.0", "containerd://f178027c6d8689af7d274bb9018b4e3a84135a753543436bed5a52c4797760de", S::Running}}},
    {"kube-system", "kube-scheduler-datagen-1-35", "07bd11a0a13dfe5450a17a39eb8e32d2", "Running", QosClass::Burstable, "datagen-1-35", 2,
     {{K::Regular, "kube-scheduler", "registry.k8s.io/kube-scheduler:v1.35.0", "containerd://898d75812ec6f153cfb46b6cb485c02bffe26643ae6f61323a76a71de8954178", S::Running}}},
    {"kube-system", "etcd-datagen-1-35", "eaf7d48161d81d9c3359e1c008571fd6", "Running", QosClass::Burstable, "datagen-1-35", 2,
     {{K::Regular, "etcd", "registry.k8s.io/etcd:3.6.6-0", "containerd://104e1ed61ab8781f2e535a12c2d8084c79975d2a7931fe6b04c63f6cb45af71e", S::Running}}},
    {"kube-system", "kube-controller-manager-datagen-1-35", "e9afcd8d3c942968802548f9a24d942a", "Running", QosClass::Burstable, "datagen-1-35", 2,
     {{K::Regular, "kube-controller-manager", "registry.k8s.io/kube-controller-manager:v1.35.0", "containerd://d4d8eec2d084f08795c838bdc3609e6aea11f77a7b677ce6e879636fb6cbf519", S::Running}}},
    {"kube-system", "storage-provisioner", "081d040e-c94b-41ea-8278-eb12903ddd99", "Running", QosClass::BestEffort, "datagen-1-35", 2,
     {{K::Regular, "storage-provisioner", "gcr.io/k8s-minikube/storage-provisioner:v5", "containerd://8089c78683adb7999a9399e140e2e4f61e57877f0e72324fb7eba6cc194dbf61", S::Running}}},
    {"scraper", "e2e-container-creating", "567cc614-001a-402b-99fd-3d1f8db83f30", "Running", QosClass::Guaranteed, "datagen-1-35", 2,
     {{K::Regular, "alpine", "docker.io/library/alpine:3.22.1", "containerd://4295ac6e1b848c84dc1db036a94ea8c97389b10975fc3f6a063839520434b538", S::Terminated}}},
    {"scraper", "e2e-kube-state-metrics-75b885dc9-97mtr", "52e6202b-d247-4d4d-8ff5-809b6d8b292e", "Running", QosClass::BestEffort, "datagen-1-35", 8,
     {{K::Regular, "kube-state-metrics", "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.19.0", "containerd://86f42bd0e6702d9550841cfee08968d96726d8652846d38c9c81f12f97080a96", S::Running}}},
    {"scraper", "e2e-deployment-79967c5968-zjslc", "4aa017de-86c6-41cd-b4ad-21b66575685c", "Running", QosClass::Burstable, "datagen-1-35", 2,
     {{K::Regular, "compute-pi-digits", "docker.io/library/perl:5.34.0", "containerd://5d8fb4b3db861f571c6a1a9de6bf86cbe14cbcfc95f01566608c8e4e791eaf41", S::Running}}},
    {"scraper", "e2e-failjob-p2w8g", "d8a38756-a435-427c-b71c-b103380648fe", "Failed", QosClass::BestEffort, "datagen-1-35", 5,
     {{K::Regular, "main", "docker.io/library/bash:5", "containerd://66c311398d558addc9aea4651aab14452659626e7a8ab8d1ca90bcccba8e87fc", S::Terminated}}},
    {"kube-system", "kube-apiserver-datagen-1-35", "8ac8c3a9ee4d182b8d934f20e971ada7", "Running", QosClass::Burstable, "datagen-1-35", 2,
     {{K::Regular, "kube-apiserver", "registry.k8s.io/kube-apiserver:v1.35.0", "containerd://88e37f75c461dd32860815f6490cabf0edd2e77f835d1b2625142b3d98d52f27", S::Running}}},
    {"kube-system", "kube-proxy-8k9zt", "90565722-42c8-4f10-a59b-c8fc6571e86d", "Running", QosClass::BestEffort, "datagen-1-35", 3,
     {{K::Regular, "kube-proxy", "registry.k8s.io/kube-proxy:v1.35.0", "containerd://836572c46f0aaa563fbc077ff66c802984860f35dcdee7e9ce5b4f247e2afb41", S::Running}}},
    {"kube-system", "coredns-7d764666f9-qdcxt", "36447428-81f8-45eb-b825-414de2e8012b", "Running", QosClass::Burstable, "datagen-1-35", 2,
     {{K::Regular, "coredns", "registry.k8s.io/coredns/coredns:v1.13.1", "containerd://facedc3f02c7efea0daff3590c408c2fb5820f875b93cb4c757df0d10d73786f", S::Running}}},
    {"scraper", "e2e-daemonset-kb65b", "45b528af-fb82-4e96-8103-b9da1194dd36", "Running", QosClass::Burstable, "datagen-1-35", 3,
     {{K::Regular, "compute-pi-digits", "docker.io/library/perl:5.34.0", "containerd://ff102f3ad315dd9b977f8e654f8dfc8c21daff8744724a835267e0d91374fc54", S::Running}}},
};

const std::vector<WantPod> kPods118 = {
    {"kube-system", "kube-controller-manager-minikube", "b395a1e17534e69e27827b1f8d737725", "Running", QosClass::Burstable, "minikube", 2,
     {{K::Regular, "kube-controller-manager", "k8s.gcr.io/kube-controller-manager:v1.18.20", "docker://0a6922403758bbe2d191afa3363e981d2442d50bc054149b672b8683156079ab", S::Running}}},
    {"kube-system", "storage-provisioner", "81b0b50a-1a55-478f-ba87-53bf08678eac", "Running", QosClass::BestEffort, "minikube", 2,
     {{K::Regular, "storage-provisioner", "gcr.io/k8s-minikube/storage-provisioner:v5", "docker://30249b5e556f4ffb5237470b3ed33bf8c85cef43e36aff004083411696ff78b9", S::Running}}},
    {"kube-system", "kube-proxy-nxj27", "3f541c3f-b181-443d-bf25-42ddf2468884", "Running", QosClass::BestEffort, "minikube", 3,
     {{K::Regular, "kube-proxy", "k8s.gcr.io/kube-proxy:v1.18.20", "docker://6a724bdba92c9e361255c152a45f8910fdd53d5a4317284ebe63b56a57bdadd2", S::Running}}},
    {"kube-system", "metrics-server-6c57fd97d-qs8qr", "0284f2dd-b5cb-4afb-9a28-fcd20756b15d", "Running", QosClass::Burstable, "minikube", 2,
     {{K::Regular, "metrics-server", "k8s.gcr.io/metrics-server/metrics-server@sha256:dbc33d7d35d2a9cc5ab402005aa7a0d13be6192f3550c7d42cba8d2d5e3a5d62", "docker://21f205bbce130d8167df6e6e74337b82407c904603da2ffa95619b3572b49d0a", S::Running}}},
    {"kube-system", "etcd-minikube", "98128cb37fdc7d34c4fde6719fa0b628", "Running", QosClass::BestEffort, "minikube", 2,
     {{K::Regular, "etcd", "k8s.gcr.io/etcd:3.4.3-0", "docker://ecacf5e6b8781a177123f7494297476a140151d3300c7011fdbd22ef50b98391", S::Running}}},
    {"kube-system", "coredns-66bff467f8-hm847", "ffc5a2aa-d3c6-4b73-aa30-2da68fbf94de", "Running", QosClass::Burstable, "minikube", 2,
     {{K::Regular, "coredns", "k8s.gcr.io/coredns:1.6.7", "docker://ccfe6b89b8cf6216b08c6f21efcd31d314002d63c194423e77a69fc704653f86", S::Running}}},
    {"scraper", "e2e-statefulset-0", "b9232e2b-7e34-4ee5-85a2-a684ff8b0e85", "Running", QosClass::BestEffort, "minikube", 3,
     {{K::Regular, "busybox", "busybox:latest", "docker://9a225950a1ae5b37e78470a18c21850a4bfa4ec74b1ddbe50f8a2cfa0a4da0cf", S::Running}}},
    {"scraper", "e2e-statefulset-1", "e749ba33-6fcb-4d86-b629-ab9c03ae0bd0", "Running", QosClass::BestEffort, "minikube", 3,
     {{K::Regular, "busybox", "busybox:latest", "docker://2713955b4b6e1edda313eed95fc9066725c36ecb374251d025b9c3e3458f7fe5", S::Running}}},
    {"kube-system", "kube-apiserver-minikube", "4236a7b1ea0007630c0aea66e14bb932", "Running", QosClass::Burstable, "minikube", 2,
     {{K::Regular, "kube-apiserver", "k8s.gcr.io/kube-apiserver:v1.18.20", "docker://cb23ca61f4f4c53a0078114cd1301d79b2fa508a8c7fdfaf7e778a3a6588a225", S::Running}}},
    {"kube-system", "kube-scheduler-minikube", "d12e497b0008e22acbcd5a9cf2dd48ac", "Running", QosClass::Burstable, "minikube", 2,
     {{K::Regular, "kube-scheduler", "k8s.gcr.io/kube-scheduler:v1.18.20", "docker://f4b9be223ecdf6ac6cbcc55e8caeb23dece543e373a74487df906c2dbf5be39f", S::Running}}},
    {"scraper", "e2e-scraper-86c6f86f-l5fcl", "b1191f13-da93-4c3f-b7b5-c2aa41458b9b", "Running", QosClass::BestEffort, "minikube", 2,
     {{K::Regular, "e2e-scraper", "alpine:latest", "docker://1911ea197e6437aa691b84c0d22210f248f3e11a0734a340495ab6fe45cba7c6", S::Running}}},
    {"scraper", "e2e-container-creating", "473d52d2-22f7-4bb5-92fe-ee980f2e7946", "Pending", QosClass::Guaranteed, "minikube", 1,
     {{K::Regular, "alpine", "alpine:latest", "", S::Waiting}}},
    {"scraper", "e2e-ds-t82pn", "aa7cdc9d-a28b-403d-9e20-cc7df380b454", "Running", QosClass::BestEffort, "minikube", 3,
     {{K::Regular, "busybox", "busybox:latest", "docker://ab1b3c9d30cebad165cb1ebf5426e3f2a655f9334f4250bfc0e677288009ca26", S::Running}}},
    {"scraper", "e2e-hpa-5d484ffcc7-kkwbc", "7f0166a1-e64f-4d22-8a85-59064be3a822", "Running", QosClass::Burstable, "minikube", 3,
     {{K::Regular, "php-apache", "k8s.gcr.io/hpa-example:latest", "docker://443bd3a20edc43592097827d60c921314a5ee51a047bc80ef4480e5618ab8d1a", S::Running}}},
    {"scraper", "e2e-depl-7578f7cc7b-x8hcl", "6de57221-b672-4470-b563-65954cb4cd87", "Running", QosClass::BestEffort, "minikube", 2,
     {{K::Regular, "busybox", "busybox:latest", "docker://99489cc6f7ea737018e1e735a546da3bb36b21cacddee131a9ebd5e768c5efdd", S::Running}}},
    {"scraper", "e2e-kube-state-metrics-7c4d5c47fb-h2hqr", "8fe7164a-946f-422a-87a3-24d181fd7725", "Running", QosClass::BestEffort, "minikube", 3,
     {{K::Regular, "kube-state-metrics", "k8s.gcr.io/kube-state-metrics/kube-state-metrics:v1.9.8", "docker://48a8015d6f4aa68d59f4945c51f1f1463e2c3c39f5f12c7ce39cc63a209fffc1", S::Running}}},
};

const std::vector<WantStatus> kAtomist = {
    {"Running", QosClass::BestEffort,
     {{K::Init, "success", "docker.io/library/busybox:1.31.1-uclibc", "containerd://701bc329ef85396fa59e94c5cead8cbbe5210f086619c90dce7b1f3bd02aaf1e", S::Terminated},
      {K::Regular, "sleep", "docker.io/library/busybox:1.31.1-uclibc", "containerd://a35f0076125fc74de40e1716236aee1c15e6ca54d71620cdc993ddea5cb195cd", S::Running}}},
    {"Running", QosClass::BestEffort,
     {{K::Regular, "sleep", "docker.io/library/busybox:1.31.1-uclibc", "containerd://b5b301bf493cca046a9b1598b3769a6215f89ac119837db06b1f12a63401dd81", S::Waiting}}},
    {"Pending", QosClass::Burstable,
     {}},
    {"Pending", QosClass::BestEffort,
     {{K::Regular, "nothing", "notanimage/thatexistsanywhere:badtag", "", S::Waiting}}},
    {"Failed", QosClass::Burstable,
     {{K::Regular, "kaniko", "gcr.io/kaniko-project/executor:v0.19.0", "containerd://9987c0f9acdd7c416e4b9d937cfafa2616c188f2ed1fb2f10bd1525f10778c7e", S::Terminated}}},
    {"Pending", QosClass::BestEffort,
     {{K::Init, "fail", "docker.io/library/busybox:1.31.1-uclibc", "containerd://702440f02a119413f98348e67417601436d05421736bf5e2ba8d9a44d92a24e5", S::Terminated},
      {K::Regular, "sleep", "busybox:1.31.1-uclibc", "", S::Waiting}}},
    {"Pending", QosClass::BestEffort,
     {{K::Init, "fail", "docker.io/library/busybox:1.31.1-uclibc", "containerd://702440f02a119413f98348e67417601436d05421736bf5e2ba8d9a44d92a24e5", S::Terminated},
      {K::Regular, "sleep", "busybox:1.31.1-uclibc", "", S::Waiting}}},
    {"Running", QosClass::BestEffort,
     {{K::Init, "success", "docker.io/library/busybox:1.31.1-uclibc", "containerd://3e43c95249a0020f56b53e365a02cb422e4c49fa419e13fb653e2adf67dc4cae", S::Terminated},
      {K::Regular, "sleep", "docker.io/library/busybox:1.31.1-uclibc", "containerd://aa4f3cbe18dfa2f3a42de286f434d3d457fa93ca1317013f8a2387437dda684e", S::Running}}},
    {"Running", QosClass::BestEffort,
     {{K::Init, "success", "docker.io/library/busybox:1.31.1-uclibc", "containerd://3e43c95249a0020f56b53e365a02cb422e4c49fa419e13fb653e2adf67dc4cae", S::Terminated},
      {K::Regular, "sleep", "docker.io/library/busybox:1.31.1-uclibc", "containerd://aa4f3cbe18dfa2f3a42de286f434d3d457fa93ca1317013f8a2387437dda684e", S::Running}}},
    {"Running", QosClass::BestEffort,
     {{K::Regular, "sleep", "docker.io/library/busybox:1.31.1-uclibc", "containerd://fa231b33d61d0bc77cbf32b93bd57fea1f02a2de82fd4578f7ad1d17bb18c123", S::Running},
      {K::Regular, "unhealthy", "docker.io/library/busybox:1.31.1-uclibc", "containerd://13147fc42ce076fd9008c01b1b8db19c43e972997b3d3cdefc87f05196b967c6", S::Running}}},
    {"Running", QosClass::BestEffort,
     {{K::Regular, "sleep", "docker.io/library/busybox:1.31.1-uclibc", "containerd://fa231b33d61d0bc77cbf32b93bd57fea1f02a2de82fd4578f7ad1d17bb18c123", S::Running},
      {K::Regular, "unhealthy", "docker.io/library/busybox:1.31.1-uclibc", "containerd://13147fc42ce076fd9008c01b1b8db19c43e972997b3d3cdefc87f05196b967c6", S::Running}}},
    {"Running", QosClass::Burstable,
     {{K::Regular, "dood", "atomist/dood:0.1.3-20200323102421", "docker://6a2c75f5b101172812f7e90aecc92a4e3d75d91bda7bcac05d396abc4dca9184", S::Terminated}}},
    {"Pending", QosClass::Burstable,
     {{K::Regular, "sleep", "busybox:1.31.1-uclibc", "", S::Waiting}}},
    {"Pending", QosClass::Burstable,
     {{K::Regular, "sleep", "busybox:1.31.1-uclibc", "", S::Waiting}}},
    {"Deleted", QosClass::BestEffort,
     {{K::Init, "success", "docker.io/library/busybox:1.31.1-uclibc", "containerd://701bc329ef85396fa59e94c5cead8cbbe5210f086619c90dce7b1f3bd02aaf1e", S::Terminated},
      {K::Regular, "sleep", "docker.io/library/busybox:1.31.1-uclibc", "containerd://a35f0076125fc74de40e1716236aee1c15e6ca54d71620cdc993ddea5cb195cd", S::Running}}},
    {"Pending", QosClass::Burstable,
     {{K::Regular, "io0", "atomist/io0:0.2.2-20191208190707", "", S::Waiting}}},
    {"Running", QosClass::BestEffort,
     {{K::Regular, "sleep", "docker.io/library/busybox:1.31.1-uclibc", "containerd://fa231b33d61d0bc77cbf32b93bd57fea1f02a2de82fd4578f7ad1d17bb18c123", S::Running},
      {K::Regular, "unhealthy", "docker.io/library/busybox:1.31.1-uclibc", "containerd://13147fc42ce076fd9008c01b1b8db19c43e972997b3d3cdefc87f05196b967c6", S::Running}}},
    {"Running", QosClass::Burstable,
     {{K::Regular, "dood", "atomist/dood:0.1.3-20200323102421", "docker://6a2c75f5b101172812f7e90aecc92a4e3d75d91bda7bcac05d396abc4dca9184", S::Terminated}}},
};

void expectContainers(const std::vector<Container>& got, const std::vector<WantContainer>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t c = 0; c < want.size(); ++c) {
        SCOPED_TRACE(want[c].name);
        EXPECT_EQ(got[c].name, want[c].name);
        EXPECT_EQ(got[c].kind, want[c].kind);
        EXPECT_EQ(got[c].image, want[c].image);
        EXPECT_EQ(got[c].containerId, want[c].containerId);
        EXPECT_EQ(got[c].state, want[c].state);
    }
}

void expectPods(const PodList& list, const std::vector<WantPod>& want) {
    ASSERT_EQ(list.pods.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        const Pod& pod = list.pods[i];
        const WantPod& w = want[i];
        SCOPED_TRACE(w.name);
        EXPECT_EQ(pod.ns, w.ns);
        EXPECT_EQ(pod.name, w.name);
        EXPECT_EQ(pod.uid, w.uid);
        EXPECT_EQ(pod.phase, w.phase);
        EXPECT_EQ(pod.qos, w.qos);
        EXPECT_TRUE(pod.qosKnown);
        EXPECT_EQ(pod.nodeName, w.nodeName);
        EXPECT_EQ(pod.labels.size(), w.labels);
        // Only iops-limit/* annotations are kept, and the fixtures have none.
        EXPECT_TRUE(pod.annotations.empty());
        expectContainers(pod.containers, w.containers);
    }
}

// The raw text of every object-valued member named key, outermost first; a small scanner that
// knows strings and nesting, so the test does not need a JSON library.
std::vector<std::string> objectMembers(const std::string& text, const std::string& key) {
    std::vector<std::string> out;
    const std::string needle = "\"" + key + "\"";
    auto skipSpace = [&](size_t i) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        return i;
    };
    size_t pos = 0;
    while ((pos = text.find(needle, pos)) != std::string::npos) {
        size_t i = skipSpace(pos + needle.size());
        if (i >= text.size() || text[i] != ':') { pos = i; continue; }
        i = skipSpace(i + 1);
        if (i >= text.size() || text[i] != '{') { pos = i; continue; }
        size_t start = i;
        int depth = 0;
        bool inString = false;
        for (; i < text.size(); ++i) {
            char c = text[i];
            if (inString) {
                if (c == '\\') ++i;
                else if (c == '"') inString = false;
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                ++depth;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                ++i;
                break;
            }
        }
        out.push_back(text.substr(start, i - start));
        pos = i;
    }
    return out;
}

TEST(DecodePodList, Kubelet135Containerd) {
    const std::string text = readData("nri-kubernetes_1_35_kubelet_pods.json");
    auto list = decodePodList(text);
    ASSERT_TRUE(list.ok()) << list.error().message;
    EXPECT_EQ(list->pods.size(), 24u);
    EXPECT_TRUE(list->problems.empty());
    EXPECT_EQ(list->resourceVersion, "");

    const Pod* hpa = findPod(*list, "scraper", "e2e-hpa-6cd8d99884-tggnr");
    ASSERT_NE(hpa, nullptr);
    EXPECT_EQ(hpa->uid, "3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4");
    EXPECT_EQ(hpa->phase, "Running");
    EXPECT_EQ(hpa->qos, QosClass::Burstable);
    EXPECT_TRUE(hpa->qosKnown);
    EXPECT_EQ(hpa->nodeName, "datagen-1-35");
    EXPECT_EQ(hpa->key(), "scraper/e2e-hpa-6cd8d99884-tggnr");
    EXPECT_EQ(hpa->labels.at("app"), "hpa");
    EXPECT_EQ(hpa->labels.at("run"), "php-apache");
    ASSERT_EQ(hpa->containers.size(), 1u);
    EXPECT_EQ(hpa->containers[0].name, "php-apache");
    EXPECT_EQ(hpa->containers[0].image, "docker.io/library/nginx:alpine");
    EXPECT_EQ(hpa->containers[0].kind, ContainerKind::Regular);
    EXPECT_EQ(hpa->containers[0].state, ContainerState::Running);
    EXPECT_EQ(hpa->containers[0].containerId,
              "containerd://77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83");

    const Pod* kindnet = findPod(*list, "kube-system", "kindnet-zkpn8");
    ASSERT_NE(kindnet, nullptr);
    EXPECT_EQ(kindnet->uid, "ebb73de1-03ec-4c34-bda3-bb8a44f01c2b");
    EXPECT_EQ(kindnet->qos, QosClass::Guaranteed);

    const Pod* scraper = findPod(*list, "scraper", "e2e-scraper-5f97dc94d8-vkcjl");
    ASSERT_NE(scraper, nullptr);
    EXPECT_EQ(scraper->qos, QosClass::BestEffort);
    EXPECT_TRUE(scraper->qosKnown);

    const Pod* failed = findPod(*list, "scraper", "e2e-failjob-64h4g");
    ASSERT_NE(failed, nullptr);
    EXPECT_EQ(failed->uid, "0961a396-5fff-45fe-a970-19b2aac96e5d");
    EXPECT_EQ(failed->phase, "Failed");
    ASSERT_EQ(failed->containers.size(), 1u);
    EXPECT_EQ(failed->containers[0].name, "main");
    EXPECT_EQ(failed->containers[0].state, ContainerState::Terminated);

    const Pod* succeeded = findPod(*list, "scraper", "e2e-cronjob-29707813-dhlr2");
    ASSERT_NE(succeeded, nullptr);
    EXPECT_EQ(succeeded->phase, "Succeeded");
    EXPECT_EQ(succeeded->containers.at(0).state, ContainerState::Terminated);

    // Phase Running, but its only container has terminated.
    const Pod* creating = findPod(*list, "scraper", "e2e-container-creating");
    ASSERT_NE(creating, nullptr);
    EXPECT_EQ(creating->phase, "Running");
    EXPECT_EQ(creating->qos, QosClass::Guaranteed);
    EXPECT_EQ(creating->containers.at(0).state, ContainerState::Terminated);

    // Static pods: the kubelet reports uid = kubernetes.io/config.hash (32 hex, no dashes).
    const Pod* scheduler = findPod(*list, "kube-system", "kube-scheduler-datagen-1-35");
    ASSERT_NE(scheduler, nullptr);
    EXPECT_EQ(scheduler->uid, "07bd11a0a13dfe5450a17a39eb8e32d2");
    EXPECT_EQ(scheduler->qos, QosClass::Burstable);
    const Pod* etcd = findPod(*list, "kube-system", "etcd-datagen-1-35");
    ASSERT_NE(etcd, nullptr);
    EXPECT_EQ(etcd->uid, "eaf7d48161d81d9c3359e1c008571fd6");
    for (const char* name : {"kube-scheduler-datagen-1-35", "etcd-datagen-1-35", "kube-controller-manager-datagen-1-35",
                             "kube-apiserver-datagen-1-35"}) {
        const Pod* p = findPod(*list, "kube-system", name);
        ASSERT_NE(p, nullptr) << name;
        EXPECT_EQ(p->uid.size(), 32u) << name;
        EXPECT_EQ(p->uid.find('-'), std::string::npos) << name;
    }

    int running = 0, terminated = 0;
    for (const auto& p : list->pods)
        for (const auto& c : p.containers) {
            if (c.state == ContainerState::Running) ++running;
            if (c.state == ContainerState::Terminated) ++terminated;
            auto id = parseContainerId(c.containerId);
            ASSERT_TRUE(id.ok()) << c.containerId;
            EXPECT_EQ(id->runtime, Runtime::Containerd);
            EXPECT_EQ(id->id.size(), 64u);
        }
    EXPECT_EQ(running, 17);
    EXPECT_EQ(terminated, 7);

    expectPods(*list, kPods135);
}

TEST(DecodePodList, Kubelet118Docker) {
    const std::string text = readData("nri-kubernetes_1_18_docker_kubelet_pods.json");
    auto list = decodePodList(text);
    ASSERT_TRUE(list.ok()) << list.error().message;
    EXPECT_EQ(list->pods.size(), 16u);
    EXPECT_TRUE(list->problems.empty());

    // The Pending pod: waiting in ContainerCreating, no container ID yet.
    const Pod* pending = findPod(*list, "scraper", "e2e-container-creating");
    ASSERT_NE(pending, nullptr);
    EXPECT_EQ(pending->uid, "473d52d2-22f7-4bb5-92fe-ee980f2e7946");
    EXPECT_EQ(pending->phase, "Pending");
    EXPECT_EQ(pending->qos, QosClass::Guaranteed);
    ASSERT_EQ(pending->containers.size(), 1u);
    EXPECT_EQ(pending->containers[0].name, "alpine");
    EXPECT_EQ(pending->containers[0].image, "alpine:latest");
    EXPECT_EQ(pending->containers[0].state, ContainerState::Waiting);
    EXPECT_EQ(pending->containers[0].containerId, "");
    EXPECT_FALSE(parseContainerId(pending->containers[0].containerId).ok());

    const Pod* kcm = findPod(*list, "kube-system", "kube-controller-manager-minikube");
    ASSERT_NE(kcm, nullptr);
    EXPECT_EQ(kcm->uid, "b395a1e17534e69e27827b1f8d737725");  // static pod: the config hash
    EXPECT_EQ(kcm->qos, QosClass::Burstable);
    ASSERT_EQ(kcm->containers.size(), 1u);
    EXPECT_EQ(kcm->containers[0].containerId,
              "docker://0a6922403758bbe2d191afa3363e981d2442d50bc054149b672b8683156079ab");
    auto kcmId = parseContainerId(kcm->containers[0].containerId);
    ASSERT_TRUE(kcmId.ok());
    EXPECT_EQ(kcmId->runtime, Runtime::Docker);
    EXPECT_EQ(kcmId->id, "0a6922403758bbe2d191afa3363e981d2442d50bc054149b672b8683156079ab");

    const Pod* etcd = findPod(*list, "kube-system", "etcd-minikube");
    ASSERT_NE(etcd, nullptr);
    EXPECT_EQ(etcd->uid, "98128cb37fdc7d34c4fde6719fa0b628");
    EXPECT_EQ(etcd->qos, QosClass::BestEffort);

    const Pod* ss0 = findPod(*list, "scraper", "e2e-statefulset-0");
    ASSERT_NE(ss0, nullptr);
    EXPECT_EQ(ss0->uid, "b9232e2b-7e34-4ee5-85a2-a684ff8b0e85");
    EXPECT_EQ(ss0->nodeName, "minikube");
    EXPECT_EQ(ss0->containers.at(0).name, "busybox");
    EXPECT_EQ(ss0->containers.at(0).state, ContainerState::Running);

    int running = 0;
    for (const auto& p : list->pods)
        for (const auto& c : p.containers)
            if (c.state == ContainerState::Running) {
                ++running;
                auto id = parseContainerId(c.containerId);
                ASSERT_TRUE(id.ok()) << c.containerId;
                EXPECT_EQ(id->runtime, Runtime::Docker);
            }
    EXPECT_EQ(running, 15);

    expectPods(*list, kPods118);
}

// 18 real GKE/containerd status objects, each spliced in as the status of one pod.
TEST(DecodePodList, AtomistGkeStatuses) {
    const std::vector<std::string> statuses =
        objectMembers(readData("atomist_gke_containerd_2020_pod_statuses.json"), "status");
    ASSERT_EQ(statuses.size(), 18u);
    ASSERT_EQ(kAtomist.size(), 18u);
    int seen[4] = {0, 0, 0, 0};
    int initSeen = 0;
    for (size_t i = 0; i < statuses.size(); ++i) {
        SCOPED_TRACE("entry " + std::to_string(i));
        std::string uid = "00000000-0000-0000-0000-0000000000" + std::string(i < 10 ? "0" : "") + std::to_string(i);
        std::string doc = R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[)"
                          R"({"metadata":{"name":"pod-)" + std::to_string(i) + R"(","namespace":"production","uid":")" +
                          uid + R"("},"spec":{"nodeName":"gke-node"},"status":)" + statuses[i] + "}]}";
        auto list = decodePodList(doc);
        ASSERT_TRUE(list.ok()) << list.error().message;
        EXPECT_EQ(list->resourceVersion, "7");
        EXPECT_TRUE(list->problems.empty());
        ASSERT_EQ(list->pods.size(), 1u);
        const Pod& pod = list->pods[0];
        EXPECT_EQ(pod.uid, uid);
        EXPECT_EQ(pod.ns, "production");
        EXPECT_EQ(pod.nodeName, "gke-node");
        EXPECT_EQ(pod.phase, kAtomist[i].phase);
        EXPECT_EQ(pod.qos, kAtomist[i].qos);
        EXPECT_TRUE(pod.qosKnown);
        expectContainers(pod.containers, kAtomist[i].containers);
        for (const auto& c : pod.containers) {
            ++seen[static_cast<int>(c.state)];
            if (c.kind == ContainerKind::Init) ++initSeen;
        }
    }
    // Counted from the file with python3: 10 running (incl. the synthetic "Deleted" copy), 7 waiting
    // (CrashLoopBackOff, ImagePullBackOff, PodInitializing, CreateContainerConfigError, …), 9 terminated.
    EXPECT_EQ(seen[static_cast<int>(ContainerState::Running)], 10);
    EXPECT_EQ(seen[static_cast<int>(ContainerState::Waiting)], 7);
    EXPECT_EQ(seen[static_cast<int>(ContainerState::Terminated)], 9);
    EXPECT_EQ(seen[static_cast<int>(ContainerState::Unknown)], 0);
    EXPECT_EQ(initSeen, 6);
}

// CrashLoopBackOff: state is waiting while lastState is terminated with a container ID.
TEST(DecodePodList, CrashLoopIsWaitingNotItsLastState) {
    const std::string doc = R"({"kind":"PodList","items":[{"metadata":{"name":"crash-loop","uid":"a689804f"},
        "status":{"phase":"Running","containerStatuses":[{"name":"sleep","image":"busybox",
          "state":{"waiting":{"reason":"CrashLoopBackOff"}},
          "lastState":{"terminated":{"exitCode":0,"containerID":"containerd://b5b301bf"}},
          "containerID":"containerd://b5b301bf"}]}}]})";
    auto list = decodePodList(doc);
    ASSERT_TRUE(list.ok()) << list.error().message;
    ASSERT_EQ(list->pods.size(), 1u);
    EXPECT_EQ(list->pods[0].ns, "default");  // no namespace given
    ASSERT_EQ(list->pods[0].containers.size(), 1u);
    EXPECT_EQ(list->pods[0].containers[0].state, ContainerState::Waiting);
    EXPECT_EQ(list->pods[0].containers[0].containerId, "containerd://b5b301bf");
}

TEST(DecodePodList, RejectsBrokenJsonAndWhatIsNotAPodList) {
    const std::vector<std::string> cases = {
        "",
        "   ",
        "{",
        "{\"kind\":\"PodList\",\"items\":[",
        "{\"kind\":\"PodList\",\"items\":[]",
        "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\",\"uid\":\"u\"}",  // truncated
        "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\",\"uid\":\"u\"}}]}}",
        "{\"kind\":\"PodList\" \"items\":[]}",
        "{\"kind\" \"PodList\"}",
        "{\"kind\":}",
        "{\"items\" []}",
        "{\"kind\":\"PodList\",\"items\":[]]",
        "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\",\"uid\":\"u\",}}]}",  // bad item
        "not json",
        "<html>403 Forbidden</html>",
        "Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource=proxy)",
        "[]",
        "[{\"kind\":\"PodList\"}]",
        "42",
        "\"PodList\"",
        "null",
        "true",
        "{\"kind\":\"Pod\",\"items\":[]}",
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"code\":403}",
        "{\"items\":[],\"kind\":\"PodList2\"}",
        "{\"kind\":\"PodList\",\"items\":{}}",
        "{\"kind\":\"PodList\",\"items\":{\"metadata\":{\"name\":\"a\",\"uid\":\"u\"}}}",
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c);
        auto r = decodePodList(c);
        EXPECT_FALSE(r.ok()) << "decoded " << r->pods.size() << " pods";
        if (!r.ok()) {
            EXPECT_FALSE(r.error().message.empty());
        }
    }
}

// "items" must be an array (or null/absent); a string or number there is not a PodList.
TEST(DecodePodList, RejectsScalarItems) {
    for (const char* c : {"{\"kind\":\"PodList\",\"items\":\"none\"}", "{\"kind\":\"PodList\",\"items\":7}",
                          "{\"kind\":\"PodList\",\"items\":true}"}) {
        SCOPED_TRACE(c);
        auto r = decodePodList(c);
        EXPECT_FALSE(r.ok());
    }
}

// A JSON text is one value (RFC 8259); bytes after it mean a corrupted or concatenated response.
TEST(DecodePodList, RejectsTrailingGarbage) {
    for (const char* c : {"{\"kind\":\"PodList\",\"items\":[]} x", "{\"kind\":\"PodList\",\"items\":[]}{\"kind\":\"PodList\"}"}) {
        SCOPED_TRACE(c);
        EXPECT_FALSE(decodePodList(c).ok());
    }
}

// Malformed JSON between top-level values: a corrupted body must not pass as a PodList.
TEST(DecodePodList, RejectsMalformedJsonBetweenTopLevelValues) {
    for (const char* c : {
             R"({"kind":"PodList","items":[] x})",
             R"({"kind":"PodList","items":[]x})",
             R"({"kind":"PodList","x":garbage,"items":[]})",
             R"({"kind":"PodList","items":[],})",
             R"({"kind":"PodList","items":[{"metadata":{"name":"a","uid":"u"}} {"metadata":{"name":"b","uid":"v"}}]})",
         }) {
        SCOPED_TRACE(c);
        auto r = decodePodList(c);
        EXPECT_FALSE(r.ok()) << "decoded " << r->pods.size() << " pods";
    }
}

// Hostile nesting in a field we do not read must give an error or the pod, never an exception
// (nor a stack overflow).
TEST(DecodePodList, DeepNestingIsAnErrorOrIgnoredNeverAnException) {
    for (int depth : {300, 5000, 100000}) {
        SCOPED_TRACE(depth);
        std::string nested = std::string(static_cast<size_t>(depth), '[') + std::string(static_cast<size_t>(depth), ']');
        std::string doc = R"({"kind":"PodList","items":[{"metadata":{"name":"a","uid":"u"},"x":)" + nested + "}]}";
        EXPECT_NO_THROW({
            auto r = decodePodList(doc);
            if (r.ok()) {
                ASSERT_EQ(r->pods.size(), 1u);
                EXPECT_EQ(r->pods[0].name, "a");
            }
        });
        std::string unclosed = R"({"kind":"PodList","items":[)" + std::string(static_cast<size_t>(depth), '{');
        EXPECT_NO_THROW(EXPECT_FALSE(decodePodList(unclosed).ok()));
    }
}

TEST(DecodePodList, EmptyAndKindlessListsDecode) {
    for (const char* c : {"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[]}",
                          "{\"kind\":\"PodList\",\"items\":null}", "{\"kind\":\"PodList\"}", "{\"items\":[]}"}) {
        SCOPED_TRACE(c);
        auto r = decodePodList(c);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(r->pods.empty());
        EXPECT_TRUE(r->problems.empty());
    }
    auto rv = decodePodList("{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"12345\"},\"items\":[]}");
    ASSERT_TRUE(rv.ok());
    EXPECT_EQ(rv->resourceVersion, "12345");
}

TEST(DecodePodList, MalformedItemsAreSkippedAndNamedOthersDecode) {
    const std::string doc = R"({"kind":"PodList","apiVersion":"v1","items":[
        {"metadata":{"name":"first","namespace":"a","uid":"11111111-1111-1111-1111-111111111111"},
         "status":{"phase":"Running","qosClass":"Burstable","containerStatuses":[
            {"name":"c","image":"img","containerID":"containerd://abc123","state":{"running":{}}}]}},
        {"spec":{},"status":{"phase":"Running"}},
        {"metadata":"oops"},
        42,
        {"metadata":{"name":"no-uid","namespace":"a"}},
        {"metadata":{"namespace":"a","uid":"nameless"}},
        {"metadata":{"name":"last","namespace":"b","uid":"22222222-2222-2222-2222-222222222222"},
         "status":{"containerStatuses":[{"name":"x","state":{}},{"state":{"running":{}}},"bad"]}}
    ]})";
    auto r = decodePodList(doc);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->pods.size(), 2u);
    EXPECT_EQ(r->pods[0].name, "first");
    EXPECT_EQ(r->pods[0].qos, QosClass::Burstable);
    ASSERT_EQ(r->pods[0].containers.size(), 1u);
    EXPECT_EQ(r->pods[0].containers[0].state, ContainerState::Running);
    EXPECT_EQ(r->pods[1].name, "last");
    EXPECT_EQ(r->pods[1].ns, "b");
    EXPECT_FALSE(r->pods[1].qosKnown);  // no qosClass reported (e.g. a Pending pod)
    EXPECT_EQ(r->pods[1].phase, "");
    // Statuses without a name or not objects are dropped; an empty state is Unknown.
    ASSERT_EQ(r->pods[1].containers.size(), 1u);
    EXPECT_EQ(r->pods[1].containers[0].name, "x");
    EXPECT_EQ(r->pods[1].containers[0].state, ContainerState::Unknown);

    ASSERT_EQ(r->problems.size(), 5u);
    const char* itemNumbers[] = {"item 2", "item 3", "item 4", "item 5", "item 6"};
    for (size_t i = 0; i < 5; ++i) {
        SCOPED_TRACE(r->problems[i]);
        EXPECT_EQ(r->problems[i].rfind(itemNumbers[i], 0), 0u);
    }
}

TEST(DecodePodList, InitAndEphemeralStatusesAreKeptWithTheirKind) {
    const std::string doc = R"({"kind":"PodList","items":[{
        "metadata":{"name":"p","namespace":"n","uid":"u-1","labels":{"a":"b","n":1},
                    "annotations":{"x":"y","iops-limit/iops":"5","iops-limit/read-bps.app":"1Mi","iops-limit/n":7,
                                   "kubectl.kubernetes.io/last-applied-configuration":"{\"big\":true}"}},
        "status":{"phase":"Running","qosClass":"BestEffort",
          "ephemeralContainerStatuses":[{"name":"debug","state":{"running":{}},"containerID":"containerd://e1"}],
          "containerStatuses":[{"name":"app","state":{"running":{}},"containerID":"containerd://a1"}],
          "initContainerStatuses":[{"name":"sidecar","state":{"running":{}},"containerID":"containerd://51"},
                                   {"name":"setup","state":{"terminated":{"exitCode":0}},"containerID":"containerd://5e"}]}}]})";
    auto r = decodePodList(doc);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->pods.size(), 1u);
    const Pod& p = r->pods[0];
    EXPECT_EQ(p.labels, (std::map<std::string, std::string>{{"a", "b"}}));  // non-string values dropped
    // Only our annotations are kept (others, like last-applied-configuration, can be large);
    // non-string values are dropped.
    EXPECT_EQ(p.annotations, (std::map<std::string, std::string>{{"iops-limit/iops", "5"},
                                                                 {"iops-limit/read-bps.app", "1Mi"}}));
    ASSERT_EQ(p.containers.size(), 4u);
    EXPECT_EQ(p.containers[0].name, "sidecar");
    EXPECT_EQ(p.containers[0].kind, ContainerKind::Init);
    EXPECT_EQ(p.containers[0].state, ContainerState::Running);
    EXPECT_EQ(p.containers[1].name, "setup");
    EXPECT_EQ(p.containers[1].kind, ContainerKind::Init);
    EXPECT_EQ(p.containers[1].state, ContainerState::Terminated);
    EXPECT_EQ(p.containers[2].name, "app");
    EXPECT_EQ(p.containers[2].kind, ContainerKind::Regular);
    EXPECT_EQ(p.containers[3].name, "debug");
    EXPECT_EQ(p.containers[3].kind, ContainerKind::Ephemeral);
    EXPECT_EQ(p.containers[3].containerId, "containerd://e1");
}

TEST(ParseContainerId, Runtimes) {
    const std::string hex64 = "77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83";
    struct Case {
        std::string raw;
        Runtime runtime;
        std::string id;
    };
    const std::vector<Case> cases = {
        {"containerd://" + hex64, Runtime::Containerd, hex64},
        {"cri-o://" + hex64, Runtime::Crio, hex64},
        {"docker://" + hex64, Runtime::Docker, hex64},
        {"containerd://abc123", Runtime::Containerd, "abc123"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.raw);
        auto r = parseContainerId(c.raw);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->runtime, c.runtime);
        EXPECT_EQ(r->id, c.id);
    }
}

TEST(ParseContainerId, Rejects) {
    const std::string hex64 = "77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83";
    const std::vector<std::string> cases = {
        "",
        hex64,                           // no scheme
        "containerd:" + hex64,           //
        "containerd//" + hex64,          //
        "rkt://" + hex64,                // unknown scheme
        "crio://" + hex64,               // CRI-O reports cri-o://
        "Containerd://" + hex64,         //
        "://" + hex64,                   //
        "containerd://",                 // no id
        "containerd://XYZ",              // not hex
        "containerd://77BB57D9A0006A5A",  // upper case
        "containerd://abc 123",          //
        "containerd://../../../etc",     // never a path
        "containerd://abc/def",          //
        "docker://" + hex64 + "\n",      //
        "docker://" + std::string(129, 'a'),
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c);
        auto r = parseContainerId(c);
        EXPECT_FALSE(r.ok()) << "parsed as " << (r.ok() ? r->id : "");
    }
}

TEST(PodNames, RuntimeQosKind) {
    EXPECT_EQ(runtimeName(Runtime::Containerd), "containerd");
    EXPECT_EQ(runtimeName(Runtime::Crio), "cri-o");
    EXPECT_EQ(runtimeName(Runtime::Docker), "docker");
    EXPECT_EQ(qosName(QosClass::Guaranteed), "guaranteed");
    EXPECT_EQ(qosName(QosClass::Burstable), "burstable");
    EXPECT_EQ(qosName(QosClass::BestEffort), "besteffort");
    EXPECT_EQ(kindName(ContainerKind::Init), "init");
    EXPECT_EQ(kindName(ContainerKind::Ephemeral), "ephemeral");
}

}  // namespace
}  // namespace iopslimit::core
