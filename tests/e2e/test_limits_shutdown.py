"""Per-address bans after repeated failed logins, and the bounded graceful shutdown."""

import ftplib
import os
import select
import signal
import time
import unittest

from ferryd_harness import FerryServer, IMAGE_SOURCE, RawControl, close_quietly, fs_local_mounts



class AddressBanTest(unittest.TestCase):
    def test_repeated_failures_ban_the_address_for_a_while(self):
        with FerryServer(server_extra="ban_failures = 3\nban_window = 60\nban_duration = 2\nmax_login_failures = 10") as srv:
            f = srv.ftp(login=False)
            self.addCleanup(close_quietly, f)
            for _ in range(3):
                with self.assertRaises(ftplib.error_perm):
                    f.login(srv.user, "wrong")
            self.assertIsNotNone(srv.wait_for_log(r"banned 127\.0\.0\.1 for 2 s after 3 failed logins"))
            with self.assertRaises(ftplib.error_temp) as cm:  # even the right password is too late now
                srv.ftp(login=False)
            self.assertTrue(str(cm.exception).startswith("421"))
            self.assertIsNotNone(srv.wait_for_log(r"refused 127\.0\.0\.1: banned"))
            time.sleep(2.2)
            g = srv.ftp(login=False)  # the ban has run out
            self.addCleanup(close_quietly, g)
            g.login(srv.user, srv.password)
            self.assertEqual(g.pwd(), "/")

    def test_a_ban_also_stops_connections_opened_before_it(self):
        # Opening many connections first must not buy more guesses than ban_failures.
        with FerryServer(server_extra="ban_failures = 3\nban_window = 60\nban_duration = 30\n"
                                      "max_login_failures = 10") as srv:
            sessions = [srv.ftp(login=False) for _ in range(4)]
            for f in sessions:
                self.addCleanup(close_quietly, f)
            for f in sessions[:3]:
                with self.assertRaises(ftplib.error_perm):
                    f.login(srv.user, "wrong")
            self.assertIsNotNone(srv.wait_for_log(r"banned 127\.0\.0\.1 for 30 s after 3 failed logins"))
            late = sessions[3]
            self.assertTrue(late.sendcmd(f"USER {srv.user}").startswith("331"))
            with self.assertRaises(ftplib.error_temp) as cm:  # the right password, but banned
                late.sendcmd(f"PASS {srv.password}")
            self.assertTrue(str(cm.exception).startswith("421"), str(cm.exception))
            with self.assertRaises(ftplib.error_temp) as cm:  # a session that failed once, likewise
                sessions[0].login(srv.user, "another guess")
            self.assertTrue(str(cm.exception).startswith("421"), str(cm.exception))
            log = srv.log_text()
            self.assertEqual(log.count("login refused"), 3, log)  # no fourth guess was judged
            self.assertNotIn("login ok", log)

    def test_a_failing_authenticator_is_not_a_wrong_password(self):
        # Its backend down (io_error, not permission_denied): 421, try later; no failed
        # login is counted and nobody is banned for it.
        with FerryServer(auth_plugin="unavailable_auth", fixture_plugins=True,
                         server_extra="ban_failures = 1\nban_window = 60\nban_duration = 60") as srv:
            for _ in range(3):
                f = srv.ftp(login=False)  # a ban would refuse this connection with 421 at once
                self.addCleanup(close_quietly, f)
                with self.assertRaises(ftplib.error_temp) as cm:
                    f.login(srv.user, srv.password)
                self.assertEqual(str(cm.exception), "421 Login service unavailable, try again later.")
            self.assertIsNotNone(srv.wait_for_log(r"error session \d+: login impossible: the authenticator failed: "
                                                  r"backend unreachable"))
            log = srv.log_text()
            self.assertNotIn("banned", log)
            self.assertNotIn("login refused", log)

    def test_ban_duration_zero_never_bans(self):
        with FerryServer(server_extra="ban_failures = 1\nban_duration = 0") as srv:
            f = srv.ftp(login=False)
            self.addCleanup(close_quietly, f)
            with self.assertRaises(ftplib.error_perm):
                f.login(srv.user, "wrong")
            g = srv.ftp(login=False)
            self.addCleanup(close_quietly, g)
            g.login(srv.user, srv.password)


class GracefulShutdownTest(unittest.TestCase):
    def make_big_png(self, size):
        path = os.path.join(self.tmp, "big.png")
        with open(IMAGE_SOURCE, "rb") as f:
            header = f.read(33)
        with open(path, "wb") as f:
            f.write(header)
            f.truncate(size)
        return path

    def setUp(self):
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="ferry-shutdown-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp, ignore_errors=True))

    def test_sigterm_closes_idle_sessions_and_lets_a_transfer_finish(self):
        size = 64 * 1024 * 1024
        srv = FerryServer(image_source=self.make_big_png(size), server_extra="shutdown_timeout = 20")
        srv.start()
        try:
            idle = srv.ftp(login=False)
            idle.login(srv.user, srv.password)
            busy = srv.ftp(login=False)
            busy.login(srv.user, srv.password)
            busy.voidcmd("TYPE I")
            conn = busy.transfercmd("RETR ferry.png")
            received = len(conn.recv(65536))
            os.kill(srv.proc.pid, signal.SIGTERM)
            with self.assertRaises(ftplib.error_temp) as cm:
                idle.getresp()
            self.assertTrue(str(cm.exception).startswith("421"))
            while chunk := conn.recv(1 << 20):
                received += len(chunk)
            conn.close()
            self.assertEqual(received, size)  # the transfer in progress was not cut
            self.assertTrue(busy.getresp().startswith("226"))
            with self.assertRaises(ftplib.error_temp) as cm:
                busy.getresp()
            self.assertTrue(str(cm.exception).startswith("421"))
            self.assertEqual(srv.proc.wait(timeout=10), 0)
        finally:
            srv.stop()
            srv.cleanup()

    def test_shutdown_timeout_bounds_a_stalled_transfer(self):
        srv = FerryServer(image_source=self.make_big_png(256 * 1024 * 1024), server_extra="shutdown_timeout = 1")
        srv.start()
        try:
            busy = srv.ftp(login=False)
            busy.login(srv.user, srv.password)
            busy.voidcmd("TYPE I")
            conn = busy.transfercmd("RETR ferry.png")
            conn.recv(1000)  # then stop reading: the transfer stalls
            started = time.monotonic()
            os.kill(srv.proc.pid, signal.SIGTERM)
            self.assertEqual(srv.proc.wait(timeout=10), 0)
            self.assertLess(time.monotonic() - started, 5)
            self.assertIsNotNone(srv.wait_for_log(r"shutdown: closing 1 session\(s\) still busy"))
            # The cut transfer is logged as such, and nothing is logged as an error.
            self.assertIsNotNone(srv.wait_for_log(r"transfer failed: RETR /ferry\.png"), srv.log_text())
            self.assertNotRegex(srv.log_text(), r"\d\dZ error ")
            conn.close()
        finally:
            srv.stop()
            srv.cleanup()


class DigestTest(unittest.TestCase):
    """HASH reads a whole file: it must not hold up other users' logins, nor the shutdown."""

    def server_with_a_huge_file(self, gib):
        srv = FerryServer(mounts=fs_local_mounts(), server_extra="shutdown_timeout = 1")
        self.addCleanup(srv.cleanup)
        srv.write_files()
        with open(os.path.join(srv.user_root(), "huge.iso"), "wb") as f:
            f.truncate(gib << 30)  # sparse; hashing it takes seconds (~1.6 GiB/s here)
        srv.start()
        self.addCleanup(srv.stop)
        return srv

    def hashing_session(self, srv):
        c = RawControl(srv.host, srv.port)
        self.addCleanup(c.close)
        self.assertTrue(c.login(srv.user, srv.password).startswith("230"))
        c.send(b"HASH huge.iso\r\n")
        return c

    def test_logins_are_not_held_up_by_digests(self):
        srv = self.server_with_a_huge_file(24)
        hashing = [self.hashing_session(srv) for _ in range(max(3, (os.cpu_count() or 1) + 1))]
        time.sleep(0.3)  # the digests are under way
        f = srv.ftp()  # a login needs a hash of its own: it must not queue behind theirs
        self.addCleanup(close_quietly, f)
        self.assertEqual(f.pwd(), "/")
        readable, _, _ = select.select([c.sock for c in hashing], [], [], 0)
        self.assertEqual(readable, [], "a digest finished before the login: the login waited for it")

    def test_sigterm_stops_a_running_digest(self):
        srv = self.server_with_a_huge_file(32)
        self.hashing_session(srv)
        time.sleep(0.3)
        started = time.monotonic()
        os.kill(srv.proc.pid, signal.SIGTERM)
        self.assertEqual(srv.proc.wait(timeout=30), 0)
        self.assertLess(time.monotonic() - started, 5)  # hashing 32 GiB would take far longer


if __name__ == "__main__":
    unittest.main()
