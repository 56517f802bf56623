"""wget -r against ferryd with fs_local at "/" and send_png at "/welcome".

A recursive download (LIST parsing, CWD into every directory, RETR) must reproduce the
user's tree byte for byte, plus the image under welcome/. The credentials come from a
wgetrc in a temp HOME (WGETRC), not argv.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from ferryd_harness import ServerTestCase, fs_local_mounts, subprocess_env
from test_interop_lftp import make_tree, tree_digest

WGET = shutil.which("wget")


@unittest.skipUnless(WGET, "wget not installed")
class WgetInteropTest(ServerTestCase):
    server_kwargs = {"mounts": fs_local_mounts()}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.server.user_root()
        make_tree(cls.root, 7)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ferry-wget-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.wgetrc = os.path.join(self.tmp, "wgetrc")
        with open(self.wgetrc, "w") as f:
            f.write(f"user = {self.server.user}\npassword = {self.server.password}\n")
        os.chmod(self.wgetrc, 0o600)

    def wget(self, *args, path="/", timeout=90):
        dest = os.path.join(self.tmp, "dest")
        os.makedirs(dest, exist_ok=True)
        env = subprocess_env(self.tmp, WGETRC=self.wgetrc, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        cmd = [WGET, "--no-verbose", "--tries=1", "--timeout=10", "--no-proxy",
               "--restrict-file-names=nocontrol"] + list(args) + \
              [f"ftp://127.0.0.1:{self.server.port}{path}"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=timeout, cwd=dest, env=env)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        self.assertNotIn(self.server.password, p.stderr.decode(errors="replace"))
        return dest

    def expected(self):
        want = tree_digest(self.root)
        with_image = dict(want)
        with_image["welcome"] = "dir"
        got_image = tree_digest(os.path.dirname(self.server.image_path))["ferry.png"]
        with_image[os.path.join("welcome", "ferry.png")] = got_image
        return with_image

    def check(self, dest):
        got = tree_digest(dest)
        want = self.expected()
        # wget keeps no empty directories it never had to write into; compare files
        # exactly and require every directory that holds something.
        got_files = {k: v for k, v in got.items() if v != "dir"}
        want_files = {k: v for k, v in want.items() if v != "dir"}
        self.assertGreaterEqual(len(want_files), 9)
        self.assertIn("日本.bin", got_files)
        self.assertIn(os.path.join("fähre", "über.txt"), got_files)
        self.assertEqual(sorted(got_files), sorted(want_files))
        self.assertEqual(got_files, want_files)
        self.assertFalse([k for k in got if k.endswith(".listing")])

    def test_recursive_download_passive(self):
        self.check(self.wget("-r", "-l", "inf", "-nH"))

    def test_recursive_download_active(self):
        self.check(self.wget("-r", "-l", "inf", "-nH", "--no-passive-ftp"))

    def test_single_file(self):
        dest = self.wget("-nH", path="/nested/a/b/c/deep.bin")
        with open(os.path.join(dest, "deep.bin"), "rb") as f, \
                open(os.path.join(self.root, "nested/a/b/c/deep.bin"), "rb") as g:
            self.assertEqual(f.read(), g.read())


if __name__ == "__main__":
    unittest.main()
