#!/usr/bin/env python3
"""The pods of one vm-tier run and the PodList the kubelet emulator serves for them (guest side).

  pods.py plan RUN DEFAULT_IOPS OUT.tsv          (RUN bw: the two pods of the buffered-write test;
                                                  RUN ad: the noisy pod and its victim, adaptive limits)
      10 pods x 4 containers across Guaranteed/Burstable/BestEffort, one line per container:
      ID NAMESPACE POD CONTAINER QOS UID RIOPS WIOPS CATEGORY OVERRIDE BATCH
      RIOPS/WIOPS: the limit iops-limitd must set (0 0 = excluded: none of ours); CATEGORY:
      default | pod (pod annotation) | container (per-container annotation) | override (D-Bus) |
      excluded; OVERRIDE: the IOPS to set with `iops-limitctl set` before the pod starts, or -.
      Batches of 4 (container k of 4 different pods), in start order, as pod workers start pods
      in parallel.
  pods.py podlist PLAN.tsv NODE OUT.json [BATCH [running|created]]
      The PodList the kubelet's /pods returns once batches 0..BATCH (default: all) were started:
      their containers running with containerID containerd://<id>, a pod's other containers
      waiting (ContainerCreating, no ID); pods with no started container are not listed yet.
      created: those containers are listed as the kubelet lists one that is created but not
      started yet (containerd's CRI makes the runc container and its cgroup only in
      StartContainer): waiting, with their containerID. BATCH -1: an empty list. Written
      atomically (the emulator re-reads the file per request).

The container IDs and pod UIDs derive from RUN, so every run has its own.
"""
import hashlib, json, os, sys, uuid

EXCLUDE_LABEL = ("iops-limit.test/exempt", "true")   # EXCLUDE_LABEL_SELECTOR in node_test.sh

# name, namespace, QoS, annotations, labels, override IOPS, expected (riops, wiops) per container
# (a function of the container index and the node default)
PODS = [
    ("web", "shop", "Guaranteed", {}, {}, None, lambda c, d: (d, d)),
    ("api", "shop", "Burstable", {"iops-limit/limit": "90"}, {}, None, lambda c, d: (90, 90)),
    ("batch", "shop", "BestEffort",
     {"iops-limit/limit": "110", "iops-limit/limit.c0": "200", "iops-limit/read-iops.c1": "70"}, {}, None,
     lambda c, d: {0: (200, 200), 1: (70, 110)}.get(c, (110, 110))),
    ("db", "shop", "Burstable", {}, {}, 120, lambda c, d: (120, 120)),
    ("dns", "kube-system", "Guaranteed", {}, {}, None, lambda c, d: (0, 0)),
    ("cache", "shop", "BestEffort", {}, {}, None, lambda c, d: (d, d)),
    ("search", "shop", "Guaranteed", {"iops-limit/read-iops": "100", "iops-limit/write-iops": "80"}, {}, None,
     lambda c, d: (100, 80)),
    ("queue", "shop", "Burstable", {"iops-limit/limit.c3": "200"}, {}, None,
     lambda c, d: (200, 200) if c == 3 else (d, d)),
    ("report", "shop", "BestEffort", {"iops-limit/limit": "90"}, {}, 120, lambda c, d: (120, 120)),
    ("agent", "monitoring", "Burstable", {}, dict([EXCLUDE_LABEL]), None, lambda c, d: (0, 0)),
]
IMAGE = "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"
CONTAINERS = 4
PARALLEL = 4
# plan "bw" (buffered writes): a runc container, and a container cgroup made by hand whose pod
# cgroup enables io but not memory for it; both held to 4 MiB/s and 20 IOPS for writes
BUFFERED = [
    ("bwa", "shop", "BestEffort", {"iops-limit/write-bps": "4Mi", "iops-limit/write-iops": "20"}, {}, None,
     lambda c, d: (d, 20)),
    ("bwb", "shop", "BestEffort", {"iops-limit/write-bps": "4Mi", "iops-limit/write-iops": "20"}, {}, None,
     lambda c, d: (d, 20)),
]

# plan "ad" (adaptive limits): a noisy neighbour and a victim on the same disk, neither annotated
ADAPTIVE = [
    ("noisy", "shop", "Burstable", {}, {}, None, lambda c, d: (d, d)),
    ("victim", "shop", "Burstable", {}, {}, None, lambda c, d: (d, d)),
]


def category(pod, c):
    _, ns, _, ann, labels, override, _ = pod
    if ns == "kube-system" or labels:
        return "excluded"
    if override is not None:
        return "override"
    if any(k.endswith(".c%d" % c) for k in ann):
        return "container"
    return "pod" if any(".c" not in k for k in ann) else "default"


def plan(run, default, out):
    rows = []
    pods, containers = {"bw": (BUFFERED, 1), "ad": (ADAPTIVE, 1)}.get(run, (PODS, CONTAINERS))
    for p, pod in enumerate(pods):
        name, ns, qos, ann, labels, override, want = pod
        uid = str(uuid.UUID(hashlib.sha256(("%s/%s/%s" % (run, ns, name)).encode()).hexdigest()[:32]))
        for c in range(containers):
            cid = hashlib.sha256(("%s/%s/%s/c%d" % (run, ns, name, c)).encode()).hexdigest()
            r, w = want(c, default)
            rows.append([cid, ns, "%s-%s" % (name, run), "c%d" % c, qos.lower(), uid, r, w, category(pod, c),
                         override if override is not None else "-", c, p])
    # container k of pods p, p+1, ... : each batch holds containers of 4 different pods
    rows.sort(key=lambda r: (r[10], r[11]))
    with open(out, "w") as f:
        for i, r in enumerate(rows):
            f.write(" ".join(str(x) for x in r[:10] + [i // PARALLEL]) + "\n")


def podlist(plan_path, batch, node, out, state="running"):
    started, pods = set(), {}
    for line in open(plan_path):
        cid, ns, pod, ctr, qos, uid, _, _, _, _, b = line.split()
        pods.setdefault((ns, pod), {"uid": uid, "qos": qos, "containers": []})["containers"].append(ctr)
        if int(b) <= batch:
            started.add((ns, pod, ctr))
        pods[(ns, pod)].setdefault("ids", {})[ctr] = cid
    items = []
    for (ns, name), p in sorted(pods.items()):
        if not any((ns, name, c) in started for c in p["containers"]):
            continue
        base = next(x for x in PODS + BUFFERED + ADAPTIVE if name.startswith(x[0] + "-") and x[1] == ns)
        statuses = []
        for c in sorted(p["containers"]):
            st = {"name": c, "image": IMAGE, "ready": False,
                  "restartCount": 0, "started": False}
            if (ns, name, c) in started and state == "created":
                # kubelet's convertToAPIContainerStatuses: ContainerStateCreated -> Waiting{}
                st.update(containerID="containerd://" + p["ids"][c],
                          imageID="registry.k8s.io/e2e-test-images/busybox@sha256:" + "0" * 64,
                          state={"waiting": {}})
            elif (ns, name, c) in started:
                st.update(containerID="containerd://" + p["ids"][c], ready=True, started=True,
                          imageID="registry.k8s.io/e2e-test-images/busybox@sha256:" + "0" * 64,
                          state={"running": {"startedAt": "2026-01-01T00:00:00Z"}})
            else:
                st["state"] = {"waiting": {"reason": "ContainerCreating"}}
            statuses.append(st)
        items.append({
            "metadata": {"name": name, "namespace": ns, "uid": p["uid"], "annotations": base[3],
                         "labels": dict(base[4], app=base[0]), "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": node, "containers": [{"name": c, "image": IMAGE} for c in sorted(p["containers"])]},
            "status": {"phase": "Running", "qosClass": base[2],
                       "containerStatuses": statuses}})
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}, f)
    os.replace(tmp, out)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "plan":
        plan(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) in (5, 6, 7) and sys.argv[1] == "podlist" and sys.argv[6:] in ([], ["running"], ["created"]):
        podlist(sys.argv[2], int(sys.argv[5]) if len(sys.argv) >= 6 else 1 << 30, sys.argv[3], sys.argv[4],
                sys.argv[6] if len(sys.argv) == 7 else "running")
    else:
        sys.exit(__doc__)
