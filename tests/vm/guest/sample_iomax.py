#!/usr/bin/env python3
"""Samples the io.max of many containers, back to back, until SIGTERM (guest side).

  sample_iomax.py TARGETS MAJ:MIN OUT.json
      TARGETS: one line per container, "CGROUP_DIR RIOPS WIOPS" (0 0: must have no line for
      MAJ:MIN). Every sample reads every container's io.max; a container whose line differs from
      what it must be is counted, and it is "loosened" when a limit is missing or higher than
      its own. On SIGTERM writes OUT.json: samples, seconds, the largest gap between two samples,
      the deviations (first 20 with their time and line) and how many of them loosened a limit.
"""
import json, os, signal, sys, time


def parse(text, dev):
    for line in text.splitlines():
        f = line.split()
        if f and f[0] == dev:
            kv = dict(x.split("=", 1) for x in f[1:])
            return {k: (0 if v == "max" else int(v)) for k, v in kv.items()}
    return None


def main():
    targets_path, dev, out = sys.argv[1:]
    targets = []
    for line in open(targets_path):
        d, r, w = line.split()
        targets.append((d, int(r), int(w)))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    samples, deviations, first, loosened, gap = 0, 0, [], 0, 0.0
    # kept open: a pread at 0 reads the file afresh (kernfs), ~10x cheaper than open/read/close
    fds = []
    for d, _, _ in targets:
        try:
            fds.append(os.open(d + "/io.max", os.O_RDONLY))
        except OSError:
            fds.append(-1)
    t0 = last = time.monotonic()
    while not stop:
        for (d, r, w), fd in zip(targets, fds):
            try:
                got = parse(os.pread(fd, 4096, 0).decode(), dev)
            except OSError as e:
                got = {"error": str(e)}
            if r == 0 and w == 0:
                ok = got is None
            else:
                ok = got is not None and got.get("riops") == r and got.get("wiops") == w
                # unlimited (0 here), missing or higher than its own: loosened
                if not ok and not (got and 0 < got.get("riops", 0) <= r and 0 < got.get("wiops", 0) <= w):
                    loosened += 1
            if not ok:
                deviations += 1
                if len(first) < 20:
                    first.append({"t": round(time.monotonic() - t0, 3), "cgroup": d, "want": [r, w], "got": got})
        samples += 1
        now = time.monotonic()
        gap, last = max(gap, now - last), now
        time.sleep(0.01)
    with open(out, "w") as f:
        json.dump({"samples": samples, "seconds": round(time.monotonic() - t0, 1), "max_gap_ms": round(gap * 1000),
                   "deviations": deviations, "loosened": loosened, "first": first}, f, indent=1)


if __name__ == "__main__":
    main()
