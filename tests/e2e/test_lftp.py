"""lftp against ferryd: get, ls, cls -l, quote SIZE/MDTM/HASH, mirror."""

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from ferryd_harness import IMAGE_MTIME, ServerTestCase, subprocess_env

LFTP = shutil.which("lftp")
SETTINGS = ("set net:max-retries 1; set net:timeout 5; set net:reconnect-interval-base 1; "
            "set ftp:ssl-allow no; set xfer:clobber on; set cmd:fail-exit yes")


@unittest.skipUnless(LFTP, "lftp not installed")
class LftpTest(ServerTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ferry-lftp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def lftp(self, commands, password=None, timeout=60):
        """Run an lftp script (fed on stdin so the password is not in the process list)."""
        pw = self.server.password if password is None else password
        script = (f"{SETTINGS}\n"
                  f"open -u {self.server.user},{pw} -p {self.server.port} 127.0.0.1\n"
                  + "\n".join(commands) + "\nbye\n")
        return subprocess.run([LFTP, "-f", "/dev/stdin"], input=script.encode(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              cwd=self.tmp, env=subprocess_env(self.tmp))

    def out(self, p):
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        return p.stdout.decode(errors="replace")

    def test_get_identical_bytes(self):
        dest = os.path.join(self.tmp, "got.png")
        self.out(self.lftp([f"get ferry.png -o {dest}"]))
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), self.server.image_bytes)

    def test_ls(self):
        lines = self.out(self.lftp(["ls"])).splitlines()
        self.assertEqual(len(lines), 1, lines)
        fields = lines[0].split()
        self.assertEqual(fields[-1], "ferry.png")
        self.assertIn(str(len(self.server.image_bytes)), fields)

    def test_cls_long(self):
        lines = self.out(self.lftp(["cls -l"])).splitlines()
        self.assertEqual(len(lines), 1, lines)
        fields = lines[0].split()
        self.assertEqual(fields[-1], "ferry.png")
        self.assertIn(str(len(self.server.image_bytes)), fields)
        self.assertIn(str(time.gmtime(IMAGE_MTIME).tm_year), fields)

    def test_quote_size_and_mdtm(self):
        lines = self.out(self.lftp(["quote SIZE ferry.png", "quote MDTM ferry.png"])).splitlines()
        self.assertIn(f"213 {len(self.server.image_bytes)}", lines)
        self.assertIn("213 " + time.strftime("%Y%m%d%H%M%S", time.gmtime(IMAGE_MTIME)), lines)

    def test_quote_hash(self):
        text = self.out(self.lftp(["quote HASH ferry.png"]))
        self.assertIn(hashlib.sha256(self.server.image_bytes).hexdigest(), text)

    def test_mirror_root(self):
        dest = os.path.join(self.tmp, "mirror")
        self.out(self.lftp([f"mirror / {dest}"]))
        self.assertEqual(sorted(os.listdir(dest)), ["ferry.png"])
        path = os.path.join(dest, "ferry.png")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), self.server.image_bytes)
        # mirror keeps the remote modification time (from MLSD/MDTM)
        self.assertEqual(int(os.stat(path).st_mtime), IMAGE_MTIME)

    def test_wrong_password_fails(self):
        p = self.lftp(["ls"], password="wrong-password", timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Login", p.stderr.decode(errors="replace"))


if __name__ == "__main__":
    unittest.main()
