"""rclone, ncftp and Node.js's basic-ftp against ferryd, plain FTP, with a writable
fs_local at "/": each sends a tree with nested, empty and UTF-8 names, lists it, fetches
it back whole, and cleans up as it would for a user. (rclone over FTPS is in
test_ftps_uploads.py.) Passwords go through the environment or an obscured config,
never argv where the client allows it.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from ferryd_harness import SOURCE_DIR, ServerTestCase, fs_local_mounts, subprocess_env
from test_interop_lftp import make_tree, tree_digest

NODE_DIR = os.path.join(SOURCE_DIR, "tests", "e2e", "node")


def files_only(digest):
    return {k: v for k, v in digest.items() if v != "dir"}


class MoreClientsTest(ServerTestCase):
    server_kwargs = {"mounts": fs_local_mounts(welcome=False)}

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ferry-clients-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.src = os.path.join(self.work, "src")
        make_tree(self.src, seed=7)
        self.root = self.server.user_root()

    def run_tool(self, argv, timeout=180, **env):
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env=subprocess_env(self.work, **env))

    # ---- rclone ---------------------------------------------------------------------------
    def rclone(self, *args):
        obscured = self.run_tool(["rclone", "obscure", self.server.password]).stdout.strip()
        remote = f":ftp,host=127.0.0.1,port={self.server.port},user={self.server.user},pass={obscured}:"
        return self.run_tool(["rclone", "--low-level-retries", "1", "--retries", "1", "--contimeout", "10s",
                              "--timeout", "30s", *[a.replace("REMOTE:", remote) for a in args]],
                             RCLONE_CONFIG=os.path.join(self.work, "rclone.conf"))

    def test_rclone_copy_sync_check_and_back(self):
        r = self.rclone("copy", "--create-empty-src-dirs", self.src, "REMOTE:rclone")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tree_digest(os.path.join(self.root, "rclone")), tree_digest(self.src))
        r = self.rclone("check", self.src, "REMOTE:rclone")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.root, "rclone", "stray.txt"), "w") as f:
            f.write("sync deletes me\n")
        r = self.rclone("sync", "--create-empty-src-dirs", self.src, "REMOTE:rclone")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tree_digest(os.path.join(self.root, "rclone")), tree_digest(self.src))
        back = os.path.join(self.work, "back")
        r = self.rclone("copy", "--create-empty-src-dirs", "REMOTE:rclone", back)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tree_digest(back), tree_digest(self.src))
        r = self.rclone("lsf", "REMOTE:rclone")
        self.assertIn("日本.bin", r.stdout.splitlines())
        r = self.rclone("purge", "REMOTE:rclone")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "rclone")))

    # ---- ncftp ----------------------------------------------------------------------------
    def ncftp_login(self):
        path = os.path.join(self.work, "ncftp.cfg")  # the password in a 0600 file, not argv
        with open(path, "w") as f:
            f.write(f"host 127.0.0.1\nuser {self.server.user}\npass {self.server.password}\n")
        os.chmod(path, 0o600)
        return ["-f", path, "-P", str(self.server.port), "-t", "20"]

    def test_ncftp_put_ls_get_recursive(self):
        login = self.ncftp_login()
        r = self.run_tool(["ncftpput", *login, "-R", "-m", "/ncftp", self.src])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        arrived = os.path.join(self.root, "ncftp", "src")
        self.assertEqual(files_only(tree_digest(arrived)), files_only(tree_digest(self.src)))
        r = self.run_tool(["ncftpls", *login, "-l", f"ftp://127.0.0.1:{self.server.port}/ncftp/src/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("日本.bin", r.stdout)
        back = os.path.join(self.work, "back")
        os.mkdir(back)
        r = self.run_tool(["ncftpget", *login, "-R", back, "/ncftp/src"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(files_only(tree_digest(os.path.join(back, "src"))), files_only(tree_digest(self.src)))

    # ---- Node.js basic-ftp ----------------------------------------------------------------
    def test_node_basic_ftp_upload_list_download_rename_remove(self):
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "basic-ftp")):
            self.fail("basic-ftp is not installed: scripts/deps --test runs npm ci in tests/e2e/node")
        with open(os.path.join(self.src, "renamed-by-node.txt"), "w") as f:
            f.write("renamed, then removed\n")
        back = os.path.join(self.work, "back")
        r = self.run_tool(["node", os.path.join(NODE_DIR, "basic_ftp_session.mjs"), "127.0.0.1", str(self.server.port),
                           self.server.user, self.src, back], FERRY_PASSWORD=self.server.password)
        self.assertEqual(r.returncode, 0, r.stderr)
        seen = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(seen["pwd"], "/node")
        sizes = {e["name"]: e["size"] for e in seen["listed"] if not e["dir"]}
        self.assertEqual(sizes["日本.bin"], (2 << 20) + 17)
        self.assertIn("nested", {e["name"] for e in seen["listed"] if e["dir"]})
        self.assertEqual(tree_digest(back), tree_digest(self.src))
        self.assertNotIn("renamed.txt", seen["after"])
        self.assertNotIn("renamed-by-node.txt", seen["after"])
        self.assertFalse(os.path.exists(os.path.join(self.root, "node", "renamed.txt")))


if __name__ == "__main__":
    unittest.main()
