#!/usr/bin/env python3
"""onslaught's flow benchmark (issue 11's goals): what a request costs the generator in a plan's
flows against the plain single-request path, and whether memory stays flat with many request
names. Uses bench.py's helpers (pinning, GNU time); see BENCHMARKS.md, section "Flows".

  bench/flows.py --onslaught target/release/onslaught [--smoke] [--repeats N]
                 [--requests N] [--memory 100000,1000000] [--json FILE]

Cost: every variant runs the same number of requests against onslaught's own target (pinned to
core 0; the generator to core 1), closed load (avalanche, 64 connections/users, one driver),
and is measured by the kernel's accounting of the generator process (user+sys CPU seconds,
GNU time). Cost per request = CPU seconds / responses. The variants are interleaved within each
round and the medians of the rounds are compared, so a machine shared with other work skews them
alike (CPU time, not wall time, is compared for the same reason):

  wrk        wrk -t1 -c64 -d3s, the reference, in the same rounds (when installed)
  url        `onslaught run URL` (the single-request path)
  plan       a plan file without flows (url and method in the file): the same path
  one-step   a plan file with one flow of one step (GET /ping): the flow runner
  3-step     login (POST /login with a JSON body templated from a CSV row, extraction of the
             token with JSONPath, check status 200), list (GET /cart, the session cookie from
             the user's jar), item (GET /items/{{ random_int(1, 1000) }} with the token in a
             templated header, check status 200): the flow runner with templating, extraction,
             a cookie jar and checks

Memory: a flow of 100 steps, each its own request name (GET /ping), run to 100k and 1M requests
(and more when asked); peak RSS from GNU time (%M).

Safety: the target listens on 127.0.0.1; every run is bounded in requests and in time.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness's helpers: measured, onslaught_target, log)

CONNECTIONS = 64
ACCOUNTS = 300


def write_accounts(d: Path) -> Path:
    path = d / "accounts.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user", "password"])
        for i in range(ACCOUNTS):
            w.writerow([f"bench{i:03}", f"pw{i:03}"])
    return path


def plans(d: Path, base: str) -> dict[str, Path]:
    """The plan files of the variants (JSON: a plan file may be JSON or YAML)."""
    common = {"base_url": base, "test_type": "avalanche", "concurrency": CONNECTIONS,
              "timeout_ms": 5000}
    out = {}
    out["plan"] = {"name": "plan", **common, "url": base + "/ping", "method": "GET"}
    del out["plan"]["base_url"]
    out["one-step"] = {"name": "one-step", **common,
                       "flows": [{"name": "ping", "steps": [{"name": "ping", "request": {"url": "/ping"}}]}]}
    out["3-step"] = {
        "name": "3-step", **common,
        "data": {"accounts": {"csv": "accounts.csv", "order": "sequential"}},
        "flows": [{"name": "shop", "steps": [
            {"name": "login",
             "request": {"method": "POST", "url": "/login",
                         "json": {"user": "{{ accounts.user }}", "password": "{{ accounts.password }}"}},
             "extract": {"token": {"json": "$.token"}},
             "check": {"status": 200}, "on_failure": "stop"},
            {"name": "list", "request": {"url": "/cart"}, "check": {"status": 200}},
            {"name": "item",
             "request": {"url": "/items/{{ random_int(1, 1000) }}",
                         "headers": {"Authorization": "Bearer {{ token }}"}},
             "check": {"status": 200}},
        ]}],
    }
    out["names-100"] = {
        "name": "names-100", **common,
        "flows": [{"name": "many", "steps": [
            {"name": f"n{i:03}", "request": {"url": "/ping"}} for i in range(100)]}],
    }
    paths = {}
    for name, doc in out.items():
        p = d / f"{name}.json"
        p.write_text(json.dumps(doc, indent=1))
        paths[name] = p
    return paths


def run(onslaught: str, what: list[str], wd: Path, tag: str, timeout: float) -> dict:
    reports = wd / f"{tag}-reports"
    r = bench.measured([onslaught, "run", *what, "--drivers", "1", "--quiet", "-o", "json",
                        "--report-dir", str(reports)], wd, tag, timeout=timeout)
    for p in sorted(reports.glob("*")):
        for f in p.glob("*"):
            f.unlink()
        p.rmdir()
    if reports.exists():
        reports.rmdir()
    try:
        view = json.loads(r.pop("stdout"))
    except json.JSONDecodeError:
        r["error"] = f"rc={r['rc']}: no JSON on stdout: {r['stderr'][-500:]}"
        return r
    a = view["aggregate"]
    r.update(responses=a["responses_received"], sent=a["requests_sent"],
             errors=sum(a.get("errors", {}).values()), failed_checks=a.get("checks_failed", 0),
             names=len(a.get("by_name", {})), status=view["status"])
    r["cpu_us_per_request"] = r["cpu_s"] / r["responses"] * 1e6 if r["responses"] else None
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onslaught", required=True)
    ap.add_argument("--smoke", action="store_true", help="few requests, one round")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--requests", type=int, default=150_000, help="requests per cost run")
    ap.add_argument("--memory", default="100000,1000000", help="request counts of the memory runs")
    ap.add_argument("--json", default=None)
    cfg = ap.parse_args()
    if cfg.smoke:
        cfg.repeats, cfg.requests, cfg.memory = 1, 3_000, "2000,20000"
    counts = [int(c) for c in cfg.memory.split(",") if c]
    res = {"meta": {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                    "load before": Path("/proc/loadavg").read_text().strip(),
                    "machine": bench.machine(), "requests": cfg.requests, "repeats": cfg.repeats}}
    with tempfile.TemporaryDirectory(prefix="onslaught-flows-") as tmp:
        wd = Path(tmp)
        accounts = write_accounts(wd)
        with bench.onslaught_target(cfg.onslaught, wd, ["--accounts", str(accounts)]) as server:
            base = f"http://127.0.0.1:{server.port}"
            files = plans(wd, base)
            n = cfg.requests
            variants = {
                "url": [server.url("/ping"), "-c", str(CONNECTIONS), "--type", "avalanche", "-n", str(n)],
                "plan": [str(files["plan"]), "-n", str(n)],
                "one-step": [str(files["one-step"]), "--iterations", str(n)],
                "3-step": [str(files["3-step"]), "--iterations", str(n // 3)],
            }
            wrk = shutil.which("wrk")
            rounds = {k: [] for k in (["wrk"] if wrk else []) + list(variants)}
            for i in range(cfg.repeats):
                if wrk:
                    # The reference in the same rounds: wrk, one thread, the same connections.
                    r = bench.measured([wrk, "-t1", f"-c{CONNECTIONS}", "-d3s", server.url("/ping")], wd,
                                       f"wrk-{i}", timeout=60)
                    m = re.search(r"(\d+) requests in", r.pop("stdout"))
                    if m:
                        r["responses"] = int(m.group(1))
                        r["cpu_us_per_request"] = r["cpu_s"] / r["responses"] * 1e6
                    else:
                        r["error"] = f"rc={r['rc']}: unparsable wrk output"
                    bench.log(f"round {i} wrk: " + (r.get("error") or f"{r['cpu_us_per_request']:.2f} µs/request"))
                    rounds["wrk"].append(r)
                for name, what in variants.items():
                    r = run(cfg.onslaught, what, wd, f"{name}-{i}", timeout=300)
                    bench.log(f"round {i} {name}: " + (r.get("error") or
                              f"{r['responses']} responses, {r['cpu_s']:.2f} CPU s, "
                              f"{r['cpu_us_per_request']:.2f} µs/request, {r['elapsed_s']:.1f} s wall"))
                    rounds[name].append(r)
            cost = {}
            for name, runs in rounds.items():
                ok = [r for r in runs if "error" not in r and r.get("cpu_us_per_request")]
                cost[name] = {
                    "runs": [{k: r.get(k) for k in ("responses", "errors", "failed_checks", "names", "cpu_s",
                                                     "cpu_us_per_request", "elapsed_s", "max_rss_kb", "status",
                                                     "error", "cmd")} for r in runs],
                    "median_us_per_request": statistics.median([r["cpu_us_per_request"] for r in ok]) if ok else None,
                }
            plain = cost["url"]["median_us_per_request"]
            for name in cost:
                m = cost[name]["median_us_per_request"]
                cost[name]["ratio_to_url"] = m / plain if m and plain else None
            res["cost"] = cost
            memory = []
            for c in counts:
                r = run(cfg.onslaught, [str(files["names-100"]), "--iterations", str(max(1, c // 100))],
                        wd, f"mem-{c}", timeout=1800)
                row = {"requests": c, **{k: r.get(k) for k in ("responses", "errors", "names", "max_rss_kb",
                                                                 "cpu_s", "elapsed_s", "status", "error")}}
                bench.log(f"memory {c}: " + (r.get("error") or
                          f"{r['responses']} responses, {r['names']} names, peak RSS {r['max_rss_kb'] / 1024:.1f} MB"))
                memory.append(row)
            res["memory"] = memory
    res["meta"]["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    res["meta"]["load after"] = Path("/proc/loadavg").read_text().strip()
    out = Path(cfg.json) if cfg.json else bench.BENCH / "results" / (
        time.strftime("%Y%m%d-%H%M%S") + ("-flows-smoke" if cfg.smoke else "-flows") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=str))
    print(render(res))
    bench.log(f"results JSON: {out}")
    broken = [f"{k}: {r.get('error')}" for k, v in res["cost"].items() for r in v["runs"] if r.get("error")]
    broken += [f"memory {r['requests']}: {r['error']}" for r in res["memory"] if r.get("error")]
    for b in broken:
        bench.log(f"broken: {b}")
    return 1 if broken else 0


def render(res: dict) -> str:
    lines = [f"Flow benchmark, {res['meta']['started']} to {res['meta']['finished']}; "
             f"load average before {res['meta']['load before']}, after {res['meta']['load after']}.", "",
             "| variant | requests per run | generator CPU per request (median, µs) | vs `run URL` | runs (µs/request) |",
             "|---|---|---|---|---|"]
    for name, c in res["cost"].items():
        runs = ", ".join(f"{r['cpu_us_per_request']:.2f}" if r.get("cpu_us_per_request") else "error" for r in c["runs"])
        med = c["median_us_per_request"]
        ratio = c["ratio_to_url"]
        lines.append(f"| {name} | {c['runs'][0].get('responses')} | {med:.2f} | {ratio:.2f}x | {runs} |"
                     if med and ratio else f"| {name} | - | - | - | {runs} |")
    lines += ["", "| requests (100 names) | responses | names in report | peak RSS (MB) | CPU s | wall s |",
              "|---|---|---|---|---|---|"]
    for r in res["memory"]:
        if r.get("error"):
            lines.append(f"| {r['requests']} | error: {r['error'][:80]} | | | | |")
        else:
            lines.append(f"| {r['requests']} | {r['responses']} | {r['names']} | {r['max_rss_kb'] / 1024:.1f} | "
                         f"{r['cpu_s']:.1f} | {r['elapsed_s']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
