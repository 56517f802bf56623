#!/usr/bin/env python3
"""Memory per idle logged-in session: PSS of ferryd before and after N logins.

Usage: bench/idle_sessions.py [N] (default 1000). Builds nothing: run scripts/build first.
Starts its own ferryd on a free loopback port with the demo account, opens N control
connections, logs each in, waits a second, reads Pss from /proc/PID/smaps_rollup, and
prints the difference per session. Loopback only; every wait is bounded.
"""
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import pss_kib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRYD = os.path.join(ROOT, "build", "release", "bin", "ferryd")


def read_reply(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed")
        data += chunk
    return data


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as f:
            f.write(f"""[server]
max_sessions = {n + 100}
max_sessions_per_ip = {n + 100}
allow_root = true
[auth]
plugin = "auth_file"
users = "{ROOT}/users.passwd"
[[mount]]
path = "/"
plugin = "send_png"
image = "{ROOT}/plugins/send_png/ferry.png"
""")
        log_path = os.path.join(tmp, "ferryd.log")
        log = open(log_path, "w")  # a file, not a pipe: nobody has to drain it
        server = subprocess.Popen([FERRYD, "--config", config, "--listen", "127.0.0.1:0"], stderr=log)
        try:
            port = None
            deadline = time.time() + 10
            while port is None and time.time() < deadline:
                time.sleep(0.05)
                with open(log_path) as f:
                    for line in f:
                        if "listening on" in line:
                            port = int(line.rsplit(":", 1)[1])
            if port is None:
                raise RuntimeError("ferryd did not start")
            time.sleep(0.5)
            base, _ = pss_kib(server.pid)
            socks = []
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                read_reply(s)
                socks.append(s)
            for s in socks:
                s.sendall(b"USER demo\r\n")
            for s in socks:
                read_reply(s)  # 331
            for s in socks:
                s.sendall(b"PASS ferry\r\n")
            for s in socks:
                reply = read_reply(s)
                if not reply.startswith(b"230"):
                    raise RuntimeError(f"login failed: {reply!r}")
            time.sleep(1)
            after, _ = pss_kib(server.pid)
            print(f"ferryd: {n} idle logged-in sessions: {(after - base) / n:.1f} KiB each "
                  f"(PSS {base} KiB -> {after} KiB)")
            for s in socks:
                s.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()


if __name__ == "__main__":
    main()
