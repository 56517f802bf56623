"""FTPS over TLS 1.3 with the clients people use: whole uploads and downloads in a row,
rclone's shared session cache, and whose TLS session a data connection may resume.

Under TLS 1.3 a server sends session tickets after the handshake. On a data connection
that was a write the client never reads: an uploading client sends its data and closes,
the late ticket makes its kernel answer with a reset, and the upload still queued at the
server was lost (curl: 426 after ~112 KiB, one upload in four). These tests failed then.

The rule for resumption (README, FTPS): a data connection must resume a TLS session made
by a control connection of the same user from the same address. rclone resumes one
control connection's session on another's data connection (one cache for all); another
account, even from the same address, gets 522.
"""

import ftplib
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from ferryd_harness import (NET_TIMEOUT, FerryServer, ServerTestCase, close_quietly, fs_local_mounts, make_test_certificate,
                            make_users_file, subprocess_env, toml_str)

CERT_DIR = None
UPLOADS = 20
SIZE = 1024 * 1024


def setUpModule():
    global CERT_DIR
    CERT_DIR = tempfile.mkdtemp(prefix="ferry-tls13-")
    make_test_certificate(CERT_DIR)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def cafile():
    return os.path.join(CERT_DIR, "cert.pem")


class Ftps13Test(ServerTestCase):
    """One ferryd with FTPS on an explicit and an implicit listener, two accounts."""

    @classmethod
    def setUpClass(cls):
        cls.server_kwargs = {
            "mounts": fs_local_mounts(),
            "config_extra": "[tls]\n"
                            f"certificate = {toml_str(cafile())}\n"
                            f"private_key = {toml_str(os.path.join(CERT_DIR, 'key.pem'))}\n"
                            'implicit_listen = ["127.0.0.1:0"]\n',
        }
        cls.server = FerryServer(**cls.server_kwargs)
        try:
            cls.server.write_files()
            cls.other_password = "pw-bob-" + os.urandom(4).hex()  # a second account
            make_users_file(cls.server.users_path, "bob", cls.other_password)
            cls.server.user_root(user="bob")
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise
        line = cls.server.wait_for_log(r"listening \(implicit FTPS\) on 127\.0\.0\.1:\d+", timeout=10)
        assert line, "no implicit FTPS listener"
        cls.implicit_port = int(line.rsplit(":", 1)[1])
        cls.work = tempfile.mkdtemp(prefix="ferry-tls13-work-")
        cls.upload_dir = os.path.join(cls.work, "payload")  # what mirror and rclone send: only these
        os.mkdir(cls.upload_dir)
        cls.payloads = []
        for i in range(UPLOADS):
            path = os.path.join(cls.upload_dir, f"up{i:02}.bin")
            with open(path, "wb") as f:
                f.write(os.urandom(SIZE))
            cls.payloads.append(path)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        super().tearDownClass()

    def root(self):
        return self.server.user_root()

    def assert_arrived_whole(self, remote_dir):
        for path in self.payloads:
            with open(path, "rb") as f:
                want = hashlib.sha256(f.read()).hexdigest()
            arrived = os.path.join(self.root(), remote_dir, os.path.basename(path))
            self.assertTrue(os.path.exists(arrived), f"{arrived} missing; log:\n{self.server.log_text()[-3000:]}")
            with open(arrived, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), want, arrived)

    # ---- curl ---------------------------------------------------------------------------
    def curl(self, *args):
        netrc = os.path.join(self.work, "netrc")
        with open(netrc, "w") as f:
            f.write(f"machine 127.0.0.1 login {self.server.user} password {self.server.password}\n")
        return subprocess.run(["curl", "-sS", "--netrc-file", netrc, "--cacert", cafile(), "--tlsv1.3",
                               "--max-time", "30", *args], capture_output=True, timeout=60,
                              env=subprocess_env(self.work))

    def curl_uploads_and_downloads(self, base, remote_dir, *tls_args):
        os.makedirs(os.path.join(self.root(), remote_dir), exist_ok=True)
        for path in self.payloads:  # one curl each: 20 handshakes on the control connection too
            r = self.curl(*tls_args, "-T", path, f"{base}/{remote_dir}/")
            self.assertEqual(r.returncode, 0, f"{path}: {r.stderr.decode()}\n{self.server.log_text()[-2000:]}")
        self.assert_arrived_whole(remote_dir)
        for path in self.payloads:
            r = self.curl(*tls_args, f"{base}/{remote_dir}/{os.path.basename(path)}")
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path, "rb") as f:
                self.assertEqual(r.stdout, f.read())
        self.assertNotIn("transfer failed", self.server.log_text())

    def test_curl_explicit_ftps_20_uploads_and_downloads_over_tls13(self):
        self.curl_uploads_and_downloads(f"ftp://127.0.0.1:{self.server.port}", "curl-explicit", "--ssl-reqd")

    def test_curl_implicit_ftps_20_uploads_and_downloads_over_tls13(self):
        self.curl_uploads_and_downloads(f"ftps://127.0.0.1:{self.implicit_port}", "curl-implicit")

    # ---- lftp ---------------------------------------------------------------------------
    def lftp(self, commands, port, implicit=False):
        scheme = "ftps" if implicit else "ftp"
        script = ("set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate true; "
                  f"set ssl:ca-file {cafile()}; set net:max-retries 1; set net:timeout 10; set xfer:clobber on; "
                  f"open -u {self.server.user},{self.server.password} {scheme}://127.0.0.1:{port}; "
                  + commands + "\n")
        return subprocess.run(["lftp"], input=script.encode(), capture_output=True, timeout=180,
                              env=subprocess_env(self.work))

    def test_lftp_put_and_mirror_reverse_over_tls13(self):
        os.makedirs(os.path.join(self.root(), "lftp-put"), exist_ok=True)
        puts = "; ".join(f"put {p} -o lftp-put/{os.path.basename(p)}" for p in self.payloads)
        r = self.lftp(puts, self.server.port)
        self.assertEqual(r.returncode, 0, r.stderr.decode() + self.server.log_text()[-2000:])
        self.assert_arrived_whole("lftp-put")
        r = self.lftp(f"mirror -R {self.upload_dir} lftp-mirror", self.implicit_port, implicit=True)
        self.assertEqual(r.returncode, 0, r.stderr.decode() + self.server.log_text()[-2000:])
        self.assert_arrived_whole("lftp-mirror")
        back = tempfile.mkdtemp(dir=self.work, prefix="back-")
        r = self.lftp(f"mirror lftp-mirror {back}", self.server.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        for path in self.payloads:
            with open(path, "rb") as a, open(os.path.join(back, os.path.basename(path)), "rb") as b:
                self.assertEqual(a.read(), b.read())

    # ---- rclone -------------------------------------------------------------------------
    def rclone(self, *args, implicit=False):
        obscured = subprocess.run(["rclone", "obscure", self.server.password], capture_output=True, text=True,
                                  check=True, timeout=30).stdout.strip()
        port = self.implicit_port if implicit else self.server.port
        tls = "tls=true" if implicit else "explicit_tls=true"
        remote = f":ftp,host=127.0.0.1,port={port},user={self.server.user},pass={obscured},{tls}:"
        env = subprocess_env(self.work, SSL_CERT_FILE=cafile(), RCLONE_CONFIG=os.path.join(self.work, "rclone.conf"))
        return subprocess.run(["rclone", "--low-level-retries", "1", "--retries", "1", "--contimeout", "10s",
                               "--timeout", "30s", *[a.replace("REMOTE:", remote) for a in args]],
                              capture_output=True, text=True, timeout=240, env=env)

    def check_rclone(self, implicit):
        name = "rclone-implicit" if implicit else "rclone-explicit"
        r = self.rclone("copy", self.upload_dir, f"REMOTE:{name}", implicit=implicit)
        self.assertEqual(r.returncode, 0, r.stderr + self.server.log_text()[-2000:])
        self.assert_arrived_whole(name)
        r = self.rclone("check", self.upload_dir, f"REMOTE:{name}", implicit=implicit)
        self.assertEqual(r.returncode, 0, r.stderr)
        extra = os.path.join(self.root(), name, "only-on-server.txt")
        with open(extra, "w") as f:
            f.write("sync removes me\n")
        r = self.rclone("sync", self.upload_dir, f"REMOTE:{name}", implicit=implicit)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(extra))
        back = tempfile.mkdtemp(dir=self.work, prefix="rclone-back-")
        r = self.rclone("copy", f"REMOTE:{name}", back, implicit=implicit)
        self.assertEqual(r.returncode, 0, r.stderr)
        for path in self.payloads:
            with open(path, "rb") as a, open(os.path.join(back, os.path.basename(path)), "rb") as b:
                self.assertEqual(a.read(), b.read())
        r = self.rclone("check", back, f"REMOTE:{name}", implicit=implicit)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("TLS session of another login", self.server.log_text())

    def test_rclone_copy_sync_check_over_explicit_ftps(self):
        self.check_rclone(implicit=False)

    def test_rclone_copy_sync_check_over_implicit_ftps(self):
        self.check_rclone(implicit=True)

    # ---- whose session ------------------------------------------------------------------
    def login_tls(self, user, password, context):
        f = ftplib.FTP_TLS(context=context, timeout=NET_TIMEOUT)
        self.addCleanup(close_quietly, f)
        f.connect("127.0.0.1", self.server.port)
        f.auth()
        f.login(user, password)
        f.prot_p()
        f.voidcmd("TYPE I")
        return f

    def retr_resuming(self, control, session, context, name):
        """RETR on `control`'s passive port, the data connection resuming `session`."""
        port = ftplib.parse229(control.sendcmd("EPSV"), control.sock.getpeername())[1]
        control.putcmd(f"RETR {name}")
        raw = socket.create_connection(("127.0.0.1", port), timeout=NET_TIMEOUT)
        got = b""
        try:
            conn = context.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
            try:
                while chunk := conn.recv(65536):
                    got += chunk
            finally:
                conn.close()
        except (ssl.SSLError, OSError):
            raw.close()
        return got

    def test_a_data_connection_may_resume_a_session_of_the_same_login_only(self):
        with open(os.path.join(self.root(), "mine.txt"), "wb") as fh:
            fh.write(b"alice's file\n")
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            with self.subTest(version=version.name):
                context = ssl.create_default_context(cafile=cafile())
                context.maximum_version = version
                victim = self.login_tls(self.server.user, self.server.password, context)
                # Another connection of the same user from the same address (rclone's pool): ok.
                sibling = self.login_tls(self.server.user, self.server.password, context)
                sibling.voidcmd("NOOP")  # TLS 1.3: its tickets have arrived
                got = self.retr_resuming(victim, sibling.sock.session, context, "mine.txt")
                self.assertEqual(got, b"alice's file\n")
                self.assertTrue(victim.getresp().startswith("150"))
                self.assertTrue(victim.voidresp().startswith("226"))
                # Another account from the same address: 522, nothing sent.
                bob = self.login_tls("bob", self.other_password, context)
                bob.voidcmd("NOOP")
                mark = self.server.log_mark()
                self.assert_refused(victim, bob.sock.session, context)
                self.assertIsNotNone(self.server.wait_for_log(r"resumed a session not of user alice", start=mark))
                # A session whose connection logged out (REIN) is no longer alice's.
                sibling.sendcmd("REIN")
                self.assert_refused(victim, sibling.sock.session, context)
                # The victim's own session still works.
                got = self.retr_resuming(victim, victim.sock.session, context, "mine.txt")
                self.assertTrue(victim.getresp().startswith("150"))
                self.assertTrue(victim.voidresp().startswith("226"))
                self.assertEqual(got, b"alice's file\n")

    def assert_refused(self, control, session, context):
        """RETR on `control` with a data connection resuming `session`: 150, no byte, 522."""
        stolen = self.retr_resuming(control, session, context, "mine.txt")
        self.assertEqual(stolen, b"")
        self.assertTrue(control.getresp().startswith("150"))
        with self.assertRaises(ftplib.error_perm) as cm:
            control.getresp()
        self.assertTrue(str(cm.exception).startswith("522"), str(cm.exception))


if __name__ == "__main__":
    unittest.main()
