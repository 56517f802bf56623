"""The `ferry` client over FTPS: --tls (explicit, AUTH TLS) and ftps:// (implicit).

ferryd gets a self-signed certificate for 127.0.0.1 (made with openssl here) and, by
default, refuses data connections that do not resume the control connection's TLS
session — so every transfer below also proves that ferry resumes it.
"""

import hashlib
import os
import shutil
import tempfile
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


if __name__ == "__main__":
    unittest.main()
