#!/usr/bin/env python3
"""Reads the valgrind logs of one tests/valgrind/run (one <pid>.log per service process) and
prints, per log and then per service: bytes definitely and indirectly lost, the error count and
the kinds of errors. Exits 1 when any log has a definitely lost byte or an error, 2 when there is
no log at all (the wrapper was not used)."""
import collections
import os
import re
import sys

KINDS = ("Invalid read", "Invalid write", "Invalid free", "Mismatched free",
         "Conditional jump or move depends on uninitialised", "Use of uninitialised value",
         "Syscall param", "Source and destination overlap")


def parse(path):
    text = open(path, errors="replace").read()
    cmd = re.search(r"== Command: (\S+)", text)
    service = os.path.basename(cmd.group(1)) if cmd else "?"
    lost = {k: int(m.group(1).replace(",", "")) if (m := re.search(
        rf"{k} lost: ([\d,]+) bytes", text)) else None for k in ("definitely", "indirectly")}
    errors = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
    kinds = collections.Counter(k for k in KINDS for _ in re.finditer(rf"== {k}", text))
    return {"log": os.path.basename(path), "service": service,
            "definitely": lost["definitely"] or 0, "indirectly": lost["indirectly"] or 0,
            # No leak summary: the process was killed (SIGKILL) or is still running.
            "summary": "LEAK SUMMARY" in text or "All heap blocks were freed" in text,
            "errors": int(errors.group(1).replace(",", "")) if errors else 0,
            "kinds": kinds}


def main(directory):
    logs = sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".log"))
    if not logs:
        print(f"valgrind: no log in {directory}: did the services run under GG_SERVICE_WRAPPER?")
        return 2
    rows = [parse(p) for p in logs]
    bad = [r for r in rows if r["definitely"] or r["errors"]]
    for r in bad:
        kinds = ", ".join(f"{k} x{n}" for k, n in r["kinds"].items()) or "leak"
        print(f"  {r['log']} ({r['service']}): definitely lost {r['definitely']} B, "
              f"errors {r['errors']} ({kinds})")
    print(f"{'service':<20} {'runs':>5} {'no report':>9} {'definitely lost':>16} "
          f"{'indirectly lost':>16} {'errors':>7}")
    by = collections.defaultdict(list)
    for r in rows:
        by[r["service"]].append(r)
    for service in sorted(by):
        rs = by[service]
        print(f"{service:<20} {len(rs):>5} {sum(not r['summary'] for r in rs):>9} "
              f"{sum(r['definitely'] for r in rs):>14} B {sum(r['indirectly'] for r in rs):>14} B "
              f"{sum(r['errors'] for r in rs):>7}")
    total_def = sum(r["definitely"] for r in rows)
    total_err = sum(r["errors"] for r in rows)
    print(f"valgrind: {len(rows)} service runs, definitely lost {total_def} B, "
          f"errors {total_err}: {'PASS' if not bad else 'FAIL'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
