#!/usr/bin/env python3
"""Annotation change -> limit in force through the API-server watch, and the daemon at idle.

Runs iops-limitd (long-running, CHECK_INTERVAL=3600 so only the watch acts) against the loopback
kubelet/API emulator on a temp cgroup tree (no root needed), pushes MODIFIED events that change a
pod's iops-limit/limit annotation, and times each until the container's io.max shows the value.
Then it leaves the daemon idle with the watch open and reports CPU time per minute and RSS.

    tests/bench/watch_latency.py [BUILD_DIR] [EVENTS] [IDLE_SECONDS]
"""
import json, os, shutil, signal, subprocess, sys, tempfile, time, urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build")
EVENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
IDLE = int(sys.argv[3]) if len(sys.argv) > 3 else 60
DAEMON = os.path.join(BUILD, "service/daemon/iops-limitd")
FIXTURE = os.path.join(REPO, "tests/data/nri-kubernetes_1_35_kubelet_pods.json")
POD = "e2e-deployment-79967c5968-8bnn8"


def cgroup_of(pod, status):
    qos = pod["status"]["qosClass"].lower()
    uid = pod["metadata"]["uid"].replace("-", "_")
    cid = status["containerID"].split("://")[1]
    base = ("kubepods.slice/kubepods-pod%s.slice" % uid if qos == "guaranteed" else
            "kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice" % (qos, qos, uid))
    return "%s/cri-containerd-%s.scope" % (base, cid)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))]


def main():
    work = tempfile.mkdtemp(prefix="iops-limit-watch-bench.")
    procs = []
    try:
        subprocess.run(["bash", os.path.join(REPO, "tests/tools/make_certs.sh"), work + "/certs"], check=True)
        pods = json.load(open(FIXTURE))
        json.dump(pods, open(work + "/pods.json", "w"))
        cg = work + "/cgroup"
        os.makedirs(cg)
        open(cg + "/cgroup.controllers", "w").write("io\n")
        target = None
        for p in pods["items"]:
            for s in p["status"].get("containerStatuses", []):
                if "running" in s["state"]:
                    d = os.path.join(cg, cgroup_of(p, s))
                    os.makedirs(d)
                    open(d + "/io.max", "w").close()
                    if p["metadata"]["name"] == POD:
                        target, template = d + "/io.max", p
        # fake disk: /data on nvme0n1 (259:0)
        os.makedirs(work + "/proc/self")
        open(work + "/proc/self/mountinfo", "w").write("90 1 259:0 / /data rw - xfs /dev/nvme0n1 rw\n")
        os.makedirs(work + "/sys/devices/nvme0n1")
        open(work + "/sys/devices/nvme0n1/dev", "w").write("259:0\n")
        os.makedirs(work + "/sys/dev/block")
        os.symlink("../../devices/nvme0n1", work + "/sys/dev/block/259:0")

        emu = subprocess.Popen([sys.executable, os.path.join(REPO, "tests/tools/kube_emulator.py"),
                                "--pods", work + "/pods.json", "--cert", work + "/certs/server.crt",
                                "--key", work + "/certs/server.key", "--token", work + "/certs/token",
                                "--port-file", work + "/port", "--control-port-file", work + "/cport"],
                               stderr=subprocess.DEVNULL)
        procs.append(emu)
        while not os.path.exists(work + "/port"):
            time.sleep(0.02)
        port, cport = open(work + "/port").read().strip(), open(work + "/cport").read().strip()
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "INVOCATION_ID")}
        env.update({"KUBELET_HOST": "127.0.0.1", "KUBELET_PORT": port, "KUBELET_CA_PATH": work + "/certs/ca.crt",
                    "KUBELET_TOKEN_PATH": work + "/certs/token", "KUBE_API_SERVER": "https://127.0.0.1:" + port,
                    "KUBE_CA_PATH": work + "/certs/ca.crt", "KUBE_TOKEN_PATH": work + "/certs/token",
                    "NODE_NAME": "datagen-1-35", "DATA_MOUNT": "/data", "CGROUP_ROOT": cg,
                    "IOPS_LIMIT_PROC_ROOT": work + "/proc", "IOPS_LIMIT_SYS_ROOT": work + "/sys",
                    "STATE_DIRECTORY": work + "/state", "CHECK_INTERVAL": "3600",
                    "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + work + "/no-bus"})
        daemon = subprocess.Popen([DAEMON], env=env, stderr=open(work + "/daemon.log", "w"))
        procs.append(daemon)

        def control(path, body=b""):
            return urllib.request.urlopen(urllib.request.Request(
                "http://127.0.0.1:%s%s" % (cport, path), data=body, method="POST" if body or path != "/stats" else "GET")).read()

        def stats():
            return json.loads(urllib.request.urlopen("http://127.0.0.1:%s/stats" % cport).read())

        deadline = time.time() + 10
        while stats()["open_watches"] < 1 and time.time() < deadline:
            time.sleep(0.02)
        lat = []
        for i in range(EVENTS):
            value = str(300 + i)
            template["metadata"].setdefault("annotations", {})["iops-limit/limit"] = value
            t0 = time.monotonic()
            control("/event", json.dumps({"type": "MODIFIED", "object": template}).encode())
            want = "riops=%s wiops=%s" % (value, value)
            while want not in open(target).read():
                if time.monotonic() - t0 > 5:
                    break
                time.sleep(0.0005)
            lat.append((time.monotonic() - t0) * 1000)
        print("annotation change -> io.max through the API-server watch (%d events):" % EVENTS)
        print("  p50 %.1f ms   p99 %.1f ms   max %.1f ms   (target p99 <= 1000 ms)" % (pct(lat, .5), pct(lat, .99), max(lat)))

        def cpu_ms():
            f = open("/proc/%d/stat" % daemon.pid).read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) * 1000 / os.sysconf("SC_CLK_TCK")

        def rss(field):
            for line in open("/proc/%d/status" % daemon.pid):
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
        c0 = cpu_ms()
        time.sleep(IDLE)
        c1 = cpu_ms()
        print("idle with the watch open for %d s: %.1f ms CPU per minute" % (IDLE, (c1 - c0) * 60 / IDLE))
        print("  RSS %.1f MiB (peak %.1f MiB) = %.1f MiB own memory (RssAnon) + %.1f MiB mapped files (RssFile:"
              " the binary and shared libraries, shared with other processes)"
              % (rss("VmRSS:"), rss("VmHWM:"), rss("RssAnon:"), rss("RssFile:")))
        print("  (targets: CPU per minute ~ 0; RSS <= 10 MiB)")
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
