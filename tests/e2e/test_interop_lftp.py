"""lftp against ferryd with a writable fs_local at "/": mirror both ways, resume both ways.

The tree has nested and empty directories, empty files, a few MiB of random data and UTF-8
names; after each direction the two trees must be identical (names, types, sha256) and
lftp's own up-to-date check must find nothing left to transfer. The script (with the
password) is fed on stdin, never argv.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
import unittest

from ferryd_harness import ServerTestCase, fs_local_mounts, subprocess_env

LFTP = shutil.which("lftp")
SETTINGS = ("set net:max-retries 1; set net:timeout 5; set net:reconnect-interval-base 1; "
            "set ftp:ssl-allow no; set cmd:fail-exit yes; set xfer:clobber on")


def make_tree(base, seed):
    """Write the test tree under `base`; returns nothing (compare with tree_digest)."""
    rnd = __import__("random").Random(seed)

    def blob(n):
        return bytes(rnd.getrandbits(8) for _ in range(n)) if n < 4096 else os.urandom(n)

    files = {
        "fähre/über.txt": "Grüße aus der Fähre\n".encode(),
        "日本.bin": blob((2 << 20) + 17),
        "empty.txt": b"",
        "nested/a/b/c/deep.bin": blob((1 << 20) + 5),
        "nested/a/b/c/empty": b"",
        "nested/a/sibling.txt": b"sibling\r\nwith CRLF\r\n",
        "name with spaces.txt": blob(100),
        "ñ/ü/ß.dat": blob(3000),
    }
    for rel, data in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    os.makedirs(os.path.join(base, "emptydir"), exist_ok=True)
    os.makedirs(os.path.join(base, "nested/empty-leaf"), exist_ok=True)


def tree_digest(base):
    """{relative path: "dir" | (size, sha256)} for everything under base."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        rel_dir = os.path.relpath(dirpath, base)
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel_dir, d))] = "dir"
        for n in filenames:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                data = f.read()
            out[os.path.normpath(os.path.join(rel_dir, n))] = (len(data), hashlib.sha256(data).hexdigest())
    return out


def file_mtimes(base):
    out = {}
    for dirpath, _, filenames in os.walk(base):
        for n in filenames:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, base)] = int(os.stat(p).st_mtime)
    return out


@unittest.skipUnless(LFTP, "lftp not installed")
class LftpInteropTest(ServerTestCase):
    server_kwargs = {"mounts": fs_local_mounts()}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.server.user_root()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ferry-lftp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def lftp(self, commands, timeout=90):
        script = (f"{SETTINGS}\n"
                  f"open -u {self.server.user},{self.server.password} -p {self.server.port} 127.0.0.1\n"
                  + "\n".join(commands) + "\nbye\n")
        env = subprocess_env(self.tmp, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        p = subprocess.run([LFTP, "-f", "/dev/stdin"], input=script.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, cwd=self.tmp, env=env)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace") + p.stdout.decode(errors="replace"))
        return p.stdout.decode(errors="replace")

    def assert_same_tree(self, a, b):
        da, db = tree_digest(a), tree_digest(b)
        self.assertEqual(sorted(da), sorted(db))
        self.assertEqual(da, db)

    def test_mirror_reverse_uploads_an_identical_tree(self):
        src = os.path.join(self.tmp, "src")
        make_tree(src, 1)
        self.lftp([f"mirror -R {src} /up"])
        remote = os.path.join(self.root, "up")
        self.assert_same_tree(src, remote)
        # lftp sets the remote times (MFMT), so a second run finds nothing to do.
        self.assertEqual(file_mtimes(src), file_mtimes(remote))
        out = self.lftp([f"mirror -R -v {src} /up"])
        self.assertNotIn("Transferring", out)

    def test_mirror_downloads_an_identical_tree(self):
        remote = os.path.join(self.root, "down")
        make_tree(remote, 2)
        dest = os.path.join(self.tmp, "dest")
        self.lftp([f"mirror /down {dest}"])
        self.assert_same_tree(remote, dest)
        self.assertEqual(file_mtimes(remote), file_mtimes(dest))  # from MLSD modify=
        out = self.lftp([f"mirror -v /down {dest}"])
        self.assertNotIn("Transferring", out)
        # A changed remote file is picked up by the next mirror.
        with open(os.path.join(remote, "fähre/über.txt"), "ab") as f:
            f.write(b"more\n")
        out = self.lftp([f"mirror -v /down {dest}"])
        self.assertIn("Transferring", out)
        self.assert_same_tree(remote, dest)

    def test_mirror_round_trip(self):
        src = os.path.join(self.tmp, "src")
        make_tree(src, 3)
        back = os.path.join(self.tmp, "back")
        self.lftp([f"mirror -R {src} /rt", f"mirror /rt {back}"])
        self.assert_same_tree(src, back)
        self.assert_same_tree(src, os.path.join(self.root, "rt"))

    def test_get_c_resumes_a_truncated_download(self):
        data = os.urandom((3 << 20) + 7)
        with open(os.path.join(self.root, "getc.bin"), "wb") as f:
            f.write(data)
        local = os.path.join(self.tmp, "getc.bin")
        with open(local, "wb") as f:
            f.write(data[:1_000_003])
        self.lftp(["set ftp:use-feat yes", f"get -c /getc.bin -o {local}"])
        with open(local, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_put_c_resumes_a_truncated_upload(self):
        data = os.urandom((3 << 20) + 11)
        local = os.path.join(self.tmp, "putc.bin")
        with open(local, "wb") as f:
            f.write(data)
        remote = os.path.join(self.root, "putc-ü.bin")
        with open(remote, "wb") as f:
            f.write(data[:777_777])
        ino = os.stat(remote).st_ino
        self.lftp([f"put -c {local} -o '/putc-ü.bin'"])
        with open(remote, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(data).hexdigest())
        self.assertEqual(os.stat(remote).st_ino, ino, "a resumed upload should continue the same file")

    def test_rm_mkdir_mv_rmdir(self):
        self.lftp(["mkdir -p /ops/x/y", "put /dev/null -o /ops/x/y/f", "mv /ops/x/y/f /ops/g",
                   "rmdir /ops/x/y", "mkdir /ops/z"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.root, "ops"))), ["g", "x", "z"])
        self.lftp(["rm -r /ops"])
        self.assertFalse(os.path.exists(os.path.join(self.root, "ops")))


if __name__ == "__main__":
    unittest.main()
