#!/usr/bin/env python3
"""Where does the concurrent scenario's tail come from? Summarises `ferry-loadgen concurrent
--trace FILE`: latency by round, by start time, and how much of the spread is per session.

    build/bench/ferry-loadgen concurrent --port P --sessions 200 --repeat 10 --path f1m \\
        --threads 2 --trace /tmp/trace.txt
    bench/trace_rounds.py /tmp/trace.txt
"""
import statistics
import sys


def quantile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def line(label, latencies):
    v = sorted(latencies)
    return (f"{label:<24} n {len(v):>5}  mean {statistics.mean(v):6.1f}  p50 {quantile(v, .5):6.1f}  "
            f"p90 {quantile(v, .9):6.1f}  p99 {quantile(v, .99):6.1f}  max {v[-1]:6.1f}")


def main(path, windows=10):
    rows = []  # (session, round, start_ms, latency_ms)
    with open(path) as f:
        for text in f:
            if not text.startswith("#"):
                s, r, start, latency = text.split()
                rows.append((int(s), int(r), float(start), float(latency)))
    if not rows:
        sys.exit(f"{path}: no downloads")
    latencies = [r[3] for r in rows]
    print(line("all (ms)", latencies))
    for rnd in sorted({r[1] for r in rows}):
        print(line(f"  round {rnd}", [r[3] for r in rows if r[1] == rnd]))
    end = max(r[2] + r[3] for r in rows)
    for w in range(windows):
        lo, hi = end * w / windows, end * (w + 1) / windows
        chunk = [r[3] for r in rows if lo <= r[2] < hi]
        if chunk:
            print(line(f"  started {lo:5.0f}-{hi:5.0f}", chunk))
    slowest = sorted(rows, key=lambda r: -r[3])[:max(1, len(rows) // 100)]
    print("slowest 1% by round:", " ".join(str(r[1]) for r in sorted(slowest, key=lambda r: r[1])))
    per_session = {}
    for r in rows:
        per_session.setdefault(r[0], []).append(r[3])
    between = statistics.pstdev([statistics.mean(v) for v in per_session.values()])
    print(f"standard deviation: {statistics.pstdev(latencies):.1f} ms overall, "
          f"{between:.1f} ms between the sessions' means")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
