"""curl against ferryd with a writable fs_local at "/" and send_png at "/welcome".

Uploads (-T), resumed uploads and downloads (-C -), --ftp-create-dirs, listings, quote
commands (-Q) and their refusals. Content is compared with what is on disk under the
user's root. The password reaches curl through a netrc file, never argv.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
import unittest

from ferryd_harness import ServerTestCase, fs_local_mounts, subprocess_env

CURL = shutil.which("curl")


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@unittest.skipUnless(CURL, "curl not installed")
class CurlInteropTest(ServerTestCase):
    server_kwargs = {"mounts": fs_local_mounts()}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.server.user_root()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ferry-curl-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.netrc = os.path.join(self.tmp, "netrc")
        with open(self.netrc, "w") as f:
            f.write(f"machine 127.0.0.1 login {self.server.user} password {self.server.password}\n")
        os.chmod(self.netrc, 0o600)

    # ----- helpers ----------------------------------------------------------------
    def curl(self, path, *args, timeout=60):
        url = f"ftp://127.0.0.1:{self.server.port}{path}"
        cmd = [CURL, "--silent", "--show-error", "--max-time", "30", "--connect-timeout", "5",
               "--noproxy", "*", "--netrc-file", self.netrc] + list(args) + [url]
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=timeout, cwd=self.tmp,
                              env=subprocess_env(self.tmp))

    def ok(self, p):
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        return p.stdout

    def name(self, suffix=""):
        return f"{self._testMethodName}{suffix}"

    def disk(self, rel):
        return os.path.join(self.root, rel)

    def local(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def assert_same(self, disk_rel, data):
        path = self.disk(disk_rel)
        self.assertTrue(os.path.isfile(path), path)
        self.assertEqual(os.path.getsize(path), len(data))
        self.assertEqual(file_sha(path), hashlib.sha256(data).hexdigest())

    # ----- uploads ----------------------------------------------------------------
    def test_upload(self):
        data = os.urandom((2 << 20) + 3)
        src = self.local("up.bin", data)
        self.ok(self.curl(f"/{self.name('.bin')}", "-T", src))
        self.assert_same(self.name(".bin"), data)
        # A URL ending in "/" takes the local file's name.
        os.mkdir(self.disk(self.name("-dir")))
        self.ok(self.curl(f"/{self.name('-dir')}/", "-T", src))
        self.assert_same(f"{self.name('-dir')}/up.bin", data)
        # Overwrite with smaller content.
        small = self.local("small.bin", b"small")
        self.ok(self.curl(f"/{self.name('.bin')}", "-T", small))
        self.assert_same(self.name(".bin"), b"small")

    def test_upload_empty_file(self):
        src = self.local("empty", b"")
        self.ok(self.curl(f"/{self.name()}", "-T", src))
        self.assert_same(self.name(), b"")

    def test_upload_active_mode(self):
        data = os.urandom(300_000)
        src = self.local("up.bin", data)
        self.ok(self.curl(f"/{self.name('-eprt.bin')}", "-T", src, "-P", "127.0.0.1"))
        self.assert_same(self.name("-eprt.bin"), data)
        self.ok(self.curl(f"/{self.name('-port.bin')}", "-T", src, "-P", "127.0.0.1", "--disable-eprt"))
        self.assert_same(self.name("-port.bin"), data)
        p = self.curl(f"/{self.name('-port.bin')}", "-P", "127.0.0.1", "--disable-eprt")
        self.assertEqual(self.ok(p), data)

    def test_resume_upload(self):
        data = os.urandom((1 << 20) + 12345)
        name = self.name(".bin")
        # The remote holds a prefix (a broken-off upload) ...
        self.ok(self.curl(f"/{name}", "-T", self.local("prefix.bin", data[:400_000])))
        self.assert_same(name, data[:400_000])
        # ... and -C - sends only the rest.
        p = self.curl(f"/{name}", "-v", "-C", "-", "-T", self.local("full.bin", data))
        self.ok(p)
        trace = p.stderr.decode(errors="replace")
        self.assertRegex(trace, r"> (APPE|STOR) ")
        self.assert_same(name, data)

    def test_create_dirs(self):
        data = os.urandom(5000)
        rel = f"{self.name()}/nested/deeper/fähre/file.bin"
        self.ok(self.curl("/" + rel, "-T", self.local("f.bin", data), "--ftp-create-dirs"))
        self.assert_same(rel, data)
        # Again into the now existing tree, a sibling directory.
        rel2 = f"{self.name()}/nested/other/file.bin"
        self.ok(self.curl("/" + rel2, "-T", self.local("f.bin", data), "--ftp-create-dirs"))
        self.assert_same(rel2, data)
        # Without the option a missing directory fails the upload.
        p = self.curl(f"/{self.name()}/missing/x.bin", "-T", self.local("f.bin", data))
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(self.disk(f"{self.name()}/missing")))

    def test_upload_into_welcome_is_refused(self):
        p = self.curl("/welcome/x.bin", "-v", "-T", self.local("x.bin", b"x"))
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr.decode(errors="replace"), r"< 55[03] ")
        p = self.curl("/welcome/ferry.png", "-v", "-T", self.local("x.bin", b"x"))
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr.decode(errors="replace"), r"< 55[03] ")
        self.assertEqual(self.ok(self.curl("/welcome/ferry.png")), self.server.image_bytes)

    # ----- downloads --------------------------------------------------------------
    def test_download(self):
        data = os.urandom(700_001)
        name = self.name(".bin")
        with open(self.disk(name), "wb") as f:
            f.write(data)
        self.assertEqual(self.ok(self.curl(f"/{name}")), data)

    def test_resume_download(self):
        data = os.urandom((1 << 20) + 999)
        name = self.name(".bin")
        with open(self.disk(name), "wb") as f:
            f.write(data)
        out = self.local("partial.bin", data[:300_000])
        p = self.curl(f"/{name}", "-v", "-C", "-", "-o", out)
        self.ok(p)
        self.assertIn("> REST 300000", p.stderr.decode(errors="replace"))
        self.assertEqual(file_sha(out), hashlib.sha256(data).hexdigest())

    # ----- listings ---------------------------------------------------------------
    def test_listing(self):
        d = self.name()
        os.makedirs(self.disk(f"{d}/sub"))
        for n, content in (("a.txt", b"aaa"), ("über.bin", b"u" * 1234)):
            with open(self.disk(f"{d}/{n}"), "wb") as f:
                f.write(content)
        # (curl turns the ASCII listing's CRLF into LF, so split on either)
        names = self.ok(self.curl(f"/{d}/", "-l")).decode().splitlines()
        self.assertEqual(sorted(n for n in names if n), ["a.txt", "sub", "über.bin"])
        lines = self.ok(self.curl(f"/{d}/")).decode().splitlines()
        self.assertEqual(len(lines), 3, lines)
        by_name = {ln.split()[-1]: ln for ln in lines}
        self.assertTrue(by_name["sub"].startswith("d"), lines)
        self.assertIn(" 1234 ", by_name["über.bin"])
        self.assertTrue(by_name["a.txt"].startswith("-"), lines)
        root = self.ok(self.curl("/", "-l")).decode().splitlines()
        self.assertIn("welcome", root)
        self.assertIn(d, root)

    # ----- quote commands ----------------------------------------------------------
    def test_quote_dele_mkd_rmd(self):
        d, f = self.name("-d"), self.name("-f")
        with open(self.disk(f), "wb") as fh:
            fh.write(b"bye")
        self.ok(self.curl("/", "-Q", f"DELE {f}", "-Q", f"MKD {d}", "-o", os.devnull))
        self.assertFalse(os.path.exists(self.disk(f)))
        self.assertTrue(os.path.isdir(self.disk(d)))
        self.ok(self.curl("/", "-Q", f"RMD {d}", "-o", os.devnull))
        self.assertFalse(os.path.exists(self.disk(d)))

    def test_quote_rename(self):
        a, b = self.name("-a"), self.name("-b")
        data = os.urandom(4321)
        with open(self.disk(a), "wb") as fh:
            fh.write(data)
        self.ok(self.curl("/", "-Q", f"RNFR {a}", "-Q", f"RNTO {b}", "-o", os.devnull))
        self.assertFalse(os.path.exists(self.disk(a)))
        self.assert_same(b, data)
        # Quote commands after the transfer (-Q "-CMD") too.
        self.ok(self.curl(f"/{b}", "-Q", f"-RNFR /{b}", "-Q", f"-RNTO /{a}", "-o", os.devnull))
        self.assert_same(a, data)

    def test_quote_refusals(self):
        a = self.name("-a")
        with open(self.disk(a), "wb") as fh:
            fh.write(b"stay")
        cases = [
            (["-Q", f"DELE {self.name('-missing')}"], "550"),
            (["-Q", f"RMD {self.name('-missing')}"], "550"),
            (["-Q", f"RNTO {a}-x"], "503"),
            (["-Q", f"RNFR /{a}", "-Q", f"RNTO /welcome/{a}"], "553"),
            (["-Q", "DELE /welcome/ferry.png"], "55"),
        ]
        for args, code in cases:
            p = self.curl("/", *args, "-o", os.devnull)
            self.assertEqual(p.returncode, 21, (args, p.stderr))  # CURLE_QUOTE_ERROR
            self.assertIn(f"QUOT command failed with {code}", p.stderr.decode(errors="replace"), args)
        self.assert_same(a, b"stay")
        self.assertTrue(os.path.isfile(self.server.image_path))


if __name__ == "__main__":
    unittest.main()
