"""Summarizes compare_bench.sh's results: a table of medians, min-max and cbuild's ratio to
each peer, cbuild's peak RSS per scenario, layer commit throughput, the edit sequence's hit
rates and issue 7's targets against BuildKit; the same as JSON.
Usage: compare_summary.py RESULTS OUT.json RUNS WALL_SECONDS
RESULTS lines: `time SCENARIO TOOL SECONDS`, `rss SCENARIO KB`, `commit TOOL SECONDS BYTES`,
`edits TOOL COMPARE.json` (cbuild compare --format json)."""
import json
import statistics
import sys

results, out, runs, wall = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
times, rss, commits, edits = {}, {}, {}, {}
for line in open(results):
    kind, *f = line.split()
    if kind == "time":
        times.setdefault(f[0], {}).setdefault(f[1], []).append(float(f[2]))
    elif kind == "rss":
        rss[f[0]] = max(rss.get(f[0], 0), int(f[1]))
    elif kind == "commit":
        commits.setdefault(f[0], []).append(int(f[2]) / 1e6 / max(float(f[1]), 1e-3))
    elif kind == "edits":
        states = json.load(open(f[1]))["states"][1:]  # state 1 is the cold build
        steps = sum(s["cbuild"]["steps"] for s in states)
        edits[f[0]] = {
            "states": [{"name": s["name"], "cbuild": s["cbuild"]["hits"], "docker": s["docker"]["hits"],
                        "steps": s["cbuild"]["steps"]} for s in states],
            "cbuild_hit_rate": sum(s["cbuild"]["hits"] for s in states) / steps,
            "docker_hit_rate": sum(s["docker"]["hits"] for s in states) / sum(s["docker"]["steps"] for s in states)}


def summary(values, cbuild_median=None):
    med = statistics.median(values)
    ratio = cbuild_median / med if cbuild_median is not None and med > 0 else None
    return {"median": med, "min": min(values), "max": max(values), "values": values, "cbuild_ratio": ratio}


report = {"version": 2, "runs": runs, "wall_seconds": wall, "scenarios": {}, "peak_rss_kb": rss,
          "commit_mb_per_s": {}, "edits": edits, "targets": []}
print(f"{'SCENARIO':<17} {'TOOL':<9} {'MEDIAN':>9} {'MIN-MAX':>17} {'CBUILD/TOOL':>11}  CBUILD PEAK RSS")
for scenario, tools in times.items():
    cb = statistics.median(tools["cbuild"]) if "cbuild" in tools else None
    entry = {t: summary(v, cb if t != "cbuild" else None) for t, v in tools.items()}
    report["scenarios"][scenario] = entry
    for i, (tool, e) in enumerate(entry.items()):
        r = f"{e['cbuild_ratio']:.3f}" if e["cbuild_ratio"] is not None else "-"
        mem = f"{rss[scenario] / 1024:.1f} MB" if i == 0 and scenario in rss else ""
        print(f"{scenario:<17} {tool:<9} {e['median']:>8.3f}s {e['min']:>7.3f}-{e['max']:>8.3f}s {r:>11}  {mem}")
if commits:
    cb = statistics.median(commits["cbuild"]) if "cbuild" in commits else None
    report["commit_mb_per_s"] = {t: summary(v, cb if t != "cbuild" else None) for t, v in commits.items()}
    print("layer commit (bigwrite build time - its command's time), MB/s; ratio = cbuild/tool throughput")
    for tool, e in report["commit_mb_per_s"].items():
        r = f"{e['cbuild_ratio']:.2f}x" if e["cbuild_ratio"] is not None else "-"
        print(f"  {tool:<9} {e['median']:>8.0f} MB/s  {e['min']:>6.0f}-{e['max']:<6.0f} {r:>8}")
if "edits" in rss:
    print(f"edits: cbuild compare peak RSS {rss['edits'] / 1024:.1f} MB (docker client children included)")
for tool, e in edits.items():
    print(f"edits: hit rate cbuild {e['cbuild_hit_rate']:.0%}, docker {tool} {e['docker_hit_rate']:.0%}")
    for s in e["states"]:
        print(f"  {s['name']:<26} cbuild {s['cbuild']}/{s['steps']}  {tool} {s['docker']}")


def ratio(scenario):
    e = report["scenarios"].get(scenario, {}).get("buildkit")
    return e["cbuild_ratio"] if e else None


# (what, value against BuildKit, target, met(value))
targets = [("cached rebuild", ratio("cached"), "<= 0.1", lambda v: v <= 0.1)]
targets += [(s, ratio(s), "<= 0.05", lambda v: v <= 0.05) for s in report["scenarios"] if s.startswith("steps")]
targets += [(s, ratio(s), "<= 0.1", lambda v: v <= 0.1)
            for s in ("bigctx-unchanged", "bigctx-touch", "bigctx-onefile")]
targets += [(s, ratio(s), "<= 0.5", lambda v: v <= 0.5) for s in ("bigctx-cold", "apt-cold")]
targets += [("apt-warm (cache mounts)", ratio("apt-warm"), "<= 1.0", lambda v: v <= 1.0)]
bk_commit = report["commit_mb_per_s"].get("buildkit")
targets += [("layer commit throughput", bk_commit and bk_commit["cbuild_ratio"], ">= 2x", lambda v: v >= 2)]
bk_edits = edits.get("buildkit")
targets += [("edits hit rate - buildkit's", bk_edits and bk_edits["cbuild_hit_rate"] - bk_edits["docker_hit_rate"],
             ">= 0", lambda v: v >= -1e-9)]
print("targets against BuildKit (cbuild/BuildKit time unless said):")
for what, value, target, met in targets:
    state = "not measured" if value is None else ("met" if met(value) else "NOT met")
    shown = "-" if value is None else f"{value:.3f}"
    print(f"  {what:<26} {shown:>7}  target {target:<8} {state}")
    report["targets"].append({"what": what, "value": value, "target": target,
                              "met": None if value is None else met(value)})
print(f"total wall time {wall / 60:.1f} min; JSON: {out}")
json.dump(report, open(out, "w"), indent=2)
