# shellcheck shell=bash
# What the kubelet and containerd do on a node, done by hand inside the node-vm guest: the kubepods
# tree, pod cgroups, and containers started by real containerd + runc the way the CRI plugin starts
# them. Sourced by node_test.sh (after tests/system/lib.sh, for container_cgroup). Guest side.
#
#   DRIVER systemd:  kubepods.slice, kubepods-<qos>.slice and the pod slice are transient slices
#                    (StartTransientUnit, as the kubelet's libcontainer systemd manager makes them);
#                    `ctr run --runc-systemd-cgroup --cgroup <pod slice>:cri-containerd:<id>` makes
#                    runc ask systemd for cri-containerd-<id>.scope.
#   DRIVER cgroupfs: mkdir kubepods/<qos>/pod<uid> with the controllers enabled on the way down, as
#                    the kubelet's cgroupfs manager does; `ctr run --cgroup /kubepods/<qos>/pod<uid>/<id>`
#                    makes runc create the leaf.
# Every container: a --rootfs of a few directories and symlinks with the guest's /usr bound read-only
# (sh, sleep, fio), the host cgroup tree read-only at /host/cgroup, /data, the guest scripts at /t and
# a result directory at /out. Its entrypoint (entrypoint.sh) reads its own io.max first.

CG=/sys/fs/cgroup
ROOTFS_DIR=$STATE/rootfs
CONTROLLERS="+cpu +io +memory +pids"

kubepods_top() { [ "$1" = systemd ] && echo kubepods.slice || echo kubepods; }   # DRIVER

# A transient slice with the properties the kubelet (libcontainer's systemd manager) gives its own,
# started and waited for.
start_slice() {   # NAME
    busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
        StartTransientUnit 'ssa(sv)a(sa(sv))' "$1" replace 6 Description s "libcontainer container $1" \
        DefaultDependencies b false MemoryAccounting b true CPUAccounting b true IOAccounting b true \
        TasksAccounting b true 0 > /dev/null || return 1
    for _ in $(seq 100); do systemctl is-active -q "$1" && return 0; sleep 0.05; done
    return 1
}

cg_mkdir() {   # REL: mkdir with the kubelet's controllers enabled for its children
    [ -d "$CG/$1" ] || mkdir "$CG/$1" || return 1
    echo "$CONTROLLERS" > "$CG/$1/cgroup.subtree_control"
}

# The kubelet at its start: the kubepods tree and the QoS levels.
kubelet_tree() {   # DRIVER
    local q
    if [ "$1" = systemd ]; then
        for q in kubepods.slice kubepods-burstable.slice kubepods-besteffort.slice; do
            systemctl is-active -q "$q" || start_slice "$q" || { fail "kubelet: could not start $q"; return 1; }
        done
    else
        echo "$CONTROLLERS" > "$CG/cgroup.subtree_control"
        for q in kubepods kubepods/burstable kubepods/besteffort; do
            cg_mkdir "$q" || { fail "kubelet: could not create $CG/$q"; return 1; }
        done
    fi
}

pod_slice() {   # QOS UID: the pod's slice (systemd driver)
    local q=
    [ "$1" = guaranteed ] || q=-$1
    echo "kubepods$q-pod${2//-/_}.slice"
}
pod_dir() {   # QOS UID: the pod's cgroup (cgroupfs driver), relative
    if [ "$1" = guaranteed ]; then echo "kubepods/pod$2"; else echo "kubepods/$1/pod$2"; fi
}

# The kubelet before a pod's first container: the pod cgroup.
make_pod_cgroup() {   # DRIVER QOS UID
    if [ "$1" = systemd ]; then
        systemctl is-active -q "$(pod_slice "$2" "$3")" || start_slice "$(pod_slice "$2" "$3")"
    else
        cg_mkdir "$(pod_dir "$2" "$3")"
    fi
}

# ctr's --cgroup for a container: what the CRI plugin passes to runc as cgroupsPath.
ctr_cgroup() {   # DRIVER QOS UID ID
    if [ "$1" = systemd ]; then echo "$(pod_slice "$2" "$3"):cri-containerd:$4"
    else echo "/$(pod_dir "$2" "$3")/$4"; fi
}

# Starts one container (detached) whose entrypoint writes its io.max to OUT/<id> and then sleeps,
# with the OCI annotations of the CRI plugin: the containers of a pod share one shim, as they
# share their sandbox's. EXTRA: more ctr options (e.g. a writable /data).
start_container() {   # DRIVER QOS UID ID OUT NAMESPACE POD CONTAINER [EXTRA...]
    local driver=$1 qos=$2 uid=$3 id=$4 out=$5 ns=$6 pod=$7 name=$8 sysd=()
    shift 8
    [ "$driver" = systemd ] && sysd=(--runc-systemd-cgroup)
    mkdir -p "$ROOTFS_DIR/$id" && cp -a "$STATE/rootfs-template/." "$ROOTFS_DIR/$id/" || return 1
    ctr run -d --null-io --rootfs "${sysd[@]}" --cgroup "$(ctr_cgroup "$driver" "$qos" "$uid" "$id")" \
        --env PATH=/usr/sbin:/usr/bin:/sbin:/bin --annotation io.kubernetes.cri.container-type=container \
        --annotation io.kubernetes.cri.container-name="$name" --annotation io.kubernetes.cri.sandbox-id="$uid" \
        --annotation io.kubernetes.cri.sandbox-name="$pod" --annotation io.kubernetes.cri.sandbox-namespace="$ns" \
        --mount type=bind,src=/usr,dst=/usr,options=rbind:ro \
        --mount type=bind,src=$CG,dst=/host/cgroup,options=rbind:ro \
        --mount type=bind,src=/data,dst=/data,options=rbind:ro \
        --mount type=bind,src="$GUEST_DIR",dst=/t,options=rbind:ro \
        --mount type=bind,src="$out",dst=/out,options=rbind:rw \
        "$@" "$ROOTFS_DIR/$id" "$id" /bin/sh /t/entrypoint.sh "$id" "$MAJMIN" < /dev/null
}

make_rootfs_template() {
    local t=$STATE/rootfs-template
    mkdir -p "$t"/{usr,proc,dev,sys,host/cgroup,data,t,out,tmp,etc} &&
        ln -sfn usr/bin "$t/bin" && ln -sfn usr/sbin "$t/sbin" && ln -sfn usr/lib "$t/lib" && ln -sfn usr/lib64 "$t/lib64"
}

# Ends every container and pod cgroup: cgroup.kill on the kubepods tree, then a reset of containerd
# (its shims killed with it, its state removed, started again): `ctr task rm` takes ~1 s per
# container under TCG, this ~5 s for all. KEEP_TREE=1 leaves the kubepods and QoS levels.
teardown_pods() {   # DRIVER
    local top d
    top=$(kubepods_top "$1")
    [ -d "$CG/$top" ] && echo 1 > "$CG/$top/cgroup.kill"
    systemctl kill --signal=KILL containerd
    for _ in $(seq 100); do systemctl is-active -q containerd || break; sleep 0.1; done
    rm -rf /run/containerd/io.containerd.runtime.v2.task /run/containerd/runc /var/lib/containerd/io.containerd.metadata.v1.bolt
    systemctl start containerd || fail "containerd did not start again"
    rm -rf "$ROOTFS_DIR"
    if [ "$1" = systemd ]; then
        systemctl stop 'kubepods-*pod*.slice' 2> /dev/null
        [ "${KEEP_TREE:-}" = 1 ] || systemctl stop kubepods.slice 2> /dev/null
    else
        # runc did not delete the containers' cgroups (no `runc delete`): leaves, pods, then
        # (unless kept) the QoS levels and kubepods
        for d in "$CG"/kubepods/pod*/* "$CG"/kubepods/*/pod*/* "$CG"/kubepods/pod* "$CG"/kubepods/*/pod*; do
            [ -d "$d" ] && rmdir "$d"
        done
        if [ "${KEEP_TREE:-}" != 1 ]; then
            for d in "$CG"/kubepods/burstable "$CG"/kubepods/besteffort "$CG"/kubepods; do [ -d "$d" ] && rmdir "$d"; done
        fi
    fi
    [ -z "$(ctr c ls -q)" ] || fail "containers left after the reset: $(ctr c ls -q | wc -l)"
    return 0
}
