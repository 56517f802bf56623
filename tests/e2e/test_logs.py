"""The server's logs: one JSON object a line with [log] format = "json", an xferlog(5)
transfer log with [log] xferlog, and never a password in either."""

import ftplib
import io
import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from ferryd_harness import FERRYD, NET_TIMEOUT, FerryServer, close_quietly, fs_local_mounts, run_ferryd

# wu-ftpd's xferlog(5): current-time transfer-time remote-host file-size filename
# transfer-type special-action direction access-mode username service auth-method auth-user status
XFERLOG_RE = re.compile(r"^(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}) (\d+) (\S+) (\d+) (\S+) ([ab]) _ ([io]) r (\S+) "
                        r"ftp 0 \* ([ci])$")


class LogTest(unittest.TestCase):
    def start(self, **kw):
        srv = FerryServer(mounts=fs_local_mounts(), **kw)
        srv.start()
        self.addCleanup(srv.cleanup)
        return srv

    def exercise(self, srv):
        """A failed login, a good one, a download, an upload and an aborted upload."""
        wrong = srv.ftp(login=False)
        self.addCleanup(close_quietly, wrong)
        with self.assertRaises(ftplib.error_perm):
            wrong.login(srv.user, "not-" + srv.password)
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        f.retrbinary("RETR /welcome/ferry.png", lambda b: None)
        f.storbinary("STOR up load.bin", io.BytesIO(b"x" * 5000))
        f.quit()

    def test_json_lines_carry_the_events_fields_and_no_password(self):
        srv = self.start(log_level="debug", config_extra='[log]\nformat = "json"\n')
        f = srv.ftp()
        for secret in ("ACCT account-secret", "XSECRET other-secret"):  # unknown: arguments unseen
            with self.assertRaises(ftplib.error_perm):
                f.sendcmd(secret)
        f.quit()
        self.exercise(srv)
        self.assertIsNotNone(srv.wait_for_log(r'"event":"disconnect"'))
        srv.stop()
        events = []
        for line in srv.log_text().splitlines():
            record = json.loads(line)  # every line is one JSON object
            self.assertIn("time", record)
            self.assertIn(record["level"], ("debug", "info", "warning", "error"))
            self.assertIn("msg", record)
            events.append(record)
        by_event = {}
        for e in events:
            by_event.setdefault(e.get("event"), []).append(e)
        self.assertTrue(any(e["msg"].startswith("listening on 127.0.0.1:") for e in by_event[None]))
        login = by_event["login"][0]
        self.assertEqual((login["user"], login["peer"]), (srv.user, "127.0.0.1"))
        self.assertIsInstance(login["session"], int)
        refused = by_event["login_refused"][0]
        self.assertEqual(refused["user"], srv.user)
        transfers = {e["verb"]: e for e in by_event["transfer"]}
        self.assertEqual(transfers["RETR"]["bytes"], len(srv.image_bytes))
        self.assertEqual(transfers["RETR"]["path"], "/welcome/ferry.png")
        self.assertEqual((transfers["STOR"]["bytes"], transfers["STOR"]["result"]), (5000, "ok"))
        self.assertEqual(transfers["STOR"]["path"], "/up load.bin")
        self.assertIsInstance(transfers["STOR"]["ms"], int)
        text = srv.log_text()
        self.assertNotIn(srv.password, text)
        self.assertIn("PASS ****", text)  # the debug log shows the command, not its argument
        self.assertNotIn("account-secret", text)
        self.assertNotIn("other-secret", text)
        self.assertIn("ACCT ****", text)

    def test_xferlog_has_one_line_per_transfer_in_the_classic_format(self):
        srv = self.start(config_extra='[log]\nxferlog = "xfer.log"\n')
        with open(os.path.join(srv.user_root(), "big.bin"), "wb") as big:
            big.truncate(64 * 1024 * 1024)  # more than the sockets buffer: ABOR finds it in flight
        self.exercise(srv)
        # An upload cut off by the client is logged as incomplete.
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        f.voidcmd("TYPE I")
        conn = f.transfercmd("STOR cut.bin")
        conn.sendall(b"y" * 1000)
        conn.close()
        f.voidresp()
        self.assertIsNotNone(srv.wait_for_log(r"transfer ok: STOR /cut\.bin"))
        f.voidcmd("TYPE I")
        conn = f.transfercmd("RETR big.bin")
        conn.recv(1000)
        f.abort()
        conn.close()
        self.assertIsNotNone(srv.wait_for_log(r"transfer failed: RETR /big\.bin"))
        srv.stop()
        with open(os.path.join(srv.dir, "xfer.log")) as log:
            lines = log.read().splitlines()
        self.assertEqual(len(lines), 4, lines)
        records = [XFERLOG_RE.match(line) for line in lines]
        self.assertTrue(all(records), lines)
        retr, stor, cut, aborted = records
        self.assertEqual((retr[3], int(retr[4]), retr[5], retr[6], retr[7], retr[8], retr[9]),
                         ("127.0.0.1", len(srv.image_bytes), "/welcome/ferry.png", "b", "o", srv.user, "c"))
        # Spaces in names become '_' so that the fields stay apart.
        self.assertEqual((int(stor[4]), stor[5], stor[7], stor[9]), (5000, "/up_load.bin", "i", "c"))
        self.assertEqual((int(cut[4]), cut[9]), (1000, "c"))
        self.assertEqual((aborted[5], aborted[7], aborted[9]), ("/big.bin", "o", "i"))
        self.assertLess(int(aborted[4]), 64 * 1024 * 1024)
        self.assertNotIn(srv.password, "\n".join(lines))

    def test_text_lines_escape_backslashes_so_names_cannot_fake_an_escape(self):
        # A name spelling "\x0a" must not read like the escape of a real LF.
        srv = self.start()
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        f.storbinary("STOR a\\x0ab", io.BytesIO(b"x"))
        f.delete("a\\x0ab")
        f.quit()
        line = srv.wait_for_log(r"deleted ")
        self.assertIsNotNone(line)
        self.assertIn("deleted /a\\\\x0ab ", line)

    def test_started_with_stderr_closed_the_log_goes_nowhere_else(self):
        # With descriptor 2 closed by the parent, the xferlog (or after a reload a client's
        # socket) would become "stderr" and receive every log line.
        srv = FerryServer(mounts=fs_local_mounts(), config_extra='[log]\nxferlog = "xfer.log"\n')
        srv.write_files()
        self.addCleanup(srv.cleanup)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        proc = subprocess.Popen([FERRYD, "--config", srv.config_path, "--listen", f"127.0.0.1:{port}",
                                 "--log-level", "debug"], cwd=srv.dir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(2))
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait(timeout=10)))
        deadline = time.monotonic() + 10
        while True:
            try:
                f = ftplib.FTP()
                f.connect("127.0.0.1", port, timeout=NET_TIMEOUT)
                break
            except OSError:
                self.assertLess(time.monotonic(), deadline, "ferryd did not come up")
                time.sleep(0.05)
        self.addCleanup(close_quietly, f)
        f.login(srv.user, srv.password)
        f.retrbinary("RETR /welcome/ferry.png", lambda b: None)
        os.kill(proc.pid, signal.SIGHUP)  # reopens the xferlog: descriptor 2 would be free again
        time.sleep(0.5)
        spy = socket.create_connection(("127.0.0.1", port), timeout=NET_TIMEOUT)
        self.addCleanup(spy.close)
        g = ftplib.FTP()
        g.connect("127.0.0.1", port, timeout=NET_TIMEOUT)  # log lines for the spy to catch
        self.addCleanup(close_quietly, g)
        g.login(srv.user, srv.password)
        g.retrbinary("RETR /welcome/ferry.png", lambda b: None)
        spy.settimeout(1)
        heard = b""
        try:
            while chunk := spy.recv(4096):
                heard += chunk
        except socket.timeout:
            pass
        self.assertTrue(heard.startswith(b"220 "), heard[:200])
        self.assertEqual(heard.count(b"\r\n"), 1, heard[:200])  # its banner, nothing else
        os.kill(proc.pid, signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=10), 0)
        with open(os.path.join(srv.dir, "xfer.log")) as log:
            lines = log.read().splitlines()
        self.assertEqual(len(lines), 2, lines[:5])
        self.assertTrue(all(XFERLOG_RE.match(line) for line in lines), lines[:5])

    def ferryd_with(self, config_extra, *args):
        """Runs ferryd (until it exits) on a fresh config with `config_extra`: (server, process)."""
        srv = FerryServer(config_extra=config_extra)
        srv.write_files()
        self.addCleanup(srv.cleanup)
        return srv, run_ferryd(["--config", srv.config_path, *args])

    def test_a_transfer_log_that_cannot_be_opened_stops_start_up(self):
        _, p = self.ferryd_with('[log]\nxferlog = "no/such/dir/xfer.log"\n')
        self.assertEqual(p.returncode, 2)
        self.assertIn("xferlog", p.stderr)
        self.assertIn("No such file or directory", p.stderr)

    def test_check_judges_the_transfer_log_without_creating_it(self):
        srv, p = self.ferryd_with('[log]\nxferlog = "xfer.log"\n', "--check")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(srv.dir, "xfer.log")))  # --check writes nothing
        _, p = self.ferryd_with('[log]\nxferlog = "no/such/dir/xfer.log"\n', "--check")
        self.assertEqual(p.returncode, 2)
        self.assertRegex(p.stderr, r"config\.toml:\d+:\d+: \[log\] xferlog: .*no/such/dir/xfer\.log: No such file")

    def test_log_format_must_be_text_or_json(self):
        _, p = self.ferryd_with('[log]\nformat = "yaml"\n', "--check")
        self.assertEqual(p.returncode, 2)
        self.assertRegex(p.stderr, r"config\.toml:\d+:\d+: 'format' must be \"text\" or \"json\"")

if __name__ == "__main__":
    unittest.main()
