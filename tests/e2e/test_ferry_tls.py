"""The `ferry` client over FTPS: --tls (explicit, AUTH TLS) and ftps:// (implicit).

ferryd gets a self-signed certificate for 127.0.0.1 (made with openssl here) and, by
default, refuses data connections that do not resume the control connection's TLS
session — so every transfer below also proves that ferry resumes it.
"""

import hashlib
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import unittest

from ferryd_harness import ServerTestCase, fs_local_mounts, make_test_certificate, toml_str
from test_ferry_client import ClientTestMixin, run_ferry

CERT_DIR = None


def setUpModule():
    global CERT_DIR
    CERT_DIR = tempfile.mkdtemp(prefix="ferry-client-tls-")
    make_test_certificate(CERT_DIR)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def cert():
    return os.path.join(CERT_DIR, "cert.pem")


class FerryTlsTest(ClientTestMixin, ServerTestCase):
    @classmethod
    def setUpClass(cls):
        tls = ("[tls]\n"
               f"certificate = {toml_str(os.path.join(CERT_DIR, 'cert.pem'))}\n"
               f"private_key = {toml_str(os.path.join(CERT_DIR, 'key.pem'))}\n"
               'implicit_listen = ["127.0.0.1:0"]\n')
        cls.server_kwargs = {"mounts": fs_local_mounts(), "config_extra": tls}
        super().setUpClass()
        line = cls.server.wait_for_log(r"listening \(implicit FTPS\) on 127\.0\.0\.1:\d+", timeout=10)
        assert line, "no implicit FTPS listener"
        cls.implicit_port = int(line.rsplit(":", 1)[1])

    def setUp(self):
        self.home = self.make_tmp()

    def ferry(self, *args):
        return run_ferry(args, self.home, password=self.server.password)

    def put_remote(self, name, data):
        with open(os.path.join(self.server.user_root(), name), "wb") as f:
            f.write(data)

    def ftps_url(self, path):
        return f"ftps://{self.server.user}@127.0.0.1:{self.implicit_port}{path}"

    def test_get_over_explicit_tls_verifies_and_resumes_the_session(self):
        data = os.urandom(700_000)
        self.put_remote("tls-get.bin", data)
        mark = self.server.log_mark()
        run = self.ferry("-v", "--tls", "--ca-file", cert(), "get", self.server.url("/tls-get.bin"))
        self.assertExit(run, 0)
        self.assertIn("SHA-256 matches", run.stdout)
        with open(os.path.join(self.home, "tls-get.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(data).hexdigest())
        self.assertIn("> AUTH TLS", run.stderr)
        self.assertRegex(run.stderr, r"\* TLS established: TLSv1\.[23] \S+, certificate verified")
        self.assertIn("> PBSZ 0", run.stderr)
        self.assertIn("> PROT P", run.stderr)
        self.assertRegex(run.stderr, r"\* data connection TLS: TLSv1\.[23] \S+, session resumed")
        self.assertNotIn("did not resume", "\n".join(self.server.log_lines[mark:]))

    def test_ls_over_tls(self):
        self.put_remote("listed-over-tls.txt", b"hello")
        run = self.ferry("--tls", "--ca-file", cert(), "ls", self.server.url("/"))
        self.assertExit(run, 0)
        self.assertIn("listed-over-tls.txt", run.stdout)

    def test_put_over_tls(self):
        data = os.urandom(500_000)
        local = os.path.join(self.home, "up-tls.bin")
        with open(local, "wb") as f:
            f.write(data)
        run = self.ferry("--tls", "--ca-file", cert(), "put", local, self.server.url("/"))
        self.assertExit(run, 0)
        self.assertIn("SHA-256 matches", run.stdout)
        with open(os.path.join(self.server.user_root(), "up-tls.bin"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_mirror_with_parallel_connections_over_tls(self):
        tree = os.path.join(self.server.user_root(), "tls-tree")
        os.makedirs(os.path.join(tree, "sub"), exist_ok=True)
        files = {"a.bin": os.urandom(50_000), "b.bin": os.urandom(70_000), os.path.join("sub", "c.bin"): b"c" * 999}
        for name, data in files.items():
            with open(os.path.join(tree, name), "wb") as f:
                f.write(data)
        local = os.path.join(self.home, "copy")
        run = self.ferry("--tls", "--ca-file", cert(), "mirror", "-j", "2", self.server.url("/tls-tree/"), local)
        self.assertExit(run, 0)
        self.assertIn("3 files", run.stdout)
        for name, data in files.items():
            with open(os.path.join(local, name), "rb") as f:
                self.assertEqual(f.read(), data)

    def test_implicit_ftps_url(self):
        data = os.urandom(200_000)
        self.put_remote("implicit.bin", data)
        run = self.ferry("-v", "--ca-file", cert(), "get", self.ftps_url("/implicit.bin"))
        self.assertExit(run, 0)
        self.assertIn("SHA-256 matches", run.stdout)
        self.assertNotIn("> AUTH TLS", run.stderr)
        # The handshake comes before the greeting.
        self.assertLess(run.stderr.index("TLS established"), run.stderr.index("< 220"))
        with open(os.path.join(self.home, "implicit.bin"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_an_unknown_ca_is_a_connection_error(self):
        for url, extra in ((self.server.url("/"), ["--tls"]), (self.ftps_url("/"), [])):
            with self.subTest(url=url):
                run = self.ferry(*extra, "ls", url)
                self.assertExit(run, 3)
                self.assertOneLineError(run)
                self.assertIn("TLS: the server's certificate could not be verified (", run.stderr)
                self.assertIn("use --ca-file or --insecure", run.stderr)

    def test_a_certificate_for_another_host_is_refused(self):
        # The certificate names 127.0.0.1 only; "localhost" resolves to it but is not in it.
        run = self.ferry("--tls", "--ca-file", cert(), "ls", f"ftp://{self.server.user}@localhost:{self.server.port}/")
        if "connection refused" in run.stderr:
            self.skipTest("localhost does not resolve to 127.0.0.1 here")
        self.assertExit(run, 3)
        self.assertIn("could not be verified", run.stderr)

    def test_insecure_works_and_says_so(self):
        self.put_remote("insecure.txt", b"x" * 1000)
        run = self.ferry("-v", "-k", "--tls", "ls", self.server.url("/"))
        self.assertExit(run, 0)
        self.assertIn("insecure.txt", run.stdout)
        self.assertIn("ferry: warning: --insecure", run.stderr)
        self.assertIn("certificate NOT verified", run.stderr)

    def test_tls_options_without_tls_are_usage_errors(self):
        run = self.ferry("--ca-file", cert(), "ls", self.server.url("/"))
        self.assertExit(run, 2)
        run = self.ferry("--insecure", "ls", self.server.url("/"))
        self.assertExit(run, 2)

    def test_help_documents_tls(self):
        run = self.ferry("--help")
        self.assertExit(run, 0)
        for text in ("--tls", "--ca-file", "--insecure", "ftps://", "certificate that could not be verified"):
            self.assertIn(text, run.stdout)


class FakeFtpsServer:
    """A scripted explicit-FTPS server on 127.0.0.1:0 whose first STOR fails its data
    connection's TLS handshake (closed at once, then 425). Bounded: 30 s, 10 s per socket."""

    def __init__(self):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert(), os.path.join(CERT_DIR, "key.pem"))
        self.files = {}
        self.stors = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)
        self.listener.close()
        return False

    def _accept_loop(self):
        deadline = time.monotonic() + 30
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rb")
        data_listener = None

        def say(text):
            conn.sendall(text.encode() + b"\r\n")

        try:
            say("220 fake ftps")
            for _ in range(100):
                line = f.readline(4096).decode(errors="replace").rstrip("\r\n")
                if not line:
                    break
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                if verb == "AUTH":
                    say("234 go")
                    conn = self.ctx.wrap_socket(conn, server_side=True)
                    f = conn.makefile("rb")
                elif verb == "USER":
                    say("331 password please")
                elif verb == "PASS":
                    say("230 ok")
                elif verb in ("PBSZ", "PROT", "TYPE"):
                    say("200 ok")
                elif verb == "OPTS":
                    say("200 SHA-256")
                elif verb == "FEAT":
                    say("211-Features:\r\n EPSV\r\n HASH SHA-256*\r\n SIZE\r\n MLST type*;size*;\r\n211 End")
                elif verb == "SIZE":
                    say(f"213 {len(self.files[arg])}" if arg in self.files else "550 No such file")
                elif verb == "HASH":
                    if arg in self.files:
                        say(f"213 SHA-256 0-{len(self.files[arg])} {hashlib.sha256(self.files[arg]).hexdigest()} {arg}")
                    else:
                        say("550 No such file")
                elif verb == "MKD":
                    say(f'257 "{arg}" created')
                elif verb == "MLSD":
                    say("550 No such directory")
                elif verb == "EPSV":
                    data_listener = socket.create_server(("127.0.0.1", 0))
                    data_listener.settimeout(10)
                    say(f"229 Entering Extended Passive Mode (|||{data_listener.getsockname()[1]}|)")
                elif verb == "STOR":
                    self.stors += 1
                    say("150 go")
                    d, _ = data_listener.accept()
                    data_listener.close()
                    if self.stors == 1:
                        d.close()
                        say("425 TLS negotiation failed on the data connection")
                        continue
                    d = self.ctx.wrap_socket(d, server_side=True)
                    chunks = []
                    while True:
                        try:
                            chunk = d.recv(65536)
                        except (OSError, ssl.SSLError):
                            break
                        if not chunk:
                            break
                        chunks.append(chunk)
                    d.close()
                    self.files[arg] = b"".join(chunks)
                    say("226 stored")
                elif verb == "QUIT":
                    say("221 bye")
                    break
                else:
                    say("502 not here")
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            conn.close()


class FerryTlsDataFailureTest(ClientTestMixin, unittest.TestCase):
    def test_a_failed_data_handshake_keeps_the_control_connection_in_step(self):
        # The 425 that follows a failed data-connection handshake was left unread: every
        # later command took the previous one's reply, and every later file failed.
        home = self.make_tmp()
        tree = os.path.join(home, "tree")
        os.makedirs(tree)
        for name in ("a", "b", "c"):
            with open(os.path.join(tree, name), "wb") as f:
                f.write(name.encode() * 1000)
        with FakeFtpsServer() as srv:
            run = run_ferry(["--tls", "--ca-file", cert(), "mirror", "-R", tree,
                             f"ftp://alice@127.0.0.1:{srv.port}/r"], home, password="pw", timeout=30)
            files = dict(srv.files)
        self.assertExit(run, 1)
        self.assertIn("TLS handshake on the data connection", run.stderr)
        self.assertIn("mirror: 2 files (", run.stdout)
        self.assertIn(" 1 failed", run.stdout)
        self.assertEqual(files, {"/r/b": b"b" * 1000, "/r/c": b"c" * 1000})


if __name__ == "__main__":
    unittest.main()
