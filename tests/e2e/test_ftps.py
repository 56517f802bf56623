"""FTPS (RFC 4217) against curl, lftp, Python's ftplib.FTP_TLS and the refusals.

A self-signed certificate for 127.0.0.1 is made with openssl for the test run. Data
connections must resume the control connection's TLS session (on by default), so the
ftplib client here passes its session to the data socket; stock FTP_TLS, which does not,
is refused with 522 — and accepted once require_session_reuse = false.
"""

import ftplib
import hashlib
import io
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from ferryd_harness import (FERRYD, NET_TIMEOUT, FerryServer, ServerTestCase, close_quietly, fs_local_mounts,
                            make_test_certificate, subprocess_env, toml_str)

CERT_DIR = None


def setUpModule():
    global CERT_DIR
    CERT_DIR = tempfile.mkdtemp(prefix="ferry-tls-")
    make_test_certificate(CERT_DIR)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def tls_table(**extra):
    lines = ["[tls]", f"certificate = {toml_str(os.path.join(CERT_DIR, 'cert.pem'))}",
             f"private_key = {toml_str(os.path.join(CERT_DIR, 'key.pem'))}"]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def client_context():
    return ssl.create_default_context(cafile=os.path.join(CERT_DIR, "cert.pem"))


class SessionReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


class FtpsTestBase(ServerTestCase):
    tls_extra = {}

    @classmethod
    def setUpClass(cls):
        cls.server_kwargs = {"mounts": fs_local_mounts(),
                             "config_extra": tls_table(implicit_listen='["127.0.0.1:0"]', **cls.tls_extra)}
        super().setUpClass()
        line = cls.server.wait_for_log(r"listening \(implicit FTPS\) on 127\.0\.0\.1:\d+", timeout=10)
        cls.implicit_port = int(line.rsplit(":", 1)[1]) if line else None

    def tls_ftp(self, cls=SessionReusingFTP_TLS, prot_p=True, context=None):
        f = cls(context=context or client_context(), timeout=NET_TIMEOUT)
        self.addCleanup(close_quietly, f)
        f.connect("127.0.0.1", self.server.port)
        f.auth()
        f.login(self.server.user, self.server.password)
        if prot_p:
            f.prot_p()
        return f

    def curl(self, *args):
        netrc = os.path.join(self.server.dir, "curl.netrc")
        with open(netrc, "w") as f:
            f.write(f"machine 127.0.0.1 login {self.server.user} password {self.server.password}\n")
        return subprocess.run(["curl", "-sS", "--netrc-file", netrc, "--cacert", os.path.join(CERT_DIR, "cert.pem"),
                               "--max-time", "20", *args], capture_output=True, timeout=60)


class FtpsTest(FtpsTestBase):
    def test_feat_announces_auth_tls_pbsz_prot(self):
        f = ftplib.FTP(timeout=NET_TIMEOUT)
        self.addCleanup(close_quietly, f)
        f.connect("127.0.0.1", self.server.port)
        feat = f.sendcmd("FEAT")
        for line in (" AUTH TLS", " PBSZ", " PROT"):
            self.assertIn(line, feat.split("\n"))

    def test_ftplib_download_upload_listing_over_tls(self):
        f = self.tls_ftp()
        data = os.urandom(300_000)
        f.storbinary("STOR secret.bin", io.BytesIO(data))
        with open(os.path.join(self.server.user_root(), "secret.bin"), "rb") as disk:
            self.assertEqual(disk.read(), data)
        out = io.BytesIO()
        f.retrbinary("RETR secret.bin", out.write)
        self.assertEqual(out.getvalue(), data)
        self.assertIn("secret.bin", f.nlst())
        image = io.BytesIO()
        f.retrbinary("RETR /welcome/ferry.png", image.write)
        self.assertEqual(image.getvalue(), self.server.image_bytes)

    def test_a_data_connection_that_does_not_resume_the_session_is_refused(self):
        f = self.tls_ftp(cls=ftplib.FTP_TLS)  # stock ftplib: a fresh TLS session per data connection
        with self.assertRaises(ftplib.error_perm) as cm:
            f.nlst()
        self.assertTrue(str(cm.exception).startswith("522"), str(cm.exception))
        self.assertIsNotNone(self.server.wait_for_log(r"did not resume the control session"))

    def test_another_client_resuming_its_own_session_cannot_take_the_data_connection(self):
        # Same address (say, behind one NAT), its own TLS session, never logged in: it
        # resumes that session on the victim's passive port. That must not pass for the
        # victim's session, with TLS 1.2 session ids (made in the handshake: the server waits
        # a few seconds for that connection's login, which never comes) or TLS 1.3 (no
        # ticket before a login: the data connection is a new session, not a resumed one).
        with open(os.path.join(self.server.user_root(), "victim.txt"), "wb") as fh:
            fh.write(b"the victim's secret\n")
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            with self.subTest(version=version.name):
                context = client_context()
                context.maximum_version = version
                victim = self.tls_ftp(context=context)
                victim.voidcmd("TYPE I")
                port = ftplib.parse229(victim.sendcmd("EPSV"), victim.sock.getpeername())[1]
                victim.putcmd("RETR victim.txt")
                attacker = ftplib.FTP_TLS(context=context, timeout=NET_TIMEOUT)
                self.addCleanup(close_quietly, attacker)
                attacker.connect("127.0.0.1", self.server.port)
                attacker.auth()
                attacker.voidcmd("NOOP")  # TLS 1.3: a ticket, had one been sent, has arrived
                self.assertEqual(attacker.sock.version(), version.name.replace("v1_", "v1."))
                raw = socket.create_connection(("127.0.0.1", port), timeout=NET_TIMEOUT)
                stolen = b""
                try:
                    conn = context.wrap_socket(raw, server_hostname="127.0.0.1", session=attacker.sock.session)
                    self.addCleanup(close_quietly, conn)
                    while chunk := conn.recv(4096):
                        stolen += chunk
                except (ssl.SSLError, OSError):
                    raw.close()
                self.assertEqual(stolen, b"")
                self.assertTrue(victim.getresp().startswith("150"))
                with self.assertRaises(ftplib.error_perm) as cm:
                    victim.getresp()
                self.assertTrue(str(cm.exception).startswith("522"), str(cm.exception))
                out = io.BytesIO()  # the victim's own next transfer still works
                victim.retrbinary("RETR victim.txt", out.write)
                self.assertEqual(out.getvalue(), b"the victim's secret\n")

    def test_prot_c_keeps_data_in_clear_when_allowed(self):
        f = self.tls_ftp(prot_p=False)
        self.assertEqual(f.sendcmd("PBSZ 0")[:3], "200")
        self.assertEqual(f.sendcmd("PROT C")[:3], "200")
        self.assertIn("welcome", f.nlst())

    def test_refusals_pbsz_prot_ccc_auth(self):
        plain = ftplib.FTP(timeout=NET_TIMEOUT)
        self.addCleanup(close_quietly, plain)
        plain.connect("127.0.0.1", self.server.port)
        for cmd, code in (("PBSZ 0", "503"), ("PROT P", "503"), ("AUTH GSSAPI", "504")):
            with self.assertRaises(ftplib.error_perm, msg=cmd) as cm:
                plain.sendcmd(cmd)
            self.assertTrue(str(cm.exception).startswith(code), (cmd, str(cm.exception)))
        f = self.tls_ftp(prot_p=False)
        with self.assertRaises(ftplib.error_perm) as cm:
            f.sendcmd("PROT P")  # before PBSZ
        self.assertTrue(str(cm.exception).startswith("503"))
        f.sendcmd("PBSZ 0")
        for cmd, code in (("PROT S", "536"), ("PROT X", "504"), ("CCC", "534"), ("AUTH TLS", "503")):
            with self.assertRaises(ftplib.error_perm, msg=cmd) as cm:
                f.sendcmd(cmd)
            self.assertTrue(str(cm.exception).startswith(code), (cmd, str(cm.exception)))
        self.assertEqual(f.voidcmd("NOOP")[:3], "200")  # still a working, protected session

    def test_abor_during_a_tls_download(self):
        big = os.urandom(48 * 1024 * 1024)
        with open(os.path.join(self.server.user_root(), "big.bin"), "wb") as disk:
            disk.write(big)
        f = self.tls_ftp()
        f.voidcmd("TYPE I")
        conn = f.transfercmd("RETR big.bin")
        try:
            self.assertGreater(len(conn.recv(65536)), 0)
            f.putcmd("ABOR")  # over TLS there is no urgent data: the plain command
            with self.assertRaises(ftplib.error_temp) as cm:
                f.getresp()
            self.assertTrue(str(cm.exception).startswith("426"))
            self.assertTrue(f.getresp().startswith("226"))
        finally:
            try:
                conn.close()
            except OSError:
                pass
        self.assertEqual(f.size("big.bin"), len(big))

    def test_curl_ssl_reqd_download_upload_listing(self):
        up = os.path.join(self.server.dir, "up.txt")
        with open(up, "wb") as f:
            f.write(b"over tls\n")
        r = self.curl("--ssl-reqd", "-T", up, f"ftp://127.0.0.1:{self.server.port}/curl-up.txt")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.server.user_root(), "curl-up.txt"), "rb") as f:
            self.assertEqual(f.read(), b"over tls\n")
        r = self.curl("--ssl-reqd", f"ftp://127.0.0.1:{self.server.port}/welcome/ferry.png")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.server.image_bytes)
        r = self.curl("--ssl-reqd", "-l", f"ftp://127.0.0.1:{self.server.port}/")
        self.assertIn(b"curl-up.txt", r.stdout)

    def test_implicit_ftps_with_curl(self):
        self.assertIsNotNone(self.implicit_port, "no implicit FTPS listener logged")
        r = self.curl(f"ftps://127.0.0.1:{self.implicit_port}/welcome/ferry.png")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.server.image_bytes)

    def test_lftp_with_ssl_force(self):
        out = os.path.join(self.server.dir, "lftp.png")
        script = (f"set ftp:ssl-force true; set ftp:ssl-protect-data true; "
                  f"set ssl:ca-file {os.path.join(CERT_DIR, 'cert.pem')}; set net:max-retries 1; set net:timeout 5; "
                  f"open -u {self.server.user},{self.server.password} -p {self.server.port} 127.0.0.1; "
                  f"get welcome/ferry.png -o {out}; ls\n")
        r = subprocess.run(["lftp"], input=script.encode(), capture_output=True, timeout=60,
                           env=subprocess_env(self.server.dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), self.server.image_bytes)
        self.assertIn(b"welcome", r.stdout)


class FtpsRequiredTest(FtpsTestBase):
    tls_extra = {"require": "true"}

    def test_login_before_auth_tls_is_refused(self):
        f = ftplib.FTP(timeout=NET_TIMEOUT)
        self.addCleanup(close_quietly, f)
        f.connect("127.0.0.1", self.server.port)
        with self.assertRaises(ftplib.error_perm) as cm:
            f.login(self.server.user, self.server.password)
        self.assertTrue(str(cm.exception).startswith("530"))

    def test_clear_data_is_refused(self):
        f = self.tls_ftp(prot_p=False)
        with self.assertRaises(ftplib.error_perm) as cm:
            f.nlst()
        self.assertTrue(str(cm.exception).startswith("521"))
        with self.assertRaises(ftplib.error_perm) as cm:  # refused before the file is touched
            f.storbinary("STOR in-clear.txt", io.BytesIO(b"plain"))
        self.assertTrue(str(cm.exception).startswith("521"))
        self.assertFalse(os.path.exists(os.path.join(self.server.user_root(), "in-clear.txt")))
        f.sendcmd("PBSZ 0")
        with self.assertRaises(ftplib.error_perm) as cm:
            f.sendcmd("PROT C")
        self.assertTrue(str(cm.exception).startswith("534"))
        f.prot_p()
        self.assertIn("welcome", f.nlst())


class FtpsWithoutSessionReuseTest(FtpsTestBase):
    tls_extra = {"require_session_reuse": "false"}

    def test_stock_ftplib_works_when_reuse_is_not_required(self):
        f = self.tls_ftp(cls=ftplib.FTP_TLS)
        self.assertIn("welcome", f.nlst())


class TlsConfigErrorsTest(unittest.TestCase):
    def check_fails(self, tls, expect):
        srv = FerryServer(config_extra=tls)
        srv.write_files()
        try:
            r = subprocess.run([FERRYD, "--config", srv.config_path, "--check"],
                               capture_output=True, text=True, timeout=30)
        finally:
            srv.cleanup()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, expect)

    def test_missing_certificate_file(self):
        self.check_fails('[tls]\ncertificate = "nope.pem"\nprivate_key = "nope.pem"\n', r"\[tls\] certificate .*nope\.pem")

    def test_key_not_matching_certificate(self):
        other = os.path.join(CERT_DIR, "other.pem")
        subprocess.run(["openssl", "genrsa", "-out", other, "2048"], check=True, capture_output=True, timeout=60)
        self.check_fails(f"[tls]\ncertificate = {toml_str(os.path.join(CERT_DIR, 'cert.pem'))}\n"
                         f"private_key = {toml_str(other)}\n", r"private_key .*other\.pem: .*(key values mismatch|does not belong)")

    def test_unknown_tls_key(self):
        self.check_fails(tls_table(colour='"red"'), r"config\.toml:\d+:\d+: unknown key 'tls\.colour'")

    def test_missing_private_key(self):
        self.check_fails(f"[tls]\ncertificate = {toml_str(os.path.join(CERT_DIR, 'cert.pem'))}\n",
                         r"\[tls\] needs 'private_key'")


if __name__ == "__main__":
    unittest.main()
