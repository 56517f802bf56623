#!/usr/bin/env python3
"""Scale-out bench: one ferryd node straight against two nodes behind HAProxy 2.6
(send-proxy-v2), users from PostgreSQL (auth_pgsql) in both, on this machine's loopback.
Measures what the balancer adds: per login (connect, banner, USER/PASS, QUIT), per small
transfer (RETR of a 64 KiB file in one session: PASV, data connection through its own
HAProxy frontend, 150, data, 226), and the throughput of one large download (curl).

    bench/scaleout.py [--logins 300] [--small 300] [--large-mib 512] [--out bench/results/scaleout.md]

Reuses the engines of tests/e2e/test_scaleout.py (initdb into a temp dir, a generated
haproxy.cfg); needs what tests/deps.d/scaleout.list installs, and a release build."""

import argparse
import ftplib
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
os.environ.setdefault("FERRY_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..")))

import test_scaleout as s  # noqa: E402  (the engines and node configs of the e2e test)


def timed(fn, count):
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def summary(times):
    ms = sorted(t * 1000 for t in times)
    return {"mean": statistics.mean(ms), "p50": ms[len(ms) // 2], "p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))]}


def login_once(host, port):
    f = ftplib.FTP(timeout=10)
    f.connect(host, port)
    f.login(s.USER, s.PASSWORD)
    f.quit()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logins", type=int, default=300)
    ap.add_argument("--small", type=int, default=300)
    ap.add_argument("--large-mib", type=int, default=512)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "scaleout.md"))
    args = ap.parse_args()
    if s.SKIP:
        sys.exit(s.SKIP)

    case = s.ScaleOutTest
    case.setUpClass()
    try:
        node = case.nodes["a"]
        targets = {"one node, direct": (s.NODE_ADDRESSES["a"], node.port),
                   "two nodes behind HAProxy": (s.BALANCER, case.port)}
        with open(os.path.join(case.shared, s.USER, "small.bin"), "wb") as f:
            f.write(os.urandom(64 * 1024))
        with open(os.path.join(case.shared, s.USER, "large.bin"), "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(args.large_mib):
                f.write(chunk)
        results = {}
        for name, (host, port) in targets.items():
            for _ in range(20):
                login_once(host, port)  # warm-up: pools, caches
            logins = timed(lambda: login_once(host, port), args.logins)
            f = ftplib.FTP(timeout=10)
            f.connect(host, port)
            f.login(s.USER, s.PASSWORD)
            sink = []
            small = timed(lambda: f.retrbinary("RETR small.bin", sink.append) and sink.clear(), args.small)
            f.quit()
            t0 = time.perf_counter()
            r = subprocess.run(["curl", "-sS", "-u", f"{s.USER}:{s.PASSWORD}", f"ftp://{host}:{port}/large.bin",
                                "-o", "/dev/null", "-w", "%{size_download}"], capture_output=True, text=True, timeout=600)
            seconds = time.perf_counter() - t0
            if r.returncode != 0 or int(r.stdout) != args.large_mib << 20:
                raise SystemExit(f"large download failed: {r.stderr}")
            results[name] = {"login": summary(logins), "small": summary(small), "large_mib_s": args.large_mib / seconds}
    finally:
        case.tear_down()

    direct, balanced = results["one node, direct"], results["two nodes behind HAProxy"]
    lines = ["# Scale-out bench: one node direct against two nodes behind HAProxy", "",
             f"`bench/scaleout.py --logins {args.logins} --small {args.small} --large-mib {args.large_mib}` "
             f"on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs; users in PostgreSQL 15 (auth_pgsql) "
             "in both; client: Python ftplib (login, small) and curl (large), on loopback.", "",
             "| | login (connect, USER/PASS, QUIT) mean / p50 / p99 ms | RETR 64 KiB mean / p50 / p99 ms | one 1-file download MiB/s |",
             "|---|---|---|---|"]
    for name, r in results.items():
        lo, sm = r["login"], r["small"]
        lines.append(f"| {name} | {lo['mean']:.2f} / {lo['p50']:.2f} / {lo['p99']:.2f} | "
                     f"{sm['mean']:.2f} / {sm['p50']:.2f} / {sm['p99']:.2f} | {r['large_mib_s']:.0f} |")
    lines += ["", f"The balancer adds {balanced['login']['mean'] - direct['login']['mean']:.2f} ms per login and "
              f"{balanced['small']['mean'] - direct['small']['mean']:.2f} ms per small transfer (means), and takes "
              f"{100 * (1 - balanced['large_mib_s'] / direct['large_mib_s']):.0f}% off one large download's rate."]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
