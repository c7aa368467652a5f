#!/usr/bin/env python3
"""onslaught's benchmark: runs onslaught and its peers against the same local targets and writes
a results JSON and the markdown tables of BENCHMARKS.md.

Usually started by bench/run.sh (which installs the peers and builds the binaries). Sections:

  throughput   keep-alive avalanche, same connections and duration for every tool, against
               nginx (one worker) and onslaught's own target; target pinned to one core, the
               generator to the other; requests/s, requests per generator CPU-second (user+sys
               from the kernel, via GNU time), peak RSS, p50/p99 as each tool reports them;
               repeated, medians, ratios against wrk.
  rate         onslaught tsunami at 1k/10k/50k requests/s: achieved rate and send-time jitter,
               from onslaught's report and from a timestamping receiver.
  stall        the target holds every request arriving in a 200 ms window once a second;
               reported p50/p90/p99/p99.9 against the ground truth computed from the schedule.
  memory       onslaught's peak RSS at 100k, 1M, 10M requests.
  control      control-plane bytes per driver-second; orchestrator CPU merging the reports of
               100 and 1,000 simulated drivers (in process, and over a real broker at 100).
  profile      perf profiles of what bounds the goals that were not met.

Safety: every target listens on 127.0.0.1 and every load run is bounded in time (and the
memory runs in count and time); nothing is sent anywhere else.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TARGET_CPU = "0"
GEN_CPU = "1"
CONNECTIONS = 64
# The stall test uses fewer connections than requests arriving in one stall window (100), so a
# tool that waits for a free connection (coordinated omission) shows it.
STALL_CONNECTIONS = 16


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Processes, ports, measurement


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, path: str = "/ping", timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers on 127.0.0.1:{port}{path}")


def wait_tcp(port: int, timeout: float = 15.0) -> None:
    """Waits until something accepts connections on the port, without sending a request."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def proc_cpu(pid: int) -> float:
    """user+sys seconds of a process and its direct children (nginx's worker)."""
    total = 0.0
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


class Server:
    """A target (or receiver) process pinned to the target core, stopped on exit."""

    def __init__(self, name: str, cmd: list[str], port: int, workdir: Path, check: bool = True):
        self.name, self.port = name, port
        self.log = open(workdir / f"{name}.log", "w")
        self.proc = subprocess.Popen(
            ["taskset", "-c", TARGET_CPU, *cmd],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        if check:
            try:
                wait_http(port)
            except RuntimeError:
                self.stop()
                raise

    def url(self, path: str = "/ping") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def nginx_server(nginx: str, workdir: Path) -> Server:
    port = free_port()
    d = workdir / f"nginx-{port}"
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "nginx.conf"
    temp = "\n".join(
        f"  {k}_temp_path {d}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf.write_text(
        f"""worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 75s;
{temp}
  server {{
    listen 127.0.0.1:{port};
    location = /ping {{ default_type application/json; return 200 '{{"message":"pong"}}'; }}
  }}
}}
"""
    )
    return Server("nginx", [nginx, "-c", str(conf), "-p", str(d), "-e", str(d / "error.log")], port, workdir)


def onslaught_target(onslaught: str, workdir: Path, extra: list[str] | None = None, name="target") -> Server:
    port = free_port()
    return Server(name, [onslaught, "target", "--listen", f"127.0.0.1:{port}", *(extra or [])], port, workdir)


def measured(cmd: list[str], workdir: Path, tag: str, timeout: float, env: dict | None = None) -> dict:
    """Runs cmd pinned to the generator core under GNU time; returns its output and CPU."""
    timefile = workdir / f"{tag}.time"
    out, err = workdir / f"{tag}.out", workdir / f"{tag}.err"
    full = ["taskset", "-c", GEN_CPU, "/usr/bin/time", "-f", "%U %S %M %e", "-o", str(timefile), *cmd]
    t0 = time.time()
    with open(out, "w") as o, open(err, "w") as e:
        try:
            rc = subprocess.run(full, stdout=o, stderr=e, stdin=subprocess.DEVNULL, timeout=timeout,
                                env={**os.environ, **(env or {})}).returncode
        except subprocess.TimeoutExpired:
            rc = -999
    wall = time.time() - t0
    user = sys_ = rss = elapsed = float("nan")
    try:
        line = timefile.read_text().strip().splitlines()[-1].split()
        user, sys_, rss, elapsed = float(line[0]), float(line[1]), float(line[2]), float(line[3])
    except (OSError, IndexError, ValueError):
        pass
    return {
        "cmd": " ".join(cmd),
        "rc": rc,
        "stdout": out.read_text(errors="replace"),
        "stderr": err.read_text(errors="replace")[-4000:],
        "user_s": user,
        "sys_s": sys_,
        "cpu_s": user + sys_,
        "max_rss_kb": rss,
        "elapsed_s": elapsed,
        "wall_s": wall,
    }


# ------------------------------------------------------------------------------------------
# Tools


def find_tool(name: str, cache: Path, sub: str) -> str | None:
    path = shutil.which(name)
    if path:
        return path
    p = cache / sub / name
    return str(p) if p.exists() else None


def unit_ms(text: str) -> float:
    m = re.match(r"([\d.]+)\s*(us|ms|s|m)", text.strip())
    if not m:
        return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]


class Tools:
    def __init__(self, args):
        cache = Path(args.cache)
        self.onslaught = args.onslaught
        # An older onslaught binary run beside the current one in the throughput section, so a
        # change is judged before/after against wrk in one run (`--baseline PATH`).
        self.baseline = getattr(args, "baseline", None)
        self.bench_bin = args.bench_bin
        self.wrk = shutil.which("wrk")
        self.nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        self.oha = find_tool("oha", cache, "cargo/bin")
        self.vegeta = find_tool("vegeta", cache, "go/bin")
        self.locust = find_tool("locust", cache, "locust-venv/bin")
        self.k6 = shutil.which("k6")

    def versions(self) -> dict:
        def first(cmd):
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
                text = (r.stdout + r.stderr).strip().splitlines()
                return text[0] if text else "?"
            except (OSError, subprocess.TimeoutExpired):
                return "?"

        v = {"onslaught": first([self.onslaught, "--version"])}
        if self.baseline:
            v["onslaught (baseline)"] = first([self.baseline, "--version"]) + f" ({self.baseline})"
        try:
            commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "crates"],
                                   capture_output=True, text=True).stdout.strip()
            v["onslaught"] += f" (commit {commit or 'unknown'}{', crates/ modified' if dirty else ''})"
        except OSError:
            pass
        v["rustc"] = first(["rustc", "--version"])
        if self.wrk:
            v["wrk"] = first([self.wrk, "-v"]).split(" Copyright")[0]
        if self.nginx:
            v["nginx"] = first([self.nginx, "-v"])
        if self.oha:
            v["oha"] = first([self.oha, "--version"])
        if self.vegeta:
            # go install leaves -version empty; the module version is in the build info.
            info = first(["sh", "-c", f"go version -m {self.vegeta} 2>/dev/null | awk '$1==\"mod\" {{print $2, $3}}'"])
            v["vegeta"] = info if info != "?" else first([self.vegeta, "-version"])
        if self.locust:
            v["locust"] = first([self.locust, "--version"])
        if self.k6:
            v["k6"] = first([self.k6, "version"])
        v["python"] = platform.python_version()
        v["perf"] = first(["perf", "--version"])
        return v


def run_onslaught(t: Tools, url: str, wd: Path, tag: str, seconds: float, extra: list[str],
                  binary: str | None = None) -> dict:
    reports = wd / f"{tag}-reports"
    r = measured([binary or t.onslaught, "run", url, "--drivers", "1", "--quiet", "-o", "json",
                  "--report-dir", str(reports), *extra], wd, tag, timeout=seconds + 120)
    shutil.rmtree(reports, ignore_errors=True)
    try:
        view = json.loads(r["stdout"])
    except json.JSONDecodeError:
        r["error"] = f"rc={r['rc']}: no JSON on stdout: {r['stderr'][-500:]}"
        return r
    a = view["aggregate"]
    r.update(
        view=view,
        requests=a["responses_received"],
        rps=a["rps"],
        p50_ms=a["latency"]["median"],
        p90_ms=a["latency"]["p90"],
        p99_ms=a["latency"]["p99"],
        p999_ms=a["latency"]["p999"],
        errors=sum(a["errors"].values()),
        peak_rss_kb_self=view.get("peak_rss_kb"),
    )
    r.pop("stdout")
    return r


def run_wrk(t: Tools, url: str, wd: Path, tag: str, seconds: float, conns: int) -> dict:
    r = measured([t.wrk, "-t1", f"-c{conns}", f"-d{int(seconds)}s", "--latency", url], wd, tag,
                 timeout=seconds + 60)
    out = r.pop("stdout")
    r["raw"] = out
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    if not (m and n):
        r["error"] = f"rc={r['rc']}: unparsable wrk output"
        return r
    pct = {p: unit_ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)", out, re.M)}
    errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if se:
        errors += sum(int(x) for x in se.groups())
    r.update(requests=int(n.group(1)), rps=float(m.group(1)), p50_ms=pct.get("50"),
             p90_ms=pct.get("90"), p99_ms=pct.get("99"), p999_ms=None, errors=errors)
    return r


def run_oha(t: Tools, url: str, wd: Path, tag: str, seconds: float, conns: int, extra=()) -> dict:
    r = measured([t.oha, "-c", str(conns), "-z", f"{int(seconds)}s", "--no-tui", "--output-format",
                  "json", *extra, url], wd, tag, timeout=seconds + 60)
    try:
        j = json.loads(r.pop("stdout"))
    except json.JSONDecodeError:
        r["error"] = f"rc={r['rc']}: no JSON from oha: {r['stderr'][-300:]}"
        return r
    s = j["summary"]
    lp = j.get("latencyPercentiles", {})
    ok = sum(j.get("statusCodeDistribution", {}).values())
    # Requests still in flight at the deadline are cut off by design, not failures.
    errs = sum(n for k, n in j.get("errorDistribution", {}).items() if "deadline" not in k)

    def ms(k):
        v = lp.get(k)
        return None if v is None else v * 1e3

    r.update(requests=ok, rps=s["requestsPerSec"], p50_ms=ms("p50"), p90_ms=ms("p90"),
             p99_ms=ms("p99"), p999_ms=ms("p99.9"), errors=errs)
    return r


def run_vegeta(t: Tools, url: str, wd: Path, tag: str, seconds: float, conns: int, rate: int = 0) -> dict:
    targets = wd / "vegeta-targets.txt"
    targets.write_text(f"GET {url}\n")
    results = wd / f"{tag}.bin"
    flags = [f"-rate={rate}/1s"] if rate else ["-rate=0", f"-max-workers={conns}", f"-workers={conns}"]
    r = measured([t.vegeta, "attack", f"-targets={targets}", *flags, f"-duration={int(seconds)}s",
                  "-keepalive=true", f"-output={results}"], wd, tag, timeout=seconds + 60)
    r.pop("stdout")
    rep = subprocess.run([t.vegeta, "report", "-type=json", str(results)], capture_output=True, text=True)
    try:
        j = json.loads(rep.stdout)
    except json.JSONDecodeError:
        r["error"] = f"rc={r['rc']}: vegeta report failed: {rep.stderr[-300:]}"
        return r
    lat = j["latencies"]
    ok = int(round(j["requests"] * j["success"]))
    r.update(requests=ok, rps=j["throughput"], p50_ms=lat["50th"] / 1e6, p90_ms=lat["90th"] / 1e6,
             p99_ms=lat["99th"] / 1e6, p999_ms=None, errors=j["requests"] - ok)
    if rate:
        # Exact percentiles (p99.9 too) from every request's latency.
        enc = subprocess.run([t.vegeta, "encode", "--to", "csv", str(results)], capture_output=True, text=True)
        lats = sorted(int(row[2]) / 1e6 for row in csv.reader(enc.stdout.splitlines()) if len(row) > 2)
        if lats:
            r.update(p50_ms=quantile(lats, 0.5), p90_ms=quantile(lats, 0.9), p99_ms=quantile(lats, 0.99),
                     p999_ms=quantile(lats, 0.999))
    results.unlink(missing_ok=True)
    return r


def run_locust(t: Tools, url: str, wd: Path, tag: str, seconds: float, conns: int) -> dict:
    host = url.rsplit("/", 1)[0]
    prefix = wd / tag
    r = measured([t.locust, "-f", str(BENCH / "locustfile.py"), "--headless", "-u", str(conns), "-r",
                  str(conns), "-t", f"{int(seconds)}s", "-H", host, "--csv", str(prefix), "--only-summary",
                  "--loglevel", "WARNING", "--stop-timeout", "2"], wd, tag, timeout=seconds + 120)
    r.pop("stdout")
    try:
        rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
        agg = next(row for row in rows if row["Name"] == "Aggregated")
    except (OSError, StopIteration) as e:
        r["error"] = f"rc={r['rc']}: no locust stats: {e}"
        return r

    def num(k):
        try:
            return float(agg[k])
        except (KeyError, ValueError):
            return None

    r.update(requests=int(num("Request Count") or 0) - int(num("Failure Count") or 0),
             rps=num("Requests/s"), p50_ms=num("50%"), p90_ms=num("90%"), p99_ms=num("99%"),
             p999_ms=num("99.9%"), errors=int(num("Failure Count") or 0))
    return r


# ------------------------------------------------------------------------------------------
# Statistics helpers


def quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[i]


def med(values):
    vals = [v for v in values if isinstance(v, (int, float)) and not math.isnan(v)]
    return statistics.median(vals) if vals else None


# ------------------------------------------------------------------------------------------
# Sections


def section_throughput(t: Tools, cfg, wd: Path) -> dict:
    seconds, repeats = cfg.duration, cfg.repeats
    tools = [("onslaught", True), ("onslaught (baseline)", bool(t.baseline)), ("wrk", bool(t.wrk)), ("oha", bool(t.oha)), ("vegeta", bool(t.vegeta)),
             ("locust", bool(t.locust)), ("k6", bool(t.k6))]
    skipped = {name: "not installed" for name, ok in tools if not ok and name != "onslaught (baseline)"}
    if t.k6 is None:
        skipped["k6"] = "not installed (go.k6.io/k6 is AGPL; the workplace's package list marks it not-to-use)"
    targets = []
    if t.nginx:
        targets.append("nginx")
    else:
        skipped["target nginx"] = "nginx not installed"
    targets.append("onslaught-target")
    runs = []
    for target in targets:
        server = nginx_server(t.nginx, wd) if target == "nginx" else onslaught_target(t.onslaught, wd)
        with server:
            for rep in range(repeats):
                for name, ok in tools:
                    if not ok or name == "k6":
                        continue
                    tag = f"tp-{target}-{name.replace(' (baseline)', '-baseline')}-{rep}"
                    c0 = server.cpu()
                    if name.startswith("onslaught"):
                        r = run_onslaught(t, server.url(), wd, tag, seconds,
                                          ["--type", "avalanche", "-c", str(CONNECTIONS), "--duration",
                                           f"{seconds}s"],
                                          binary=t.baseline if name == "onslaught (baseline)" else None)
                        r.pop("view", None)
                    elif name == "wrk":
                        r = run_wrk(t, server.url(), wd, tag, seconds, CONNECTIONS)
                    elif name == "oha":
                        r = run_oha(t, server.url(), wd, tag, seconds, CONNECTIONS)
                    elif name == "vegeta":
                        r = run_vegeta(t, server.url(), wd, tag, seconds, CONNECTIONS)
                    else:
                        r = run_locust(t, server.url(), wd, tag, seconds, CONNECTIONS)
                    r["target_cpu_s"] = server.cpu() - c0
                    r.update(tool=name, target=target, rep=rep)
                    if "error" not in r and r.get("cpu_s"):
                        r["req_per_cpu_s"] = r["requests"] / r["cpu_s"]
                        r["target_core_pct"] = 100 * r["target_cpu_s"] / r["elapsed_s"]
                    log(f"throughput {target} {name} #{rep}: "
                        + (r.get("error") or f"{r['rps']:.0f} req/s, {r['req_per_cpu_s']:.0f} req/CPU-s, "
                           f"rss {r['max_rss_kb'] / 1024:.1f} MB, target core {r['target_core_pct']:.0f}%"))
                    runs.append(r)
    # Medians and ratios against wrk.
    summary = {}
    for target in targets:
        rows = {}
        for name, ok in tools:
            rs = [r for r in runs if r["target"] == target and r["tool"] == name and "error" not in r]
            if not rs:
                continue
            rows[name] = {k: med([r.get(k) for r in rs]) for k in
                          ("rps", "req_per_cpu_s", "cpu_s", "max_rss_kb", "p50_ms", "p99_ms",
                           "target_core_pct", "errors", "requests")}
            rows[name]["runs"] = len(rs)
        base = rows.get("wrk")
        for name, row in rows.items():
            if base:
                row["rps_vs_wrk"] = row["rps"] / base["rps"]
                row["eff_vs_wrk"] = row["req_per_cpu_s"] / base["req_per_cpu_s"]
        summary[target] = rows
    failures = [f"{r['target']}/{r['tool']}#{r['rep']}: {r['error']}" for r in runs if "error" in r]
    return {"seconds": seconds, "repeats": repeats, "connections": CONNECTIONS, "runs": runs,
            "summary": summary, "skipped": skipped, "failures": failures}


def analyse_arrivals(path: Path, rate: float) -> dict:
    data = path.read_bytes()
    a = sorted(struct.unpack(f"<{len(data) // 8}Q", data))
    if len(a) < 3:
        return {"requests": len(a)}
    period = 1e9 / rate
    span = a[-1] - a[0]
    offsets = sorted(x - k * period for k, x in enumerate(a))
    origin = offsets[len(offsets) // 2]
    dev = sorted(abs(x - origin - k * period) / 1e3 for k, x in enumerate(a))  # µs
    gaps = sorted((a[k + 1] - a[k]) / 1e3 for k in range(len(a) - 1))
    return {
        "requests": len(a),
        "achieved_rate": (len(a) - 1) / (span / 1e9),
        "jitter_p50_us": quantile(dev, 0.5),
        "jitter_p99_us": quantile(dev, 0.99),
        "jitter_max_us": dev[-1],
        "gap_p50_us": quantile(gaps, 0.5),
        "gap_p99_us": quantile(gaps, 0.99),
    }


def section_rate(t: Tools, cfg, wd: Path) -> dict:
    rows = []
    for rate in cfg.rates:
        port = free_port()
        arrivals = wd / f"arrivals-{rate}.bin"
        rx = Server(f"recv-{rate}", [t.bench_bin, "recv-target", "--listen", f"127.0.0.1:{port}", "--out",
                                     str(arrivals), "--seconds", str(int(cfg.rate_seconds + 120))], port, wd,
                    check=False)
        # A TCP connect only: a probe request would be counted as an arrival.
        wait_tcp(port)
        try:
            r = run_onslaught(t, rx.url(), wd, f"rate-{rate}", cfg.rate_seconds,
                              ["--type", "tsunami", "--rate", str(rate), "-c", str(CONNECTIONS), "--duration",
                               f"{cfg.rate_seconds}s"])
        finally:
            rx.stop()
        row = {"rate": rate, "seconds": cfg.rate_seconds, "cpu_s": r.get("cpu_s"), "rc": r["rc"]}
        if "error" in r:
            row["error"] = r["error"]
        else:
            a = r["view"]["aggregate"]
            gap = a.get("send_gap") or {}
            lag = a.get("send_lag") or {}
            row.update(
                requests_sent=a["requests_sent"],
                count_rate=a["requests_sent"] / cfg.rate_seconds,
                late_sends=a["late_sends"],
                gap_p50_us=gap.get("median", float("nan")) * 1e3,
                gap_p99_us=gap.get("p99", float("nan")) * 1e3,
                gap_max_us=gap.get("max", float("nan")) * 1e3,
                lag_p50_us=lag["median"] * 1e3 if lag else None,
                lag_p99_us=lag["p99"] * 1e3 if lag else None,
                errors=sum(a["errors"].values()),
                p50_ms=a["latency"]["median"], p99_ms=a["latency"]["p99"],
            )
            row["receiver"] = analyse_arrivals(arrivals, rate)
            row["achieved_rate"] = row["receiver"].get("achieved_rate")
            row["rate_error_pct"] = 100 * (row["achieved_rate"] - rate) / rate
        arrivals.unlink(missing_ok=True)
        log(f"rate {rate}: {row.get('error') or json.dumps({k: row[k] for k in ('count_rate', 'achieved_rate', 'gap_p99_us')})}"
            + (f" receiver jitter p99 {row['receiver']['jitter_p99_us']:.1f} us" if "receiver" in row else ""))
        rows.append(row)
    return {"rows": rows}


def stall_truth(rate: float, seconds: float, every: float, stall: float, base_ms: float) -> dict:
    """Latency of each request of the schedule had it been sent on time: a request intended at t
    inside a stall window [k*every + phase, +stall) completes at the window's end; others take
    base_ms. The phase between schedule and the target's clock is unknown, so the quantiles are
    averaged over 200 phases (they barely depend on it)."""
    n = int(rate * seconds)
    qs = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}
    acc = {k: [] for k in qs}
    for j in range(200):
        phase = every * j / 200
        lats = []
        for i in range(n):
            t = i / rate
            into = (t - phase) % every
            lats.append((stall - into) * 1e3 + base_ms if into < stall else base_ms)
        lats.sort()
        for k, q in qs.items():
            acc[k].append(quantile(lats, q))
    return {k: statistics.mean(v) for k, v in acc.items()} | {
        k + "_range": [min(v), max(v)] for k, v in acc.items()}


def section_stall(t: Tools, cfg, wd: Path) -> dict:
    rate, seconds = 500, cfg.stall_seconds
    rows = []
    server = onslaught_target(t.onslaught, wd, ["--stall-every", "1s", "--stall-for", "200ms"], name="stall-target")
    with server:
        r = run_onslaught(t, server.url(), wd, "stall-onslaught", seconds,
                          ["--type", "tsunami", "--rate", str(rate), "-c", str(STALL_CONNECTIONS), "--duration", f"{seconds}s"])
        base_ms = 0.1
        if "error" in r:
            rows.append({"tool": "onslaught", "error": r["error"]})
        else:
            a = r["view"]["aggregate"]
            rows.append({"tool": "onslaught (latency from intended send time)", "method": "corrected",
                         **{k: a["latency"][v] for k, v in (("p50", "median"), ("p90", "p90"), ("p99", "p99"), ("p999", "p999"))},
                         "requests": a["responses_received"]})
            rows.append({"tool": "onslaught service time (from actual send)", "method": "uncorrected",
                         **{k: a["service_time"][v] for k, v in (("p50", "median"), ("p90", "p90"), ("p99", "p99"), ("p999", "p999"))},
                         "requests": a["responses_received"]})
            base_ms = a["service_time"]["median"]
        if t.oha:
            for corrected in (True, False):
                tag = "stall-oha-corrected" if corrected else "stall-oha"
                o = run_oha(t, server.url(), wd, tag, seconds, STALL_CONNECTIONS,
                            ["-q", str(rate), *(["--latency-correction"] if corrected else [])])
                name = ("oha -q 500 --latency-correction (wrk2's method)" if corrected
                        else "oha -q 500 (uncorrected)")
                rows.append({"tool": name, "method": "corrected" if corrected else "uncorrected",
                             **({"error": o["error"]} if "error" in o else
                                {"p50": o["p50_ms"], "p90": o["p90_ms"], "p99": o["p99_ms"], "p999": o["p999_ms"],
                                 "requests": o["requests"]})})
        if t.vegeta:
            v = run_vegeta(t, server.url(), wd, "stall-vegeta", seconds, STALL_CONNECTIONS, rate=rate)
            rows.append({"tool": "vegeta -rate 500/1s (open loop, new connections as needed)", "method": "open loop",
                         **({"error": v["error"]} if "error" in v else
                            {"p50": v["p50_ms"], "p90": v["p90_ms"], "p99": v["p99_ms"], "p999": v["p999_ms"],
                             "requests": v["requests"]})})
        if t.wrk:
            w = run_wrk(t, server.url(), wd, "stall-wrk", seconds, STALL_CONNECTIONS)
            rows.append({"tool": f"wrk -c{STALL_CONNECTIONS} (closed loop, as fast as it can, uncorrected)",
                         "method": "uncorrected",
                         **({"error": w["error"]} if "error" in w else
                            {"p50": w["p50_ms"], "p90": w["p90_ms"], "p99": w["p99_ms"], "p999": None,
                             "requests": w["requests"]})})
    truth = stall_truth(rate, seconds, 1.0, 0.2, base_ms)
    for row in rows:
        if row.get("p99") is not None:
            row["p99_error_pct"] = 100 * (row["p99"] - truth["p99"]) / truth["p99"]
    log(f"stall: truth p99 {truth['p99']:.1f} ms; " + "; ".join(
        f"{r['tool'].split(' (')[0]} p99 {r.get('p99')}" for r in rows))
    return {"rate": rate, "seconds": seconds, "stall": "200 ms every 1 s", "base_ms": base_ms,
            "connections": STALL_CONNECTIONS,
            "truth": truth, "rows": rows}


def section_memory(t: Tools, cfg, wd: Path) -> dict:
    rows = []
    with onslaught_target(t.onslaught, wd) as server:
        for n in cfg.memory_counts:
            r = run_onslaught(t, server.url(), wd, f"mem-{n}", 900,
                              ["--type", "avalanche", "-c", str(CONNECTIONS), "-n", str(n), "--duration", "900s"])
            row = {"requests": n, "rc": r["rc"]}
            if "error" in r:
                row["error"] = r["error"]
            else:
                row.update(sent=r["view"]["aggregate"]["requests_sent"], peak_rss_kb=r["peak_rss_kb_self"],
                           time_max_rss_kb=r["max_rss_kb"], elapsed_s=r["elapsed_s"], rps=r["rps"],
                           errors=r["errors"])
            msg = row.get("error") or f"peak RSS {row['peak_rss_kb'] / 1024:.1f} MB in {row['elapsed_s']:.0f} s"
            log(f"memory {n}: {msg}")
            rows.append(row)
    ok = [r["peak_rss_kb"] for r in rows if "peak_rss_kb" in r]
    spread = (max(ok) - min(ok)) / min(ok) * 100 if ok else None
    return {"rows": rows, "spread_pct": spread, "max_mb": max(ok) / 1024 if ok else None}


def run_json(cmd: list[str], timeout: float, cwd=None) -> dict:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if r.returncode != 0:
        return {"error": f"rc={r.returncode}: {r.stderr.strip()[-600:]}", "cmd": " ".join(cmd)}
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"error": f"no JSON: {r.stdout[-300:]} {r.stderr[-300:]}", "cmd": " ".join(cmd)}


def section_control(t: Tools, cfg, wd: Path) -> dict:
    out = {"wire": [], "merge": []}
    with onslaught_target(t.onslaught, wd) as server:
        for rate in (0, 1000):
            cmd = ["taskset", "-c", GEN_CPU, t.bench_bin, "wire", "--url", server.url(), "--seconds",
                   str(cfg.wire_seconds), "--rate", str(rate)]
            w = run_json(cmd, cfg.wire_seconds + 60)
            log(f"control wire rate={rate}: {w.get('error') or 'ok'}")
            out["wire"].append(w)
    for drivers, every in cfg.merge_runs:
        cmd = [t.bench_bin, "merge", "--drivers", str(drivers), "--every-ms", str(every),
               "--seconds", str(cfg.merge_seconds), "--idle-seconds", str(cfg.merge_idle)]
        m = run_json(cmd, cfg.merge_seconds + 120)
        msg = m.get("error") or f"{m['orchestrator_core_percent']:.2f}% of a core"
        log(f"control merge {drivers} drivers every {every} ms in process: {msg}")
        out["merge"].append(m)
    if cfg.broker_runs:
        broker = start_broker(wd)
        if isinstance(broker, str):
            out["broker_error"] = broker
            log(f"control: no broker: {broker}")
        else:
            addr, bdir = broker
            try:
                for drivers, every in cfg.broker_runs:
                    cmd = [t.bench_bin, "merge", "--drivers", str(drivers), "--every-ms", str(every), "--seconds",
                           str(cfg.merge_seconds), "--idle-seconds", str(cfg.merge_idle), "--brokers", addr,
                           "--onslaught", t.onslaught]
                    m = run_json(cmd, cfg.merge_seconds + 240)
                    msg = m.get("error") or f"{m['orchestrator_core_percent']:.2f}% of a core"
                    log(f"control merge {drivers} drivers every {every} ms over Kafka: {msg}")
                    out["merge"].append(m)
            finally:
                subprocess.run(["bash", str(ROOT / "scripts/kafka-broker.sh"), "stop", "--dir", str(bdir), "--rm"],
                               capture_output=True, timeout=60)
    return out


def start_broker(wd: Path):
    bdir = wd / "kafka"
    try:
        r = subprocess.run(["bash", str(ROOT / "scripts/kafka-broker.sh"), "start", "--dir", str(bdir), "--owner-pid",
                            str(os.getpid())], capture_output=True, text=True, timeout=240)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if r.returncode != 0:
        return r.stderr.strip()[-500:]
    return r.stdout.strip(), bdir


# ------------------------------------------------------------------------------------------
# Profiles


def clean_symbol(sym: str) -> str:
    # perf pads the symbol column and may append empty cycle/IPC columns ("-  -").
    return re.sub(r"(\s+-)+\s*$", "", sym).strip()[:160]


def perf_report(data: Path, sort: str, comm: str | None, extra=()) -> str:
    cmd = ["perf", "report", "-i", str(data), "--sort", sort, "--stdio", *extra]
    if comm:
        cmd += ["--comms", comm, "--percentage", "relative"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900).stdout


def perf_top(data: Path, comm: str | None = None, limit: int = 25) -> list[dict]:
    """Flat profile: self time by binary and symbol."""
    text = perf_report(data, "dso,symbol", comm, ["--no-children", "-g", "none", "--percent-limit", "0.5"])
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)", line)
        if m:
            rows.append({"percent": float(m.group(1)), "dso": m.group(2), "symbol": clean_symbol(m.group(3))})
    return rows[:limit]


def perf_dso(data: Path, comm: str | None = None) -> list[dict]:
    text = perf_report(data, "dso", comm, ["--no-children", "-g", "none", "--percent-limit", "1"])
    return [{"percent": float(m.group(1)), "dso": m.group(2)} for m in
            (re.match(r"\s*([\d.]+)%\s+(\S+)", line) for line in text.splitlines()) if m]


def perf_threads(data: Path) -> list[dict]:
    text = perf_report(data, "comm", None, ["--no-children", "-g", "none", "--percent-limit", "1"])
    return [{"percent": float(m.group(1)), "thread": m.group(2)} for m in
            (re.match(r"\s*([\d.]+)%\s+(.+?)\s*$", line) for line in text.splitlines()) if m]


# Frames worth showing in the inclusive view: our crates, the libraries on the hot path, and the
# kernel's socket and scheduling entry points. Generic wrappers (closures, catch_unwind, thread
# start, runtime plumbing) are left out.
INTERESTING = re.compile(
    r"^<?(engine|orchestrator|stats|protocol|driver|transport|onslaught|hyper|hyper_util|serde_json|"
    r"hdrhistogram|flate2|miniz_oxide|base64|tokio::net|tokio::io|tokio::time|tokio::sync|tokio_util|"
    r"parking_lot|alloc::raw_vec|bytes)(::|\b)"
    r"|^(__x64_sys_\w+|tcp_sendmsg|tcp_recvmsg|sock_\w+|do_epoll_wait|ep_poll|__wake_up\w*|try_to_wake_up|"
    r"schedule|__schedule|net_rx_action|__napi_poll|process_backlog|__vdso_clock_gettime|"
    r"malloc|free|_int_malloc|_int_free|cfree)\b"
    r"|^(sleep_until|pace|record|response|sent|exchange|run|on_metrics|merge|metrics|decode\w*|encode\w*)"
    r" \(inlined\)")


def perf_callers(data: Path, top: list[dict], comm: str | None = None) -> dict:
    """Inclusive (self + callees) time of the interesting frames: where the time goes, by caller."""
    text = perf_report(data, "symbol", comm, ["--children", "-g", "none", "--percent-limit", "2"])
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[.\]\s+(.*)", line)
        if m:
            sym = clean_symbol(m.group(3))
            if INTERESTING.search(sym):
                rows.append({"inclusive": float(m.group(1)), "self": float(m.group(2)), "symbol": sym})
    return {"inclusive": rows[:25]}


def section_profile(t: Tools, cfg, wd: Path, results: dict) -> dict:
    """perf profiles (cpu-clock; this VM exposes no hardware counters) of what bounds the goals
    that were not met."""
    if not shutil.which("perf"):
        return {"error": "perf is not installed (apt-get install linux-perf)"}
    out = {}
    goals = results.get("goals", [])
    need_gen = any(g["area"] == "efficiency" and g["met"] is False for g in goals)
    need_merge = any(g["area"] == "control" and g["met"] is False for g in goals)
    need_rate = any(g["area"] == "rate" and g["met"] is False for g in goals)
    if need_gen or cfg.always_profile:
        target = nginx_server(t.nginx, wd) if t.nginx else onslaught_target(t.onslaught, wd)
        with target:
            data = wd / "perf-generator.data"
            r = measured(["perf", "record", "-e", "cpu-clock", "-F", "499", "--call-graph", "dwarf,16384",
                          "-o", str(data), "--", t.onslaught, "run", target.url(), "--drivers", "1", "--quiet", "-o", "json",
                          "--report-dir", str(wd / "perf-reports"), "--type", "avalanche", "-c",
                          str(CONNECTIONS), "--duration", f"{cfg.profile_seconds}s"], wd, "perf-generator",
                         timeout=cfg.profile_seconds + 120)
            out["generator"] = {"what": f"onslaught run avalanche -c {CONNECTIONS}, {cfg.profile_seconds} s, "
                                        f"against {target.name}, generator pinned to core {GEN_CPU}",
                                "rc": r["rc"], "dso": perf_dso(data), "top": perf_top(data)}
            out["generator"]["callers"] = perf_callers(data, out["generator"]["top"][:6])
            out["generator"]["threads"] = perf_threads(data)
    if need_rate:
        with onslaught_target(t.onslaught, wd) as target:
            data = wd / "perf-rate.data"
            r = measured(["perf", "record", "-e", "cpu-clock", "-F", "499", "--call-graph", "dwarf,16384", "-o", str(data), "--",
                          t.onslaught, "run", target.url(), "--drivers", "1", "--quiet", "-o", "json",
                          "--report-dir", str(wd / "perf-reports"), "--type", "tsunami", "--rate", "50000",
                          "-c", str(CONNECTIONS), "--duration", f"{cfg.profile_seconds}s"], wd, "perf-rate",
                         timeout=cfg.profile_seconds + 120)
            out["rate"] = {"what": f"onslaught run tsunami --rate 50000 -c {CONNECTIONS}, {cfg.profile_seconds} s",
                           "rc": r["rc"], "dso": perf_dso(data), "top": perf_top(data)}
            out["rate"]["callers"] = perf_callers(data, out["rate"]["top"][:6])
            out["rate"]["threads"] = perf_threads(data)
    if need_merge or cfg.always_profile:
        data = wd / "perf-merge.data"
        subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "499", "--call-graph", "dwarf,16384",
                        "-o", str(data), "--",
                        t.bench_bin, "merge", "--drivers", "1000", "--every-ms", "1000", "--seconds",
                        str(cfg.merge_seconds), "--idle-seconds", "2"], capture_output=True, timeout=600)
        top = perf_top(data, comm="orchestrator")
        out["merge"] = {"what": "onslaught-bench merge --drivers 1000 --every-ms 1000, the orchestrator's threads (its event loop and the blocking threads that write checkpoints)",
                        "dso": [], "top": top,
                        "callers": perf_callers(data, top[:6], comm="orchestrator")}
    return out


# ------------------------------------------------------------------------------------------
# Goals and rendering


def evaluate_goals(res: dict) -> list[dict]:
    goals = []
    tp = res.get("throughput", {}).get("summary", {})
    for target in ("nginx", "onslaught-target"):
        rows = tp.get(target, {})
        o = rows.get("onslaught")
        for peer, need in (("wrk", 1.0), ("oha", 1.5), ("k6", 5.0), ("locust", 10.0)):
            g = {"area": "efficiency", "goal": f"requests per generator CPU-second >= {need}x {peer} ({target})"}
            p = rows.get(peer)
            if o and p and p.get("req_per_cpu_s"):
                ratio = o["req_per_cpu_s"] / p["req_per_cpu_s"]
                g.update(measured=f"{ratio:.2f}x", met=ratio >= need)
            else:
                g.update(measured="not measured: " + res.get("throughput", {}).get("skipped", {}).get(peer, "no data"),
                         met=None)
            goals.append(g)
    for row in res.get("rate", {}).get("rows", []):
        g = {"area": "rate", "goal": f"achieved rate within 0.1% of {row['rate']} req/s"}
        if row.get("achieved_rate"):
            err = row["rate_error_pct"]
            g.update(measured=f"{row['achieved_rate']:.1f} req/s at the receiver ({err:+.3f}%); "
                              f"count/duration {row['count_rate']:.1f}",
                     met=abs(err) <= 0.1)
        else:
            g.update(measured=row.get("error", "no data"), met=None)
        goals.append(g)
    one_k = next((r for r in res.get("rate", {}).get("rows", []) if r["rate"] == 1000), None)
    g = {"area": "rate", "goal": "send-time jitter p99 < 100 µs at 1k req/s"}
    if one_k and one_k.get("lag_p99_us") is not None:
        g.update(measured=f"{one_k['lag_p99_us']:.1f} µs (send lag, onslaught's own)", met=one_k["lag_p99_us"] < 100)
    elif one_k and "receiver" in one_k:
        j = one_k["receiver"]["jitter_p99_us"]
        g.update(measured=f"{j:.1f} µs at the receiver (upper bound: includes loopback and receiver wake-up; "
                          f"onslaught does not report its send lag yet)", met=j < 100)
    else:
        g.update(measured="no data", met=None)
    goals.append(g)
    st = res.get("stall")
    g = {"area": "stall", "goal": "stall test: onslaught's p99 within 5% of the ground truth"}
    if st and st["rows"] and "p99_error_pct" in st["rows"][0]:
        e = st["rows"][0]["p99_error_pct"]
        g.update(measured=f"{st['rows'][0]['p99']:.1f} ms vs {st['truth']['p99']:.1f} ms ({e:+.1f}%)", met=abs(e) <= 5)
    else:
        g.update(measured="no data", met=None)
    goals.append(g)
    mem = res.get("memory")
    if mem and mem.get("max_mb") is not None:
        goals.append({"area": "memory", "goal": "driver peak RSS < 32 MB",
                      "measured": f"{mem['max_mb']:.1f} MB max", "met": mem["max_mb"] < 32})
        counts = [r["requests"] for r in mem["rows"] if "peak_rss_kb" in r]
        goals.append({"area": "memory", "goal": f"peak RSS flat within 10% from {counts[0]:,} to {counts[-1]:,} requests",
                      "measured": f"{mem['spread_pct']:.1f}% spread", "met": mem["spread_pct"] <= 10})
    for m in res.get("control", {}).get("merge", []):
        if m.get("drivers") == 1000 and m.get("every_ms") == 1000 and m.get("transport") == "in-process":
            # Judged on every orchestrator thread: checkpoints run on its blocking threads.
            allp = m.get("orchestrator_all_threads_core_percent", m["orchestrator_core_percent"])
            goals.append({"area": "control", "goal": "orchestrator merges 1,000 drivers' per-second reports with < 5% of one core",
                          "measured": f"{allp:.2f}% of one core, all orchestrator threads "
                                      f"({m['orchestrator_core_percent']:.2f}% its event loop; in process)",
                          "met": allp < 5})
    return goals


def fmt(v, digits=1, unit=""):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}{unit}"
    return f"{v:,}{unit}"


def render(res: dict) -> str:
    L = []
    add = L.append
    meta = res["meta"]
    add(f"Results of one run, {meta['started']} to {meta['finished']} ({meta['mode']} mode).\n")
    add("### Command\n")
    add(f"```sh\n{meta['command']}\n```\n")
    add("### Machine\n")
    for k, v in meta["machine"].items():
        add(f"- **{k}**: {v}")
    add("")
    add("### Tool versions\n")
    for k, v in meta["versions"].items():
        add(f"- **{k}**: {v}")
    if meta.get("install_times"):
        add("\nInstall times (wall, this machine, from `bench/install.sh`):\n")
        add("| package | seconds |\n|---|---:|")
        for name, secs in meta["install_times"].items():
            add(f"| {name} | {secs} |")
    add("")
    goals = res.get("goals", [])
    if goals:
        add("### Goals\n")
        add("| area | goal | measured | met |\n|---|---|---|---|")
        for g in goals:
            met = {True: "**met**", False: "**not met**", None: "not measured"}[g["met"]]
            add(f"| {g['area']} | {g['goal']} | {g['measured']} | {met} |")
        add("")
    tp = res.get("throughput")
    if tp:
        add(f"### Throughput: keep-alive avalanche, {tp['connections']} connections, {tp['seconds']} s, "
            f"median of {tp['repeats']} runs\n")
        add(f"Target pinned to core {TARGET_CPU}, generator to core {GEN_CPU} (`taskset`). CPU is the generator's "
            "user+sys from the kernel's accounting of the child (GNU time, `wait4`), RSS its peak (`%M`). "
            "p50/p99 as each tool reports them. *Target core* is the target's CPU time over the run's wall time: "
            "near 100% means the target, not the generator, bounds requests/s.\n")
        for target, rows in tp["summary"].items():
            add(f"**{target}**\n")
            add("| tool | req/s | req/s vs wrk | req per CPU-s | vs wrk | CPU s | peak RSS MB | p50 ms | p99 ms | target core | errors |")
            add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for name, r in rows.items():
                add(f"| {name} | {fmt(r['rps'], 0)} | {fmt(r.get('rps_vs_wrk'), 2, 'x')} | {fmt(r['req_per_cpu_s'], 0)} | "
                    f"{fmt(r.get('eff_vs_wrk'), 2, 'x')} | {fmt(r['cpu_s'], 2)} | {fmt(r['max_rss_kb'] / 1024, 1)} | "
                    f"{fmt(r['p50_ms'], 3)} | {fmt(r['p99_ms'], 3)} | {fmt(r['target_core_pct'], 0, '%')} | "
                    f"{fmt(r['errors'], 0)} |")
            add("")
        if tp["skipped"]:
            add("Not run: " + "; ".join(f"{k}: {v}" for k, v in tp["skipped"].items()) + "\n")
        if tp["failures"]:
            add("Failed runs: " + "; ".join(tp["failures"]) + "\n")
        add("Per-run numbers are in the results JSON.\n")
    rate = res.get("rate")
    if rate:
        add("### Rate accuracy: onslaught tsunami, one driver, 64 connections\n")
        add("*Receiver* columns come from `onslaught-bench recv-target` (pinned to the target core), which "
            "timestamps every request's arrival: achieved rate = (n-1)/(last-first); jitter = |arrival - (origin + k/rate)| "
            "for the k-th arrival, origin the median offset. It includes loopback and the receiver's wake-up, so it "
            "bounds the sender's jitter from above. *Send gap* is onslaught's own histogram of gaps between "
            "consecutive sends.\n")
        add("| rate | s | sent | count/duration | receiver rate | error | receiver jitter p50 / p99 / max µs | send gap p50 / p99 / max µs | send lag p50 / p99 µs | late sends (>1 ms) | gen CPU s |")
        add("|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|")
        for r in rate["rows"]:
            if "error" in r:
                add(f"| {r['rate']} | | | | | | {r['error']} | | | | |")
                continue
            rx = r["receiver"]
            add(f"| {r['rate']:,} | {r['seconds']} | {r['requests_sent']:,} | {fmt(r['count_rate'], 1)} | "
                f"{fmt(r['achieved_rate'], 1)} | {fmt(r['rate_error_pct'], 3, '%')} | "
                f"{fmt(rx['jitter_p50_us'], 1)} / {fmt(rx['jitter_p99_us'], 1)} / {fmt(rx['jitter_max_us'], 0)} | "
                f"{fmt(r['gap_p50_us'], 0)} / {fmt(r['gap_p99_us'], 0)} / {fmt(r['gap_max_us'], 0)} | "
                f"{fmt(r['lag_p50_us'], 1)} / {fmt(r['lag_p99_us'], 1)} | {r['late_sends']:,} | {fmt(r['cpu_s'], 2)} |")
        add("")
    st = res.get("stall")
    if st:
        tr = st["truth"]
        add(f"### Latency truth: {st['rate']} req/s for {st['seconds']} s, {st['connections']} connections, "
            f"the target stalls {st['stall']}\n")
        add("Ground truth from the schedule: a request intended at *t* inside a stall window completes at the "
            f"window's end, others take the unstalled service time ({st['base_ms']:.3f} ms, onslaught's median "
            "service time); quantiles averaged over the unknown phase between the schedule and the target's clock "
            "(range over phases in brackets). wrk2 is not packaged in Debian; its method (latency from each "
            "request's intended time on a constant-rate schedule) is what `oha --latency-correction` implements, "
            f"so that row stands for it. {st['connections']} connections, fewer than the 100 requests that arrive "
            "in one stall window: a tool that waits for a free connection before sending (coordinated omission) "
            "under-reports.\n")
        add("| tool | method | p50 ms | p90 ms | p99 ms | p99.9 ms | p99 vs truth | requests |")
        add("|---|---|---:|---:|---:|---:|---:|---:|")
        add(f"| **ground truth** | schedule | {tr['p50']:.3f} | {tr['p90']:.1f} [{tr['p90_range'][0]:.1f}–{tr['p90_range'][1]:.1f}] | "
            f"{tr['p99']:.1f} [{tr['p99_range'][0]:.1f}–{tr['p99_range'][1]:.1f}] | {tr['p999']:.1f} | | {int(st['rate'] * st['seconds']):,} |")
        for r in st["rows"]:
            if "error" in r:
                add(f"| {r['tool']} | | {r['error']} | | | | | |")
                continue
            add(f"| {r['tool']} | {r['method']} | {fmt(r['p50'], 3)} | {fmt(r['p90'], 1)} | {fmt(r['p99'], 1)} | "
                f"{fmt(r['p999'], 1)} | {fmt(r.get('p99_error_pct'), 1, '%')} | {fmt(r.get('requests'), 0)} |")
        add("")
    mem = res.get("memory")
    if mem:
        add("### Memory: onslaught run (orchestrator + one driver in one process), avalanche, 64 connections\n")
        add("| requests | peak RSS MB (VmHWM, self-reported) | peak RSS MB (GNU time) | seconds | req/s | errors |")
        add("|---:|---:|---:|---:|---:|---:|")
        for r in mem["rows"]:
            if "error" in r:
                add(f"| {r['requests']:,} | {r['error']} | | | | |")
                continue
            add(f"| {r['requests']:,} | {r['peak_rss_kb'] / 1024:.1f} | {r['time_max_rss_kb'] / 1024:.1f} | "
                f"{r['elapsed_s']:.1f} | {r['rps']:,.0f} | {r['errors']} |")
        if mem.get("spread_pct") is not None:
            add(f"\nSpread (max-min)/min: {mem['spread_pct']:.1f}%.")
        add("")
    cp = res.get("control")
    if cp:
        add("### Control plane\n")
        add("Bytes each topic carried per driver-second, from one real driver and the orchestrator over a counting "
            "in-process transport during a real test (`onslaught-bench wire`; the seconds include the 250 ms start "
            "delay and the drain). Kafka adds its own framing on top.\n")
        add("| test | topic | published by | messages/s | mean bytes | bytes/s |")
        add("|---|---|---|---:|---:|---:|")
        for w in cp["wire"]:
            if "error" in w:
                add(f"| | | {w['error']} | | | |")
                continue
            label = "avalanche -c 64" if not w["rate"] else f"tsunami {w['rate']:.0f} req/s"
            for side in ("driver", "orchestrator"):
                for topic, s in w[side].items():
                    if s["messages"]:
                        add(f"| {label} ({w['seconds']:.1f} s) | {topic} | {side} | {s['messages_per_second']:.2f} | "
                            f"{s['mean_message_bytes']:,.0f} | {s['bytes_per_second']:,.0f} |")
        add("")
        add("Orchestrator CPU while N simulated drivers report (`onslaught-bench merge`): each driver registers, "
            "heartbeats every second, acknowledges the config, then publishes a metrics message (latency and "
            "service histograms of 10,000 samples) every *interval*; the window is the steady state. In process: "
            "the orchestrator's event-loop thread, and all its threads (the event loop plus the blocking threads "
            "that write checkpoints), from scheduler ns. Kafka: the whole `onslaught orchestrator` process "
            "(user+sys), a single local broker.\n")
        add("| transport | drivers | report every | metrics msg/s | event loop core % | all threads core % | µs CPU per metrics msg (event loop) | idle (heartbeats only) core % | one test view ms | test status |")
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for m in cp["merge"]:
            if "error" in m:
                add(f"| | | | {m['error']} | | | | | | |")
                continue
            status = str(m["status"]) + (f" ({m['message']})" if m.get("message") else "")
            allp = m.get("orchestrator_all_threads_core_percent")
            add(f"| {m['transport']} | {m['drivers']:,} | {m['every_ms']} ms | {m['messages_in_window'] / m['window_seconds']:,.0f} | "
                f"{(format(m['orchestrator_core_percent'], '.2f') if m['transport'] == 'in-process' else '–')} | "
                f"{fmt(allp if allp is not None else m['orchestrator_core_percent'], 2)} | {m['cpu_us_per_metrics_message']:.0f} | "
                f"{m['idle_heartbeats_core_percent']:.2f} | {fmt(m.get('view_ms'), 1)} | {status} |")
        if cp.get("broker_error"):
            add(f"\nBroker runs skipped: {cp['broker_error']}")
        add("")
    prof = res.get("profile")
    if prof:
        add("### Profiles\n")
        if "error" in prof:
            add(prof["error"] + "\n")
        for key, p in prof.items():
            if not isinstance(p, dict) or "top" not in p:
                continue
            add(f"**{key}**: {p['what']} (`perf record -e cpu-clock --call-graph dwarf`; this VM has no hardware "
                "counters)\n")
            if p.get("threads"):
                add("By thread: " + ", ".join(f"{d['thread']} {d['percent']:.1f}%" for d in p["threads"][:6]) + "\n")
            if p.get("dso"):
                add("By binary: " + ", ".join(f"{d['dso']} {d['percent']:.1f}%" for d in p["dso"][:6]) + "\n")
            add("| self % | binary | symbol |\n|---:|---|---|")
            for row in p["top"][:18]:
                sym = row["symbol"].replace("|", "\\|")
                add(f"| {row['percent']:.1f} | {row['dso']} | `{sym}` |")
            inc = p.get("callers", {}).get("inclusive", [])
            if inc:
                add("\nInclusive (self + callees) time of the frames on the hot path (generic wrappers left out):\n")
                add("| incl. % | self % | symbol |\n|---:|---:|---|")
                for row in inc[:15]:
                    sym = row["symbol"].replace("|", "\\|")
                    add(f"| {row['inclusive']:.1f} | {row['self']:.1f} | `{sym}` |")
            add("")
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------------------------------
# Main


def machine() -> dict:
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
        except subprocess.TimeoutExpired:
            return "?"

    lscpu = {k.strip(): v.strip() for k, v in (l.split(":", 1) for l in sh("lscpu").splitlines() if ":" in l)}
    os_name = sh(". /etc/os-release && echo $PRETTY_NAME")
    return {
        "CPU": f"{lscpu.get('Model name', '?')}, {lscpu.get('CPU(s)', '?')} vCPUs "
               f"({lscpu.get('Hypervisor vendor', 'bare metal')} guest), L2 {lscpu.get('L2 cache', '?')}, "
               f"L3 {lscpu.get('L3 cache', '?')}",
        "memory": sh("free -h | awk '/Mem:/ {print $2}'"),
        "kernel": sh("uname -sr"),
        "OS": os_name,
        "load before the run": sh("cat /proc/loadavg"),
    }


def wait_quiet(limit: float) -> str:
    """Waits (up to limit seconds) for a load average below 0.5 and no cargo/rustc of others."""
    deadline = time.time() + limit
    while True:
        load = float(Path("/proc/loadavg").read_text().split()[0])
        busy = subprocess.run(["pgrep", "-x", "cargo|rustc|cc1|ld"], capture_output=True, text=True).stdout.split()
        if load < 0.5 and not busy:
            return f"quiet (load {load:.2f})"
        if time.time() > deadline:
            return f"NOT quiet after waiting {limit:.0f} s: load {load:.2f}, compiler processes {len(busy)}"
        log(f"waiting for a quiet machine: load {load:.2f}, compiler processes {len(busy)}")
        time.sleep(15)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="a few seconds per tool; checks that the harness works")
    ap.add_argument("--onslaught", required=True)
    ap.add_argument("--bench-bin", required=True)
    ap.add_argument("--baseline", default=None,
                    help="an older onslaught binary to run beside the current one in the throughput section")
    ap.add_argument("--cache", default=os.environ.get("ONSLAUGHT_BENCH_CACHE", os.path.expanduser("~/.cache/onslaught-bench")))
    ap.add_argument("--json", default=None, help="results JSON (default bench/results/<time>.json)")
    ap.add_argument("--out", default=None, help="write the markdown tables here")
    ap.add_argument("--sections", default="throughput,rate,stall,memory,control,profile")
    ap.add_argument("--wait-quiet", type=float, default=0, help="seconds to wait for a quiet machine")
    ap.add_argument("--command", default=" ".join(sys.argv), help="the command line to record")
    ap.add_argument("--always-profile", action="store_true")
    cfg = ap.parse_args()
    smoke = cfg.smoke
    cfg.duration = 2 if smoke else 10
    cfg.repeats = 1 if smoke else 3
    cfg.rates = [1000, 10000] if smoke else [1000, 10000, 50000]
    cfg.rate_seconds = 2 if smoke else 10
    cfg.stall_seconds = 3 if smoke else 10
    cfg.memory_counts = [10_000, 100_000] if smoke else [100_000, 1_000_000, 10_000_000]
    cfg.wire_seconds = 2 if smoke else 10
    cfg.merge_seconds = 5 if smoke else 20
    cfg.merge_idle = 1 if smoke else 5
    cfg.merge_runs = [(10, 500)] if smoke else [(100, 1000), (1000, 1000), (100, 500), (1000, 500)]
    cfg.broker_runs = [] if smoke else [(100, 1000), (100, 500)]
    cfg.profile_seconds = 3 if smoke else 10
    sections = set(cfg.sections.split(","))
    if smoke:
        sections.discard("profile")

    tools = Tools(cfg)
    for need in ("onslaught", "bench_bin"):
        if not Path(getattr(tools, need)).exists():
            log(f"missing {need}: {getattr(tools, need)}")
            return 2
    if not Path("/usr/bin/time").exists() or not shutil.which("taskset"):
        log("GNU time (/usr/bin/time) and taskset are required: bench/install.sh --cheap installs them")
        return 2
    quiet = wait_quiet(cfg.wait_quiet) if cfg.wait_quiet else "not checked"
    log(f"machine: {quiet}")
    install_times = {}
    times = Path(cfg.cache) / "install-times.tsv"
    if times.exists():
        for line in times.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                install_times[parts[0]] = parts[1]
    res = {"meta": {
        "started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "mode": "smoke" if smoke else "full",
        "command": cfg.command,
        "machine": {**machine(), "quiet check": quiet},
        "versions": tools.versions(),
        "install_times": install_times,
    }}
    t0 = time.time()
    broken = []
    with tempfile.TemporaryDirectory(prefix="onslaught-bench-") as tmp:
        wd = Path(tmp)
        steps = [("throughput", section_throughput), ("rate", section_rate), ("stall", section_stall),
                 ("memory", section_memory), ("control", section_control)]
        for name, fn in steps:
            if name not in sections:
                continue
            log(f"== {name}")
            s0 = time.time()
            try:
                res[name] = fn(tools, cfg, wd)
            except Exception as e:  # the harness itself broke: record and fail at the end
                import traceback
                traceback.print_exc()
                res[name] = {"error": repr(e)}
                broken.append(f"{name}: {e!r}")
            log(f"== {name} took {time.time() - s0:.0f} s")
        res["goals"] = evaluate_goals(res) if not broken else []
        if "profile" in sections:
            log("== profile")
            try:
                res["profile"] = section_profile(tools, cfg, wd, res)
            except Exception as e:
                import traceback
                traceback.print_exc()
                broken.append(f"profile: {e!r}")
    res["meta"]["finished"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    res["meta"]["seconds"] = round(time.time() - t0)
    res["meta"]["load after the run"] = Path("/proc/loadavg").read_text().strip()
    # Smoke: every section that ran must have produced numbers.
    if smoke:
        tp = res.get("throughput", {})
        if "throughput" in sections and (tp.get("failures") or "onslaught" not in tp.get("summary", {}).get("onslaught-target", {})):
            broken.append(f"throughput: {tp.get('failures') or tp.get('error') or 'no onslaught numbers'}")
        for r in res.get("rate", {}).get("rows", []):
            if "error" in r or not r.get("achieved_rate"):
                broken.append(f"rate {r['rate']}: {r.get('error', 'no receiver data')}")
        for r in res.get("stall", {}).get("rows", []):
            if "error" in r:
                broken.append(f"stall {r['tool']}: {r['error']}")
        for r in res.get("memory", {}).get("rows", []):
            if "error" in r:
                broken.append(f"memory {r['requests']}: {r['error']}")
        for m in res.get("control", {}).get("wire", []) + res.get("control", {}).get("merge", []):
            if "error" in m:
                broken.append(f"control: {m['error']}")
    json_path = Path(cfg.json) if cfg.json else BENCH / "results" / (
        time.strftime("%Y%m%d-%H%M%S") + ("-smoke" if smoke else "") + ".json")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(res, indent=1, default=str))
    md = render(res)
    if cfg.out:
        Path(cfg.out).write_text(md)
        log(f"markdown written to {cfg.out}")
    else:
        print(md)
    log(f"results JSON: {json_path}; {res['meta']['seconds']} s in all")
    if broken:
        log("HARNESS BROKEN: " + " | ".join(broken))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
