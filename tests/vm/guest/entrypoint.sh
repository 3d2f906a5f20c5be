# Entrypoint of the vm tier's containers (run by /bin/sh inside the container): ID MAJ:MIN
# Its first action, before anything else runs in the container, is to read its own io.max through
# the host cgroup tree bound read-only at /host/cgroup (its path from /proc/self/cgroup), with shell
# builtins only. It writes the line for MAJ:MIN ("none" if there is none) to /out/ID and sleeps.
read -r self < /proc/self/cgroup
line=none
while read -r l; do
    case $l in "$2 "*) line=$l ;; esac
done < "/host/cgroup${self#0::}/io.max"
echo "$line" > "/out/$1.tmp"
# the cgroup path too, so the test can tell a container that started elsewhere
echo "${self#0::}" >> "/out/$1.tmp"
mv "/out/$1.tmp" "/out/$1"
exec sleep infinity
