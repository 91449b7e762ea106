#!/usr/bin/env python3
"""A process's resident memory from /proc/PID/status: VmRSS (now) and VmHWM (the peak so far).

    bench/procmem.py PID LABEL     # prints "memory LABEL: VmRSS 12.3 MiB, VmHWM 14.0 MiB"

The benchmarks print it for every service they start: once idle after the start, once after
the load, whose VmHWM is the peak under that load."""
import sys


def status(pid):
    """{"VmRSS": kB, "VmHWM": kB} of pid, or None when it has gone."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0])
    except OSError:
        return None
    return out


def line(pid, label):
    s = status(pid)
    if not s:
        return f"memory {label}: process {pid} has gone"
    return (f"memory {label}: VmRSS {s['VmRSS'] / 1024:.1f} MiB, "
            f"VmHWM {s['VmHWM'] / 1024:.1f} MiB")


if __name__ == "__main__":
    print(line(int(sys.argv[1]), sys.argv[2]), flush=True)
