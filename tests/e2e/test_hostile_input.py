"""Hostile control-channel input, foreign data connections and login throttling."""

import ftplib
import io
import re
import socket
import threading
import time
import unittest

from ferryd_harness import NET_TIMEOUT, RawControl, ServerTestCase, loopback_alias_available


class HostileInputTest(ServerTestCase):
    # short data timeout: one test waits for a legitimate data connection that never comes
    server_kwargs = {"data_timeout": 3}

    def raw(self, login=True):
        c = RawControl(self.server.host, self.server.port)
        self.addCleanup(c.close)
        self.assertTrue(c.banner.startswith("220"), c.banner)
        if login:
            self.assertTrue(c.login(self.server.user, self.server.password).startswith("230"))
        return c

    def test_overlong_line_500_then_session_still_works(self):
        c = self.raw()
        other = self.ftp()
        c.send(b"NOOP " + b"A" * (100 * 1024))
        # while the junk is pending, another session is unaffected
        self.assertEqual(other.sendcmd("NOOP")[:3], "200")
        c.send(b"\r\n")
        r = c.reply()
        self.assertTrue(r.startswith("500"), r)
        # the tail of the long line must not be taken as commands
        self.assertTrue(c.cmd("NOOP").startswith("200"))
        self.assertTrue(c.cmd("PWD").startswith("257"))
        self.assertEqual(other.sendcmd("NOOP")[:3], "200")

    def test_overlong_line_before_login_500(self):
        c = self.raw(login=False)
        c.send(b"USER " + b"x" * 8000 + b"\r\n")
        self.assertTrue(c.reply().startswith("500"))
        self.assertTrue(c.login(self.server.user, self.server.password).startswith("230"))

    def test_line_just_under_limit_is_parsed(self):
        c = self.raw()
        # 4000 characters: long but legal; the path does not exist
        r = c.cmd("SIZE " + "a" * 4000)
        self.assertTrue(r.startswith("550"), r[:80])
        self.assertTrue(c.cmd("NOOP").startswith("200"))

    def test_binary_junk_500_then_session_still_works(self):
        c = self.raw()
        c.send(b"NO\x00OP\xff\xfe\x01\x02junk\r\n")
        r = c.reply()
        self.assertTrue(r.startswith("500"), r)
        self.assertTrue(c.cmd("NOOP").startswith("200"))

    def test_control_characters_500(self):
        c = self.raw()
        c.send(b"RETR ferry\x07.png\r\n")
        self.assertTrue(c.reply().startswith("500"))
        c.send(b"\x1b[2J\r\n")
        self.assertTrue(c.reply().startswith("500"))
        self.assertTrue(c.cmd("NOOP").startswith("200"))

    def test_invalid_utf8_500(self):
        c = self.raw()
        c.send(b"SIZE \xc3\x28\xa0\xa1.png\r\n")
        r = c.reply()
        self.assertTrue(r[:3] in ("500", "501", "550"), r)
        self.assertTrue(c.cmd("NOOP").startswith("200"))

    def test_bare_lf_line_ending_accepted(self):
        c = self.raw()
        c.send(b"NOOP\n")
        self.assertTrue(c.reply().startswith("200"))

    def test_empty_line_does_not_break_session(self):
        c = self.raw()
        c.send(b"\r\n")
        r = c.reply()
        self.assertTrue(r[:1] == "5", r)
        self.assertTrue(c.cmd("NOOP").startswith("200"))

    def test_junk_flood_while_other_session_transfers(self):
        c = self.raw()
        other = self.ftp()
        stop = threading.Event()
        errors = []

        def flood():
            try:
                for _ in range(50):
                    if stop.is_set():
                        break
                    c.send(b"\xff\x00" * 2048 + b"\r\n")
                    if not c.reply().startswith("500"):
                        errors.append("not 500")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        try:
            for _ in range(5):
                buf = io.BytesIO()
                other.retrbinary("RETR ferry.png", buf.write)
                self.assertEqual(buf.getvalue(), self.server.image_bytes)
        finally:
            stop.set()
            t.join(timeout=20)
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertTrue(c.cmd("NOOP").startswith("200"))

    @unittest.skipUnless(loopback_alias_available("127.0.0.2"), "cannot bind 127.0.0.2")
    def test_passive_connection_from_other_address_refused_and_logged(self):
        f = self.ftp()
        f.voidcmd("TYPE I")
        reply = f.sendcmd("PASV")
        nums = [int(x) for x in re.search(r"\(([\d,]+)\)", reply).group(1).split(",")]
        port = nums[4] * 256 + nums[5]
        mark = self.server.log_mark()
        intruder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(intruder.close)
        intruder.settimeout(5)
        intruder.bind(("127.0.0.2", 0))
        intruder.connect(("127.0.0.1", port))  # may complete at TCP level (backlog)
        time.sleep(0.2)  # let the intruder reach the server first
        self.retrieve_through(f, port)
        # the intruder got nothing (closed, or reset)
        try:
            got = intruder.recv(65536)
        except (ConnectionResetError, socket.timeout):
            got = b""
        self.assertEqual(got, b"")
        line = self.server.wait_for_log(r"refused data connection from 127\.0\.0\.2", start=mark)
        self.assertIsNotNone(line, "no log line for the refused data connection:\n" + self.server.log_text())

    def epsv_port(self, f):
        return int(re.search(r"\|\|\|(\d+)\|", f.sendcmd("EPSV")).group(1))

    def retrieve_through(self, f, port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as d:
            r = f.sendcmd("RETR ferry.png")
            self.assertTrue(r.startswith("150"), r)
            data = b""
            for _ in range(10000):
                b = d.recv(65536)
                if not b:
                    break
                data += b
        self.assertEqual(f.voidresp()[:3], "226")
        self.assertEqual(data, self.server.image_bytes)

    @unittest.skipUnless(loopback_alias_available("127.0.0.2"), "cannot bind 127.0.0.2")
    def test_kept_passive_listener_takes_only_the_next_connection(self):
        # An EPSV right after a passive transfer reuses its listener (same port). What waits
        # there from before, the client's own stale connection or an intruder's, must not
        # become the next transfer's data connection; another command closes the port.
        f = self.ftp()
        f.voidcmd("TYPE I")
        port = self.epsv_port(f)
        self.retrieve_through(f, port)
        mark = self.server.log_mark()
        stale = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.addCleanup(stale.close)
        intruder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(intruder.close)
        intruder.settimeout(5)
        intruder.bind(("127.0.0.2", 0))
        intruder.connect(("127.0.0.1", port))
        time.sleep(0.2)  # both wait in the backlog
        self.assertEqual(self.epsv_port(f), port)
        self.retrieve_through(f, port)
        for waiting in (stale, intruder):
            try:
                got = waiting.recv(65536)
            except ConnectionResetError:
                got = b""
            self.assertEqual(got, b"")  # closed unserved (a timeout here: still waiting)
        line = self.server.wait_for_log(r"refused data connection from 127\.0\.0\.2", start=mark)
        self.assertIsNotNone(line, "no log line for the refused data connection:\n" + self.server.log_text())
        f.voidcmd("NOOP")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()

    @unittest.skipUnless(loopback_alias_available("127.0.0.2"), "cannot bind 127.0.0.2")
    def test_passive_connection_only_from_other_address_fails_transfer_cleanly(self):
        f = self.ftp()
        f.voidcmd("TYPE I")
        reply = f.sendcmd("EPSV")
        port = int(re.search(r"\|\|\|(\d+)\|", reply).group(1))
        intruder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(intruder.close)
        intruder.settimeout(5)
        intruder.bind(("127.0.0.2", 0))
        intruder.connect(("127.0.0.1", port))
        f.sock.settimeout(30)
        # no legitimate connection ever arrives: the server must not send the file to the
        # intruder; it answers 425 (at once, or after its data timeout)
        try:
            r = f.sendcmd("RETR ferry.png")
            if r.startswith("150"):
                r = f.voidresp()
        except ftplib.all_errors as e:
            r = str(e)
        try:
            got = intruder.recv(65536)
        except (ConnectionResetError, socket.timeout):
            got = b""
        self.assertEqual(got, b"")
        self.assertTrue(r[:3] in ("425", "426"), r)
        f.sock.settimeout(NET_TIMEOUT)
        self.assertEqual(f.sendcmd("NOOP")[:3], "200")

    def test_three_failed_logins_421_and_closed(self):
        c = self.raw(login=False)
        replies = [c.login(self.server.user, "wrong-%d" % i) for i in range(3)]
        self.assertTrue(replies[0].startswith("530"), replies)
        self.assertTrue(replies[1].startswith("530"), replies)
        self.assertTrue(replies[2].startswith("421"), replies)
        self.assertTrue(c.closed_by_peer(5.0), "connection not closed after 421")

    def test_failed_login_delay_does_not_block_other_session(self):
        bad = self.raw(login=False)
        self.assertTrue(bad.cmd(f"USER {self.server.user}").startswith("331"))
        t0 = time.monotonic()
        bad.send(b"PASS definitely-wrong\r\n")
        time.sleep(0.05)  # the bad session is now inside its delay
        other = RawControl(self.server.host, self.server.port)
        self.addCleanup(other.close)
        t1 = time.monotonic()
        r = other.login(self.server.user, self.server.password)
        elapsed = time.monotonic() - t1
        self.assertTrue(r.startswith("230"), r)
        r_bad = bad.reply()
        bad_elapsed = time.monotonic() - t0
        self.assertTrue(r_bad.startswith("530"), r_bad)
        self.assertGreaterEqual(bad_elapsed, 0.9, "a failed login is answered after ~1 s")
        self.assertLess(elapsed, 0.7, f"good login took {elapsed:.2f}s during another's failure delay")

    def test_failed_logins_in_parallel_do_not_serialize(self):
        n = 4
        results = [None] * n

        def fail(i):
            c = RawControl(self.server.host, self.server.port)
            try:
                c.cmd(f"USER {self.server.user}")
                t = time.monotonic()
                results[i] = (c.cmd("PASS nope"), time.monotonic() - t)
            finally:
                c.close()

        threads = [threading.Thread(target=fail, args=(i,), daemon=True) for i in range(n)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        total = time.monotonic() - t0
        for r in results:
            self.assertIsNotNone(r)
            self.assertTrue(r[0].startswith("530"), r)
        self.assertLess(total, 0.9 * n, f"{n} parallel failed logins took {total:.2f}s (serialized?)")

    def test_user_without_pass_then_other_command_503_or_530(self):
        c = self.raw(login=False)
        self.assertTrue(c.cmd(f"USER {self.server.user}").startswith("331"))
        r = c.cmd("LIST")
        self.assertTrue(r[:3] in ("503", "530"), r)

    def test_pass_without_user_503(self):
        c = self.raw(login=False)
        r = c.cmd("PASS whatever")
        self.assertTrue(r[:3] in ("503", "530"), r)


if __name__ == "__main__":
    unittest.main()
