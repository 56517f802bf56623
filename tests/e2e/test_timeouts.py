"""Limits and timeouts: max_sessions, login/idle/data timeouts, passive port exhaustion.
Each hostile or slow case gets its answer in bounded time; other sessions carry on."""

import ftplib
import os
import re
import resource
import signal
import socket
import subprocess
import time
import unittest

from ferryd_harness import FERRYD, NET_TIMEOUT, FerryServer, RawControl, close_quietly, fs_local_mounts



class LimitsTest(unittest.TestCase):
    def test_max_sessions_answers_421_past_the_limit(self):
        with FerryServer(server_extra="max_sessions = 2") as srv:
            a, b = srv.ftp(login=False), srv.ftp(login=False)
            self.addCleanup(close_quietly, a)
            self.addCleanup(close_quietly, b)
            with self.assertRaises(ftplib.error_temp) as cm:
                srv.ftp(login=False)
            self.assertTrue(str(cm.exception).startswith("421"))
            a.login(srv.user, srv.password)  # the admitted ones are unaffected
            self.assertEqual(a.pwd(), "/")

    def test_login_timeout_closes_with_421(self):
        with FerryServer(login_timeout=1) as srv:
            slow = srv.ftp(login=False)
            self.addCleanup(close_quietly, slow)
            started = time.monotonic()
            with self.assertRaises(ftplib.error_temp) as cm:
                slow.getresp()  # never logs in
            self.assertTrue(str(cm.exception).startswith("421"))
            self.assertLess(time.monotonic() - started, 5)
            self.assertIsNotNone(srv.wait_for_log(r"login timeout"))

    def test_idle_timeout_closes_a_logged_in_session_with_421(self):
        with FerryServer(idle_timeout=1) as srv:
            f = srv.ftp(login=False)
            self.addCleanup(close_quietly, f)
            f.login(srv.user, srv.password)
            started = time.monotonic()
            with self.assertRaises(ftplib.error_temp) as cm:
                f.getresp()
            self.assertTrue(str(cm.exception).startswith("421"))
            self.assertLess(time.monotonic() - started, 5)
            self.assertIsNotNone(srv.wait_for_log(r"idle timeout"))

    def test_rein_brings_back_the_login_timeout(self):
        with FerryServer(login_timeout=1, idle_timeout=30) as srv:
            f = srv.ftp()
            self.addCleanup(close_quietly, f)
            time.sleep(1.5)  # past the first login deadline: the watchdog now waits for the idle one
            self.assertEqual(f.voidcmd("NOOP")[:3], "200")
            self.assertTrue(f.sendcmd("REIN").startswith("220"))
            started = time.monotonic()
            with self.assertRaises(ftplib.error_temp) as cm:
                f.getresp()  # logged out now, and never logs in again
            self.assertTrue(str(cm.exception).startswith("421"), str(cm.exception))
            self.assertLess(time.monotonic() - started, 5)  # the login timeout, not the idle one
            self.assertIsNotNone(srv.wait_for_log(r"login timeout"))

    def test_a_digest_longer_than_the_idle_timeout_is_answered(self):
        with FerryServer(idle_timeout=1, mounts=fs_local_mounts()) as srv:
            with open(os.path.join(srv.user_root(), "big.iso"), "wb") as f:
                f.truncate(3 << 30)  # sparse: hashing it still takes seconds
            f = srv.ftp()
            self.addCleanup(close_quietly, f)
            f.sock.settimeout(120)
            reply = f.sendcmd("HASH big.iso")
            self.assertRegex(reply, r"^213 SHA-256 0-3221225472 [0-9a-f]{64} big\.iso$")

    def test_a_long_listing_to_a_slow_reader_outlives_the_idle_timeout(self):
        with FerryServer(idle_timeout=1, mounts=fs_local_mounts()) as srv:
            directory = os.path.join(srv.user_root(), "many")
            os.makedirs(directory)
            for i in range(6000):
                os.close(os.open(os.path.join(directory, f"{i:06d}-" + "n" * 200), os.O_CREAT | os.O_WRONLY))
            c = RawControl(srv.host, srv.port)
            self.addCleanup(c.close)
            c.login(srv.user, srv.password)
            port = c.epsv_port()
            data = socket.socket()
            self.addCleanup(data.close)
            data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
            data.settimeout(NET_TIMEOUT)
            data.connect((srv.host, port))
            c.send(b"LIST many\r\n")
            self.assertTrue(c.reply().startswith("150"))
            received = 0
            started = time.monotonic()
            while chunk := data.recv(16384):
                received += len(chunk)
                if time.monotonic() - started < 2.5:
                    time.sleep(0.02)  # a slow reader for longer than the idle timeout
            self.assertGreater(time.monotonic() - started, 1.5)
            self.assertGreater(received, 6000 * 200)
            self.assertTrue(c.reply().startswith("226"))

    def test_idle_timeout_during_a_reply_the_client_does_not_read(self):
        # STAT of a big directory to a client that stops reading: the idle timeout must
        # close the session without writing its 421 into (and over) the reply under way.
        with FerryServer(idle_timeout=1, mounts=fs_local_mounts()) as srv:
            directory = os.path.join(srv.user_root(), "many")
            os.makedirs(directory)
            for i in range(30000):  # a reply of ~8 MB: more than the socket buffers take
                os.close(os.open(os.path.join(directory, f"{i:06d}-" + "s" * 200), os.O_CREAT | os.O_WRONLY))
            sock = socket.socket()
            self.addCleanup(sock.close)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
            sock.settimeout(NET_TIMEOUT)
            sock.connect((srv.host, srv.port))
            replies = sock.makefile("rb")
            self.assertTrue(replies.readline().startswith(b"220"))
            sock.sendall(f"USER {srv.user}\r\n".encode())
            self.assertTrue(replies.readline().startswith(b"331"))
            sock.sendall(f"PASS {srv.password}\r\n".encode())
            self.assertTrue(replies.readline().startswith(b"230"))
            sock.sendall(b"STAT many\r\n")
            time.sleep(2.5)  # not reading, past the idle timeout
            received = replies.read()  # to the server's close
            self.assertTrue(received.startswith(b"213-Status of /many:"), received[:80])
            self.assertNotIn(b"213 End of status.", received[-100:], "the reply was not held up: no test")
            lines = received.split(b"\r\n")[1:-1]  # the last one may be cut short
            self.assertGreater(len(lines), 100)
            for line in lines:  # listing lines, nothing else: no 421 written into the reply
                if not re.fullmatch(rb" -rwx.* \d{6}-s{200}", line):
                    self.fail(f"not a listing line: {line[:100]!r}")
            self.assertIsNotNone(srv.wait_for_log(r"idle timeout"))
            f = srv.ftp()  # the server carries on
            self.addCleanup(close_quietly, f)
            self.assertEqual(f.pwd(), "/")
            self.assertNotRegex(srv.log_text(), r"\d\dZ error ")

    def test_out_of_descriptors_is_logged_once_and_passes(self):
        # A hard descriptor limit of 48: ferryd says at start that it is short, accept fails
        # while connections hold the rest, and the log says so once, not every 100 ms.
        srv = FerryServer(server_extra="max_sessions_per_ip = 1000")
        srv.write_files()
        self.addCleanup(srv.cleanup)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
        proc = subprocess.Popen([FERRYD, "--config", srv.config_path, "--listen", f"127.0.0.1:{port}"],
                                cwd=srv.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, preexec_fn=limit)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait(timeout=10)))
        time.sleep(0.3)
        with open(f"/proc/{proc.pid}/maps") as maps:
            if "libasan" in maps.read():
                # UBSan's vptr check needs a free descriptor of its own (it tests that memory
                # is readable through a pipe): with none left it reports every object it
                # checks as "invalid vptr" ("memory cannot be printed"), a false positive; gdb
                # shows the object's vtable intact. So this case runs in the release build only.
                self.skipTest("UBSan's vptr check fails without free descriptors (false positive)")
        held = []
        self.addCleanup(lambda: [c.close() for c in held])
        deadline = time.monotonic() + 10
        while len(held) < 80:
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=NET_TIMEOUT)
            except ConnectionRefusedError:
                self.assertLess(time.monotonic(), deadline, "ferryd did not come up")
                time.sleep(0.05)
                continue
            held.append(c)
        time.sleep(1.5)  # fifteen rounds of the accept loop's pause
        for c in held:
            c.close()
        held.clear()
        time.sleep(0.5)
        f = ftplib.FTP()
        f.connect("127.0.0.1", port, timeout=NET_TIMEOUT)  # accepting again
        f.login(srv.user, srv.password)
        f.quit()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("the descriptor limit is 48", err)
        # Once per episode (a descriptor freed in between may end one), not every 100 ms.
        failed, recovered = err.count("accept failed: Too many open files"), err.count("accepting connections again")
        self.assertGreaterEqual(recovered, 1, err)
        self.assertGreaterEqual(failed, 1, err)
        self.assertLessEqual(failed, recovered, err)

    def test_passive_port_exhaustion_answers_425_at_once(self):
        with FerryServer(passive_ports=(34567, 34567)) as srv:
            first = srv.ftp(login=False)
            self.addCleanup(close_quietly, first)
            first.login(srv.user, srv.password)
            first.sendcmd("PASV")  # holds the only port
            second = srv.ftp(login=False)
            self.addCleanup(close_quietly, second)
            second.login(srv.user, srv.password)
            started = time.monotonic()
            with self.assertRaises(ftplib.error_temp) as cm:
                second.sendcmd("PASV")
            self.assertTrue(str(cm.exception).startswith("425"))
            self.assertLess(time.monotonic() - started, 2)
            self.assertEqual(first.nlst(), ["ferry.png"])  # the holder still transfers


class DataTimeoutTest(unittest.TestCase):
    def test_a_data_connection_that_never_comes_gets_425(self):
        with FerryServer(data_timeout=1) as srv:
            f = srv.ftp(login=False)
            self.addCleanup(close_quietly, f)
            f.login(srv.user, srv.password)
            f.sendcmd("PASV")  # ...and never connect
            started = time.monotonic()
            with self.assertRaises(ftplib.error_temp) as cm:
                f.sendcmd("RETR ferry.png")
            self.assertTrue(str(cm.exception).startswith("425"))
            self.assertLess(time.monotonic() - started, 5)
            self.assertEqual(f.voidcmd("NOOP")[:3], "200")

    def test_a_stalled_upload_is_dropped_and_leaves_the_session_usable(self):
        with FerryServer(data_timeout=1, mounts=fs_local_mounts()) as srv:
            f = srv.ftp(login=False)
            self.addCleanup(close_quietly, f)
            f.login(srv.user, srv.password)
            conn = f.transfercmd("STOR slow.bin")
            conn.sendall(b"half a line")  # then nothing: a slowloris upload
            started = time.monotonic()
            with self.assertRaises(ftplib.error_temp) as cm:
                f.voidresp()
            self.assertTrue(str(cm.exception).startswith("426"))
            self.assertLess(time.monotonic() - started, 5)
            conn.close()
            self.assertEqual(f.voidcmd("NOOP")[:3], "200")

    def test_half_a_command_line_is_dropped_at_the_login_timeout(self):
        with FerryServer(login_timeout=1) as srv:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=NET_TIMEOUT)
            self.addCleanup(s.close)
            s.recv(1024)
            s.sendall(b"USER ali")  # no end of line, ever
            started = time.monotonic()
            data = b""
            while chunk := s.recv(1024):
                data += chunk
            self.assertIn(b"421", data)
            self.assertLess(time.monotonic() - started, 5)


if __name__ == "__main__":
    unittest.main()
