# shellcheck shell=bash
# For the benchmarks on the real node: runs the vm tier's driver (tests/vm/node_vm_test.sh) with
# PHASES into LOG, exits 77 with the reason where qemu cannot run, and 1 (with the log's tail)
# when the log has no line starting with MARKER. Sourced; REPO set by the caller.
run_vm_phases() {   # PHASES LOG MARKER
    local rc
    VM_PHASES=$1 bash "$REPO/tests/vm/node_vm_test.sh" > "$2" 2>&1
    rc=$?
    [ "$rc" = 77 ] && { echo "  skipped: $(grep -m1 '^SKIP: ' "$2" | cut -d' ' -f2-)"; exit 77; }
    grep -q "^$3" "$2" && return 0
    tail -n 30 "$2"; echo "  no results (exit $rc)"; exit 1
}
