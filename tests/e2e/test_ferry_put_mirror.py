"""ferry put / rm / mkdir / rmdir / mv / mirror against ferryd with a writable fs_local mount."""

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from ferryd_harness import FERRY, PLUGIN_DIR, USER, ServerTestCase, subprocess_env, toml_str
from test_ferry_client import ClientTestMixin, FakeFtpServer, run_ferry

HAVE_FS_LOCAL = os.path.exists(os.path.join(PLUGIN_DIR, "libfs_local.so"))
MIRROR_TIMEOUT = 30


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tree_files(root):
    """{relative path: bytes} of the regular files below root, and the set of directories."""
    files, dirs = {}, set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dirnames:
            p = os.path.normpath(os.path.join(rel, d))
            if not os.path.islink(os.path.join(dirpath, d)):
                dirs.add(p)
        for name in filenames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full) or name.endswith(".part"):
                continue
            files[os.path.normpath(os.path.join(rel, name))] = read(full)
    return files, dirs


@unittest.skipUnless(HAVE_FS_LOCAL, "libfs_local.so is not built")
class FerryPutMirrorTest(ClientTestMixin, ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.root_base = tempfile.mkdtemp(prefix="ferry-fs-")
        cls.root = os.path.join(cls.root_base, USER)
        os.makedirs(cls.root)
        cls.server_kwargs = {"mounts": (
            '[[mount]]\npath = "/"\nplugin = "fs_local"\n'
            f'root = {toml_str(os.path.join(cls.root_base, "%u"))}\nwritable = true\n'
            '\n[[mount]]\npath = "/welcome"\nplugin = "send_png"\nimage = "ferry.png"\n')}
        try:
            super().setUpClass()
        except BaseException:
            shutil.rmtree(cls.root_base, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.root_base, ignore_errors=True)

    def setUp(self):
        self.home = self.make_tmp()

    def ferry(self, *args, timeout=None, cwd=None):
        kw = {"timeout": timeout} if timeout else {}
        return run_ferry(args, self.home, cwd=cwd, password=self.server.password, **kw)

    def remote(self, *parts):
        return os.path.join(self.root, *parts)

    def local_file(self, name, data):
        path = os.path.join(self.home, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # ----- put -----------------------------------------------------------------------
    def test_put_into_directory_verified(self):
        data = os.urandom(200_000)
        src = self.local_file("upload.bin", data)
        os.makedirs(self.remote("in"), exist_ok=True)
        run = self.ferry("put", src, self.server.url("/in/"))
        self.assertExit(run, 0)
        self.assertEqual(read(self.remote("in", "upload.bin")), data)
        self.assertIn(f"sent {len(data)} bytes, SHA-256 matches the server "
                      f"({hashlib.sha256(data).hexdigest()})", run.stdout)

    def test_put_under_new_name_and_empty_file(self):
        src = self.local_file("empty", b"")
        run = self.ferry("put", src, self.server.url("/renamed-empty"))
        self.assertExit(run, 0)
        self.assertEqual(read(self.remote("renamed-empty")), b"")
        self.assertIn("sent 0 bytes", run.stdout)

    def test_put_continue_resumes_truncated_remote(self):
        data = os.urandom(1_500_000)
        src = self.local_file("resume.bin", data)
        self.assertExit(self.ferry("put", src, self.server.url("/")), 0)
        with open(self.remote("resume.bin"), "r+b") as f:
            f.truncate(600_000)
        run = self.ferry("put", "-c", src, self.server.url("/"))
        self.assertExit(run, 0)
        self.assertEqual(read(self.remote("resume.bin")), data)
        self.assertIn("resumed /resume.bin after 600000 bytes", run.stderr)
        self.assertIn("SHA-256 matches", run.stdout)
        # The server logs the bytes it received: only the rest was sent.
        self.assertTrue(self.server.wait_for_log(r"STOR /resume\.bin .* 900000 bytes"), self.server.log_text())

    def test_put_fifo_is_refused_not_waited_on(self):
        # Opening a FIFO for reading waits for a writer: put hung there for ever.
        fifo = os.path.join(self.home, "pipe")
        os.mkfifo(fifo)
        run = self.ferry("put", fifo, self.server.url("/pipe"), timeout=10)
        self.assertExit(run, 1)
        self.assertIn("pipe: not a regular file", run.stderr)
        self.assertOneLineError(run)
        self.assertFalse(os.path.exists(self.remote("pipe")))

    def test_put_sends_the_size_seen_at_the_start_of_a_growing_file(self):
        # A log still being written: put read on to its new end, then called its own
        # upload incomplete (SIZE) or reported a digest mismatch.
        size = 64 << 20
        src = os.path.join(self.home, "growing.log")
        with open(src, "wb") as f:
            f.truncate(size)
        with self.put_with_server_paused(src, "/growing.log") as (proc, resume):
            with open(src, "ab") as f:
                f.write(b"appended later\n" * 100_000)
            resume()
            out, err = proc.communicate(timeout=MIRROR_TIMEOUT)
        self.assertEqual(proc.returncode, 0, err.decode(errors="replace"))
        self.assertEqual(os.path.getsize(self.remote("growing.log")), size)
        self.assertIn(f"sent {size} bytes, SHA-256 matches", out.decode())

    def test_put_missing_local_file(self):
        run = self.ferry("put", os.path.join(self.home, "nope"), self.server.url("/"))
        self.assertExit(run, 1)
        self.assertOneLineError(run)

    @contextlib.contextmanager
    def put_with_server_paused(self, src, remote_path, extra_args=()):
        """Runs `ferry -v put` and stops the server (SIGSTOP, by PID) once the data flows,
        so the client's buffers fill and it cannot get far. Yields (proc, resume); the
        server runs on at resume() or at the end, and the client is killed if still alive."""
        env = subprocess_env(self.home)
        env["FERRY_PASSWORD"] = self.server.password
        proc = subprocess.Popen([FERRY, "-v", *extra_args, "put", src, self.server.url(remote_path)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        server_pid = self.server.proc.pid
        stopped = False

        def resume():
            nonlocal stopped
            if stopped:
                os.kill(server_pid, signal.SIGCONT)
                stopped = False
        try:
            for raw in proc.stderr:
                if raw.startswith(b"< 150"):
                    os.kill(server_pid, signal.SIGSTOP)
                    stopped = True
                    break
            self.assertTrue(stopped, "the upload never started")
            yield proc, resume
        finally:
            resume()
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=5)

    def cut_upload_over_existing_file(self, name, cut, extra_args=()):
        """Uploads a big file over a small remote one and cuts it mid-way, while the server
        is stopped: `cut(proc)` ends the client. Returns the client's exit status after the
        server ran on; the caller checks the remote file."""
        old = b"old contents\n"
        with open(self.remote(name), "wb") as f:
            f.write(old)
        src = os.path.join(self.home, name)
        with open(src, "wb") as f:
            f.truncate(1 << 30)  # sparse: reading it costs nothing
        mark = self.server.log_mark()
        with self.put_with_server_paused(src, "/" + name, extra_args) as (proc, _):
            cut(proc)
            proc.communicate(timeout=MIRROR_TIMEOUT)
        logged = self.server.wait_for_log(r"transfer (ok|failed): STOR /" + name, timeout=10, start=mark)
        self.assertIsNotNone(logged, self.server.log_text())
        self.assertIn("transfer failed", logged)
        self.assertEqual(read(self.remote(name)), old, "a cut upload replaced the remote file")
        return proc.returncode

    def test_put_cut_by_timeout_keeps_old_remote_file(self):
        # The client gives up after 1 s of silence: its data connection is reset, not closed
        # with an end-of-file that the server would take for a complete upload.
        returncode = self.cut_upload_over_existing_file("timeout.bin", lambda proc: None, ("--timeout", "1"))
        self.assertEqual(returncode, 1)

    def test_put_interrupted_by_signal_keeps_old_remote_file(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig):
                def interrupt(proc, sig=sig):
                    time.sleep(0.3)
                    proc.send_signal(sig)
                returncode = self.cut_upload_over_existing_file(f"signal{int(sig)}.bin", interrupt)
                self.assertNotEqual(returncode, 0)

    # ----- rm / mkdir / rmdir / mv ---------------------------------------------------
    def test_tree_changes(self):
        self.assertExit(self.ferry("mkdir", self.server.url("/box")), 0)
        self.assertTrue(os.path.isdir(self.remote("box")))
        src = self.local_file("f.txt", b"hello\n")
        self.assertExit(self.ferry("put", src, self.server.url("/box/")), 0)

        run = self.ferry("mv", self.server.url("/box/f.txt"), "g.txt")  # relative to /box
        self.assertExit(run, 0)
        self.assertIn("renamed /box/f.txt to /box/g.txt", run.stdout)
        self.assertEqual(read(self.remote("box", "g.txt")), b"hello\n")
        self.assertExit(self.ferry("mv", self.server.url("/box/g.txt"), "/top.txt"), 0)
        self.assertEqual(read(self.remote("top.txt")), b"hello\n")
        self.assertExit(self.ferry("mv", self.server.url("/top.txt"), "box/"), 0)  # into /box, same name
        self.assertEqual(read(self.remote("box", "top.txt")), b"hello\n")

        run = self.ferry("rmdir", self.server.url("/box"))
        self.assertExit(run, 1)  # not empty: refused
        self.assertOneLineError(run)
        self.assertTrue(os.path.isdir(self.remote("box")))

        self.assertExit(self.ferry("rm", self.server.url("/box/top.txt")), 0)
        self.assertFalse(os.path.exists(self.remote("box", "top.txt")))
        self.assertExit(self.ferry("rmdir", self.server.url("/box/")), 0)
        self.assertFalse(os.path.exists(self.remote("box")))

        for cmd in ("rm", "rmdir"):
            run = self.ferry(cmd, self.server.url("/box/none"))
            self.assertExit(run, 5)
            self.assertOneLineError(run)
        self.assertExit(self.ferry("mv", self.server.url("/nothing"), "x"), 5)

    def test_usage_errors(self):
        self.assertExit(self.ferry("mv", self.server.url("/a")), 2)
        self.assertExit(self.ferry("rm", self.server.url("/")), 2)
        self.assertExit(self.ferry("mirror", self.server.url("/"), self.home, "-j", "17"), 2)
        self.assertExit(self.ferry("rm", self.server.url("/a"), "-c"), 2)

    # ----- mirror --------------------------------------------------------------------
    def make_tree(self, base):
        os.makedirs(os.path.join(base, "a", "b", "c"))
        os.makedirs(os.path.join(base, "empty-dir"))
        with open(os.path.join(base, "a", "one.txt"), "wb") as f:
            f.write(b"one\n")
        open(os.path.join(base, "a", "b", "empty.dat"), "wb").close()
        with open(os.path.join(base, "a", "b", "c", "random.bin"), "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024))
        with open(os.path.join(base, "grüße ✓.txt"), "wb") as f:
            f.write("ünïcödé\n".encode())
        os.symlink("/etc/passwd", os.path.join(base, "escape"))  # must not be followed
        os.symlink("a", os.path.join(base, "dir-link"))
        return base

    def test_mirror_up_and_down(self):
        tree = self.make_tree(os.path.join(self.home, "tree"))
        want_files, want_dirs = tree_files(tree)

        run = self.ferry("mirror", "-R", tree, self.server.url("/up"), "-j", "4", timeout=MIRROR_TIMEOUT)
        self.assertExit(run, 0)
        self.assertIn("mirror: 4 files (3.0 MiB) transferred, 0 unchanged, 0 failed", run.stdout)
        self.assertIn("skipping symlink escape", run.stderr)
        self.assertIn("skipping symlink dir-link", run.stderr)
        got_files, got_dirs = tree_files(self.remote("up"))
        self.assertEqual(got_files, want_files)
        self.assertEqual(got_dirs, want_dirs)
        self.assertFalse(os.path.exists(self.remote("up", "escape")))

        run = self.ferry("mirror", "-R", tree, self.server.url("/up"), timeout=MIRROR_TIMEOUT)
        self.assertExit(run, 0)
        self.assertIn("mirror: 0 files transferred, 4 unchanged, 0 failed", run.stdout)

        down = os.path.join(self.home, "down")
        run = self.ferry("mirror", self.server.url("/up"), down, timeout=MIRROR_TIMEOUT)
        self.assertExit(run, 0)
        self.assertIn("mirror: 4 files (3.0 MiB) transferred, 0 unchanged, 0 failed", run.stdout)
        got_files, got_dirs = tree_files(down)
        self.assertEqual(got_files, want_files)
        self.assertEqual(got_dirs, want_dirs)
        self.assertNoPartials(os.path.join(down, "a"))
        remote_mtime = int(os.stat(self.remote("up", "a", "one.txt")).st_mtime)
        self.assertEqual(int(os.stat(os.path.join(down, "a", "one.txt")).st_mtime), remote_mtime)

        run = self.ferry("mirror", self.server.url("/up/"), down, "-j", "4", timeout=MIRROR_TIMEOUT)
        self.assertExit(run, 0)
        self.assertIn("mirror: 0 files transferred, 4 unchanged, 0 failed", run.stdout)

        # A changed file (other size) and a new one go up; nothing else does.
        with open(os.path.join(tree, "a", "one.txt"), "ab") as f:
            f.write(b"more\n")
        with open(os.path.join(tree, "a", "b", "new.txt"), "wb") as f:
            f.write(b"new\n")
        run = self.ferry("mirror", "-R", tree, self.server.url("/up"), "-j", "4", timeout=MIRROR_TIMEOUT)
        self.assertExit(run, 0)
        self.assertIn("mirror: 2 files (", run.stdout)
        self.assertIn(" 3 unchanged, 0 failed", run.stdout)
        self.assertEqual(read(self.remote("up", "a", "one.txt")), b"one\nmore\n")

        # Parallel download into a fresh directory.
        down4 = os.path.join(self.home, "down4")
        run = self.ferry("mirror", self.server.url("/up"), down4, "-j", "4", timeout=MIRROR_TIMEOUT)
        self.assertExit(run, 0)
        self.assertIn("mirror: 5 files", run.stdout)
        self.assertEqual(tree_files(down4), tree_files(self.remote("up")))

    def test_mirror_refused_files_are_counted_and_exit_1(self):
        tree = os.path.join(self.home, "small")
        os.makedirs(os.path.join(tree, "sub"))
        for name in ("x.txt", "sub/y.txt"):
            with open(os.path.join(tree, name), "wb") as f:
                f.write(b"data\n")
        run = self.ferry("mirror", "-R", tree, self.server.url("/welcome"), "-j", "2", timeout=MIRROR_TIMEOUT)
        self.assertExit(run, 1)
        self.assertIn("mirror: 0 files transferred, 0 unchanged, 3 failed", run.stdout)  # sub/ + 2 files
        self.assertIn("x.txt", run.stderr)
        # Downloading the read-only mount works, and a second run has nothing to do.
        down = os.path.join(self.home, "welcome")
        run = self.ferry("mirror", self.server.url("/welcome"), down, timeout=MIRROR_TIMEOUT)
        self.assertExit(run, 0)
        self.assertIn("mirror: 1 file (", run.stdout)
        self.assertEqual(read(os.path.join(down, "ferry.png")), self.server.image_bytes)
        run = self.ferry("mirror", self.server.url("/welcome"), down, timeout=MIRROR_TIMEOUT)
        self.assertIn("mirror: 0 files transferred, 1 unchanged, 0 failed", run.stdout)

    def test_mirror_up_leaves_out_an_unreadable_local_directory(self):
        # One unreadable subdirectory ended the whole mirror before anything was sent.
        tree = os.path.join(self.home, "partly")
        for name in ("a.txt", "locked/b.txt", "ok/c.txt"):
            os.makedirs(os.path.dirname(os.path.join(tree, name)), exist_ok=True)
            with open(os.path.join(tree, name), "wb") as f:
                f.write(name.encode())
        locked = os.path.join(tree, "locked")
        os.chmod(locked, 0)
        self.addCleanup(os.chmod, locked, 0o700)
        # root reads any directory: run ferry without the capabilities that allow it.
        prefix = []
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                self.skipTest("running as root without setpriv")
            prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                      "--inh-caps=-dac_override,-dac_read_search"]
        env = subprocess_env(self.home)
        env["FERRY_PASSWORD"] = self.server.password
        proc = subprocess.run(prefix + [FERRY, "mirror", "-R", tree, self.server.url("/partly")],
                              stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=MIRROR_TIMEOUT)
        out, err = proc.stdout.decode(), proc.stderr.decode()
        self.assertEqual(proc.returncode, 1, out + err)
        self.assertIn(f"cannot read {locked} (Permission denied): left out", err)
        self.assertIn("mirror: 2 files (", out)
        self.assertIn(" 1 failed", out)
        self.assertEqual(read(self.remote("partly", "a.txt")), b"a.txt")
        self.assertEqual(read(self.remote("partly", "ok", "c.txt")), b"ok/c.txt")
        self.assertFalse(os.path.exists(self.remote("partly", "locked", "b.txt")))

    def test_mirror_missing_remote_directory_exit_5(self):
        run = self.ferry("mirror", self.server.url("/no-such-dir"), os.path.join(self.home, "x"))
        self.assertExit(run, 5)


class FerryPutVerificationTest(ClientTestMixin, unittest.TestCase):
    """put against a fake server whose HASH lies: exit 6, and the message says the remote file stays."""

    def put(self, lie):
        home = self.make_tmp()
        src = os.path.join(home, "data.bin")
        with open(src, "wb") as f:
            f.write(b"payload " * 1000)
        with FakeFtpServer(b"", lie=lie) as srv:
            run = run_ferry(["put", src, f"ftp://alice@127.0.0.1:{srv.port}/"], home, password="pw")
            received = srv.payload
        return run, received

    def test_honest_server_accepted(self):
        run, received = self.put(lie=False)
        self.assertExit(run, 0)
        self.assertEqual(received, b"payload " * 1000)

    def test_hash_mismatch_exit_6(self):
        run, received = self.put(lie=True)
        self.assertExit(run, 6)
        self.assertOneLineError(run)
        self.assertIn("SHA-256 mismatch", run.stderr)
        self.assertIn("left in place", run.stderr)


if __name__ == "__main__":
    unittest.main()
