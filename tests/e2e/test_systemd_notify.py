"""sd_notify: with $NOTIFY_SOCKET set (a Type=notify unit), ferryd sends READY=1 once it
listens, RELOADING=1 (with MONOTONIC_USEC) and READY=1 around a SIGHUP reload, whether
the reload succeeds or is refused, and STOPPING=1 on SIGTERM, each from its main PID (what
systemd's NotifyAccess=main accepts). Without a reachable socket it serves all the same."""

import array
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import tempfile
import time
import unittest
from unittest import mock

from ferryd_harness import FerryServer, close_quietly

WAIT = 10.0


class NotifySocket:
    """The service manager's end: a datagram socket that reports each sender's PID."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(address)

    def receive(self, timeout=WAIT):
        """(pid, {KEY: VALUE}) of the next datagram, or None after `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("3i")))
        except socket.timeout:
            return None
        pid = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = array.array("i", payload[:struct.calcsize("3i")])[0]
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
        return pid, fields

    def close(self):
        self.sock.close()


class SystemdNotifyTest(unittest.TestCase):
    def serve(self, notify_address, **kw):
        with mock.patch.dict(os.environ, {"NOTIFY_SOCKET": notify_address}):
            srv = FerryServer(**kw)
            self.addCleanup(srv.cleanup)
            srv.start()
        return srv

    def expect(self, notify, srv, key, value=None):
        got = notify.receive()
        self.assertIsNotNone(got, f"no datagram ({key}) within {WAIT} s; log:\n{srv.log_text()}")
        pid, fields = got
        self.assertEqual(pid, srv.proc.pid, "sent from another process than ferryd's main one")
        self.assertIn(key, fields, f"expected {key}, got {fields}")
        if value is not None:
            self.assertEqual(fields[key], value)
        return fields

    def test_ready_reloading_and_stopping_on_a_path_socket(self):
        directory = tempfile.mkdtemp(prefix="ferry-notify-")
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "notify")
        notify = NotifySocket(path)
        self.addCleanup(notify.close)
        srv = self.serve(path)

        ready = self.expect(notify, srv, "READY", "1")
        self.assertEqual(ready.get("STATUS"), "serving")
        # READY=1 means it serves: a login works at once.
        ftp = srv.ftp()
        self.addCleanup(close_quietly, ftp)
        self.assertEqual(ftp.size("/ferry.png"), len(srv.image_bytes))

        # A reload that succeeds: RELOADING=1 with a monotonic timestamp, then READY=1.
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        srv.proc.send_signal(signal.SIGHUP)
        reloading = self.expect(notify, srv, "RELOADING", "1")
        stamp = int(reloading["MONOTONIC_USEC"]) / 1e6
        self.assertGreaterEqual(stamp, before - 0.001)
        self.assertLessEqual(stamp, time.clock_gettime(time.CLOCK_MONOTONIC))
        self.assertEqual(self.expect(notify, srv, "READY", "1").get("STATUS"), "serving")
        self.assertIsNotNone(srv.wait_for_log(r"reloaded .*config\.toml"))

        # A refused reload still ends with READY=1 (the old configuration serves on).
        with open(srv.config_path, "a") as f:
            f.write("\n[bogus]\n")
        srv.proc.send_signal(signal.SIGHUP)
        self.expect(notify, srv, "RELOADING", "1")
        self.assertIn("reload failed", self.expect(notify, srv, "READY", "1").get("STATUS", ""))
        self.assertIsNotNone(srv.wait_for_log(r"reload failed, the running configuration stays in force"))

        close_quietly(ftp)
        self.assertEqual(srv.stop(), 0)
        self.expect(notify, srv, "STOPPING", "1")
        self.assertIsNone(notify.receive(timeout=0.5), "nothing is sent after STOPPING=1")

    def test_ready_on_an_abstract_socket(self):
        name = "ferry-notify-test-" + secrets.token_hex(8)
        notify = NotifySocket("\0" + name)
        self.addCleanup(notify.close)
        srv = self.serve("@" + name)
        self.expect(notify, srv, "READY", "1")
        self.assertEqual(srv.stop(), 0)
        self.expect(notify, srv, "STOPPING", "1")

    def test_an_unreachable_socket_is_a_warning_not_a_failure(self):
        missing = os.path.join(tempfile.gettempdir(), "ferry-no-such-notify-" + secrets.token_hex(8))
        srv = self.serve(missing)
        line = srv.wait_for_log(r"cannot notify systemd: NOTIFY_SOCKET " + re.escape(missing))
        self.assertIsNotNone(line, srv.log_text())
        ftp = srv.ftp()
        self.addCleanup(close_quietly, ftp)
        self.assertEqual(ftp.size("/ferry.png"), len(srv.image_bytes))
        close_quietly(ftp)
        self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
