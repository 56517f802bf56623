#!/usr/bin/env python3
"""A/B of ferryd binaries on FTPS (bench/run's F1): each binary's FTPS ferryd in turn, with
peers if given, one 1-style download and one 2-style upload each per round, the order
reversed every other round; prints the medians of MiB/s and server CPU s per GiB (cgroup).

    flock /tmp/ferry-bench.lock bench/ftps_ab.py old=/tmp/ferryd-old,new=build/release/bin/ferryd 4 pure-ftpd

Run as root after bench/run has installed the peers and built the load generator."""
import importlib.machinery, importlib.util, os, sys, statistics
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
loader = importlib.machinery.SourceFileLoader("bench_run", os.path.join(HERE, "run"))
spec = importlib.util.spec_from_loader("bench_run", loader)
b = importlib.util.module_from_spec(spec); loader.exec_module(b)
bins = dict(a.split("=", 1) for a in sys.argv[1].split(","))
rounds = int(sys.argv[2]); peers = sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else []
sizes = dict(b.SIZES["quick"])
env = b.Env(sizes)
out = {k: {"down": [], "up": [], "dcpu": [], "ucpu": []} for k in list(bins) + peers}
try:
    env.prepare()
    for r in range(rounds):
        for label in (list(bins) + peers) if r % 2 == 0 else list(reversed(list(bins) + peers)):
            if label in bins:
                b.FERRYD = bins[label]; srv = b.Server("ferryd", env, True)
            else:
                srv = b.Server(label, env, True)
            srv.start()
            try:
                res = {}
                b.s1_download(srv, sizes, res)
                up, ucpu, _ = b.s2_upload_once(srv, sizes, f"ab-{label}-{r}")
                out[label]["down"].append(res["s1_mibs"]); out[label]["dcpu"].append(res["s7_down_cpu"])
                out[label]["up"].append(up); out[label]["ucpu"].append(ucpu)
            finally:
                srv.stop()
        print(f"round {r+1} load {open('/proc/loadavg').read().split()[0]}", flush=True)
finally:
    env.cleanup()
for k, v in out.items():
    print(f"{k:10s} down {statistics.median(v['down']):7.0f} MiB/s cpu {statistics.median(v['dcpu']):.2f} s/GiB | "
          f"up {statistics.median(v['up']):7.0f} MiB/s cpu {statistics.median(v['ucpu']):.2f} s/GiB   "
          f"(down cpu all: {' '.join(f'{x:.2f}' for x in v['dcpu'])}; up cpu all: {' '.join(f'{x:.2f}' for x in v['ucpu'])})")
