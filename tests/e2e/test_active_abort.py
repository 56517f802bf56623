"""Active mode (PORT/EPRT) without FTP bounce, ABOR during a transfer, and REIN.

A large "PNG" (the real signature and IHDR, then 64 MiB of random bytes) is served by
send_png so that a transfer is still running when ABOR arrives.
"""

import ftplib
import hashlib
import os
import socket
import tempfile
import time
import unittest

from ferryd_harness import IMAGE_SOURCE, NET_TIMEOUT, RawControl, ServerTestCase, close_quietly, fs_local_mounts

BIG_SIZE = 64 * 1024 * 1024


def make_big_png(path):
    with open(IMAGE_SOURCE, "rb") as f:
        header = f.read(33)  # signature + IHDR chunk
    with open(path, "wb") as f:
        f.write(header)
        f.write(os.urandom(BIG_SIZE - len(header)))


class ActiveModeAndAbortTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.big_dir = tempfile.mkdtemp(prefix="ferry-big-")
        cls.big_path = os.path.join(cls.big_dir, "big.png")
        make_big_png(cls.big_path)
        with open(cls.big_path, "rb") as f:
            cls.big_sha = hashlib.sha256(f.read()).hexdigest()
        cls.server_kwargs = {"image_source": cls.big_path}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            os.remove(cls.big_path)
            os.rmdir(cls.big_dir)

    def test_active_mode_download_with_port(self):
        ftp = self.ftp(passive=False)
        ftp.af = socket.AF_INET
        ftp.sendcmd("TYPE I")
        h = hashlib.sha256()
        ftp.retrbinary("RETR ferry.png", h.update, blocksize=1 << 20)
        self.assertEqual(h.hexdigest(), self.big_sha)

    def test_active_mode_listing_with_eprt(self):
        ftp = self.ftp()
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(NET_TIMEOUT)
            port = listener.getsockname()[1]
            self.assertTrue(ftp.sendcmd(f"EPRT |1|127.0.0.1|{port}|").startswith("200"))
            ftp.putcmd("NLST")
            conn, peer = listener.accept()
            with conn:
                self.assertEqual(peer[0], "127.0.0.1")
                self.assertTrue(ftp.getresp().startswith("150"))
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
        self.assertTrue(ftp.voidresp().startswith("226"))
        self.assertEqual(data, b"ferry.png\r\n")

    def test_port_to_another_address_is_refused(self):
        ftp = self.ftp()
        with self.assertRaises(ftplib.error_perm) as cm:
            ftp.sendcmd("PORT 127,0,0,2,200,10")
        self.assertTrue(str(cm.exception).startswith("501"))
        self.server.wait_for_log(r"refused active data connection to 127\.0\.0\.2:51210")

    def test_port_to_a_privileged_port_is_refused(self):
        ftp = self.ftp()
        with self.assertRaises(ftplib.error_perm) as cm:
            ftp.sendcmd("PORT 127,0,0,1,0,25")
        self.assertTrue(str(cm.exception).startswith("501"))
        with self.assertRaises(ftplib.error_perm) as cm:
            ftp.sendcmd("EPRT |1|127.0.0.2|5000|")
        self.assertTrue(str(cm.exception).startswith("501"))

    def test_bad_port_and_eprt_syntax(self):
        ftp = self.ftp()
        for cmd in ("PORT 1,2,3", "PORT 127,0,0,1,300,1", "EPRT |x|127.0.0.1|5000|", "EPRT nonsense", "EPSV x"):
            with self.assertRaises(ftplib.error_perm, msg=cmd) as cm:
                ftp.sendcmd(cmd)
            self.assertTrue(str(cm.exception).startswith("501"), cmd)
        # A network protocol the server does not speak is 522 with the ones it does (RFC 2428).
        for cmd in ("EPRT |9|127.0.0.1|5000|", "EPRT |3|some-address|5000|", "EPSV 3"):
            with self.assertRaises(ftplib.error_perm, msg=cmd) as cm:
                ftp.sendcmd(cmd)
            self.assertEqual(str(cm.exception), "522 Network protocol not supported, use (1)", cmd)

    def _abort_mid_transfer(self, passive):
        ftp = self.ftp(passive=passive)
        ftp.sendcmd("TYPE I")
        conn = ftp.transfercmd("RETR ferry.png")
        try:
            self.assertGreater(len(conn.recv(65536)), 0)
            time.sleep(0.1)
            first = ftp.abort()  # IAC IP, IAC DM (urgent), ABOR
            self.assertTrue(first.startswith("426"), first)
            self.assertTrue(ftp.getresp().startswith("226"))
        finally:
            conn.close()
        # The session carries on: a complete download works afterwards.
        self.assertEqual(ftp.voidcmd("NOOP"), "200 NOOP ok.")
        self.assertEqual(ftp.size("ferry.png"), BIG_SIZE)
        self.server.wait_for_log(r"transfer failed: RETR /ferry\.png .*aborted by the client")

    def test_abor_during_passive_transfer_answers_426_then_226(self):
        self._abort_mid_transfer(passive=True)

    def test_abor_during_active_transfer_answers_426_then_226(self):
        self._abort_mid_transfer(passive=False)

    def test_abor_without_a_transfer(self):
        ftp = self.ftp()
        self.assertTrue(ftp.sendcmd("ABOR").startswith("225"))

    def test_commands_sent_during_a_transfer_wait_for_it(self):
        ftp = self.ftp()
        ftp.sendcmd("TYPE I")
        conn = ftp.transfercmd("RETR ferry.png")
        ftp.sock.sendall(b"NOOP\r\n")  # queued behind the transfer, not lost
        total = 0
        h = hashlib.sha256()
        while True:
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            h.update(chunk)
        conn.close()
        self.assertEqual(total, BIG_SIZE)
        self.assertEqual(h.hexdigest(), self.big_sha)
        self.assertTrue(ftp.voidresp().startswith("226"))
        self.assertEqual(ftp.getresp(), "200 NOOP ok.")

    def raw_session_with_data_connection(self):
        """A logged-in RawControl in TYPE I, and a data connection to its EPSV port."""
        c = RawControl("127.0.0.1", self.server.port)
        self.addCleanup(c.close)
        self.assertTrue(c.login(self.server.user, self.server.password).startswith("230"))
        self.assertTrue(c.cmd("TYPE I").startswith("200"))
        data = socket.create_connection(("127.0.0.1", c.epsv_port()), timeout=NET_TIMEOUT)
        self.addCleanup(data.close)
        return c, data

    def test_abor_queued_behind_another_command_still_stops_the_transfer(self):
        c, data = self.raw_session_with_data_connection()
        started = time.monotonic()
        c.send(b"RETR ferry.png\r\nNOOP\r\nABOR\r\n")  # and the data is never read
        replies = [c.reply()[:3] for _ in range(4)]
        self.assertEqual(replies, ["150", "426", "226", "200"])  # the ABOR, then the NOOP queued before it
        self.assertLess(time.monotonic() - started, 5)  # not the data timeout (20 s)
        self.assertTrue(c.cmd("NOOP").startswith("200"))

    def test_quit_sent_during_a_transfer_then_half_close_lets_it_finish(self):
        c, data = self.raw_session_with_data_connection()
        self.assertTrue(c.cmd("RETR ferry.png").startswith("150"))
        c.send(b"QUIT\r\n")
        c.sock.shutdown(socket.SHUT_WR)  # nothing more to say; replies still welcome
        h = hashlib.sha256()
        while chunk := data.recv(1 << 20):
            h.update(chunk)
        self.assertEqual(h.hexdigest(), self.big_sha)
        self.assertTrue(c.reply().startswith("226"))
        self.assertTrue(c.reply().startswith("221"))

    def test_rein_logs_out_and_allows_a_new_login(self):
        ftp = self.ftp()
        ftp.sendcmd("TYPE I")
        self.assertTrue(ftp.sendcmd("REIN").startswith("220"))
        with self.assertRaises(ftplib.error_perm) as cm:
            ftp.sendcmd("PWD")
        self.assertTrue(str(cm.exception).startswith("530"))
        ftp.login(self.server.user, self.server.password)
        self.assertEqual(ftp.pwd(), "/")

    def test_site_and_mfmt_on_a_read_only_mount(self):
        ftp = self.ftp()
        self.assertTrue(ftp.sendcmd("SITE HELP").startswith("214"))
        for cmd, code in (("MFMT 20200101000000 ferry.png", "550"), ("SITE CHMOD 600 ferry.png", "504"),
                          ("SITE NOPE", "504"), ("MFMT 2020 ferry.png", "501"), ("SITE CHMOD 9 x", "501")):
            with self.assertRaises(ftplib.error_perm, msg=cmd) as cm:
                ftp.sendcmd(cmd)
            self.assertTrue(str(cm.exception).startswith(code), (cmd, str(cm.exception)))



class ClientEndsTheTransferTest(ServerTestCase):
    """Transfers the client ends on its own side, both found by the random walk
    (test_protocol_walk): a download whose data connection the client closes, and an ABOR
    sent together with the end of an upload."""

    server_kwargs = {"mounts": fs_local_mounts(welcome=False)}

    def test_download_closed_by_the_client_fails_426_and_the_server_lives_on(self):
        # sendfile() cannot take MSG_NOSIGNAL: this used to kill ferryd with SIGPIPE.
        root = self.server.user_root()
        files = {"big": os.urandom(16 << 20), "mid": os.urandom(300000), "small": os.urandom(65536)}
        for name, content in files.items():
            with open(os.path.join(root, name), "wb") as f:
                f.write(content)
        for passive in (True, False):
            ftp = self.ftp(passive=passive)
            ftp.sendcmd("TYPE I")
            for name in list(files) * 3:
                conn = ftp.transfercmd(f"RETR {name}")
                got = 0
                while got < min(len(files[name]) // 2, 1 << 20):  # while ferryd is sending
                    chunk = conn.recv(65536)
                    self.assertTrue(chunk)
                    got += len(chunk)
                conn.close()  # no ABOR: the client just hangs up
                try:
                    end = ftp.getresp()  # 226 when the whole file fit in the socket buffers
                except ftplib.error_temp as e:
                    end = str(e)
                self.assertIn(end[:3], ("226", "426"), (passive, name, end))
                self.assertEqual(ftp.voidcmd("NOOP"), "200 NOOP ok.")
            got = bytearray()
            ftp.retrbinary("RETR big", got.extend)  # and a whole download still works
            self.assertEqual(bytes(got), files["big"])
        self.assertIsNone(self.server.proc.poll(), "ferryd exited")

    def test_abor_together_with_the_end_of_an_upload_both_answered(self):
        """Whichever wins, both get their reply, in order: 426 + 226 (aborted) or 226 + 225
        (done, nothing left to abort). The ABOR used to be swallowed when the transfer won."""

        root = self.server.user_root()
        c = RawControl("127.0.0.1", self.server.port, timeout=5)
        self.addCleanup(c.close)
        self.assertTrue(c.login(self.server.user, self.server.password).startswith("230"))
        self.assertTrue(c.cmd("TYPE I").startswith("200"))
        outcomes = set()
        for i in range(30):
            data = socket.create_connection(("127.0.0.1", c.epsv_port()), timeout=NET_TIMEOUT)
            self.assertTrue(c.cmd(f"STOR race{i}").startswith("150"))
            payload = os.urandom(1000 + i)
            data.sendall(payload)
            data.close()
            c.send(b"ABOR\r\n")
            pair = (c.reply()[:3], c.reply()[:3])
            self.assertIn(pair, {("226", "225"), ("426", "226")}, f"round {i}")
            outcomes.add(pair)
            if pair[0] == "226":  # the upload completed: all of it is on disk
                with open(os.path.join(root, f"race{i}"), "rb") as f:
                    self.assertEqual(f.read(), payload)
            self.assertTrue(c.cmd("NOOP").startswith("200"), f"round {i}: replies out of step")
        print(f"\noutcomes over 30 rounds: {sorted(outcomes)}")


if __name__ == "__main__":
    unittest.main()
