"""No data lost (issue #5): a server crash, a full disk and a file-size limit during uploads.

- SIGKILL during an overwriting STOR: the old file stays byte for byte; after a restart it
  is served, the crashed upload's temporary file is never listed nor reachable, and a
  listing removes it once it is stale. SIGKILL during a new upload: the partial file stays
  and curl resumes it (SIZE + APPE).
- A full disk (a 1 MiB tmpfs as the fs_local root; needs root, else skipped): 452, the
  temporary or partial file removed, the old file intact, the space free again, and this
  and other sessions keep working.
- RLIMIT_FSIZE on the server process: the write fails with EFBIG (ferryd ignores SIGXFSZ)
  and the upload answers 552, with the same clean-up; the server keeps serving.

Clients: ftplib and curl (the password reaches curl through a netrc file). Every wait is
bounded; only the server PIDs this file started are signalled.
"""

import ftplib
import hashlib
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from ferryd_harness import FerryServer, close_quietly, fs_local_mounts, subprocess_env

CURL = shutil.which("curl")
TEMP_RE = re.compile(r"^\..+\.ferry-[A-Za-z0-9]{6}$")
WAIT = 10.0  # seconds, for anything polled


def sha(data):
    return hashlib.sha256(data).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def temp_files(directory):
    return sorted(n for n in os.listdir(directory) if TEMP_RE.match(n))


def poll(predicate, timeout=WAIT, step=0.02):
    """Waits (bounded) until predicate() is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


class _Base(unittest.TestCase):
    """Helpers: one FerryServer per test, ftplib sessions closed at the end."""

    def start_server(self, root="files/%u"):
        srv = FerryServer(mounts=fs_local_mounts(root=root, welcome=False))
        try:
            srv.start()
        except BaseException:
            srv.cleanup()
            raise
        self.addCleanup(srv.cleanup)
        self.srv = srv
        return srv

    def ftp(self):
        f = self.srv.ftp()
        self.addCleanup(close_quietly, f)
        f.voidcmd("TYPE I")  # transfercmd() below does not set it
        return f

    def curl_upload(self, name, data, *options):
        """curl -T of `data` to /`name` (with `options`, e.g. "-C", "-"), the password in a
        netrc of its own; the finished process."""
        tmp = tempfile.mkdtemp(prefix="ferry-safety-")
        self.addCleanup(shutil.rmtree, tmp, True)
        netrc = os.path.join(tmp, "netrc")
        with open(netrc, "w") as f:
            f.write(f"machine 127.0.0.1 login {self.srv.user} password {self.srv.password}\n")
        os.chmod(netrc, 0o600)
        src = os.path.join(tmp, name)
        with open(src, "wb") as f:
            f.write(data)
        return subprocess.run([CURL, "--silent", "--show-error", "--max-time", "30", "--noproxy", "*",
                               "--netrc-file", netrc, *options, "-T", src, f"ftp://127.0.0.1:{self.srv.port}/{name}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              timeout=60, env=subprocess_env(tmp))

    def stor(self, ftp, name, data, cmd="STOR"):
        conn = ftp.transfercmd(f"{cmd} {name}")
        try:
            conn.sendall(data)
        finally:
            conn.close()
        return ftp.voidresp()

    def retr(self, ftp, name):
        chunks = []
        ftp.retrbinary(f"RETR {name}", chunks.append)
        return b"".join(chunks)

    def stor_refused(self, ftp, name, data, cmd="STOR"):
        """An upload the server must refuse while receiving: returns the final reply."""
        conn = ftp.transfercmd(f"{cmd} {name}")
        try:
            conn.sendall(data)
        except OSError:
            pass  # the server stopped reading and closed the data connection: expected
        finally:
            conn.close()
        with self.assertRaises(ftplib.Error) as cm:
            ftp.voidresp()
        return str(cm.exception)

    def assert_serving(self, ftp, name, content):
        """This session and a new one can list and download `name`."""
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
        self.assertIn(name, ftp.nlst())
        self.assertEqual(sha(self.retr(ftp, name)), sha(content))
        other = self.ftp()
        lines = []
        other.retrlines("LIST", lines.append)
        self.assertTrue(any(line.endswith(" " + name) for line in lines), lines)
        self.assertEqual(sha(self.retr(other, name)), sha(content))

    def assert_alive(self):
        self.assertIsNone(self.srv.proc.poll(), "ferryd exited:\n" + self.srv.log_text())

    def stop_cleanly(self):
        rc = self.srv.stop()
        self.assertEqual(rc, 0, self.srv.log_text())

    def kill_server(self):
        """SIGKILL to the PID of the ferryd this test started, then wait (bounded)."""
        os.kill(self.srv.proc.pid, signal.SIGKILL)
        self.srv.proc.wait(timeout=5)
        self.srv._reader.join(timeout=5)
        self.srv.proc.stderr.close()

    def restart_server(self):
        """A new ferryd on the same directory and configuration."""
        self.srv.addresses = []
        self.srv.start()


class RefusedUploadTest(_Base):
    """An upload refused before any data (no PORT/PASV: 425) leaves the disk as it was."""

    def test_upload_without_a_data_channel_touches_no_file(self):
        self.start_server()
        root = self.srv.user_root()
        with open(os.path.join(root, "keep.txt"), "wb") as f:
            f.write(b"important data\n")
        f = self.ftp()
        self.assertTrue(f.sendcmd("REST 3").startswith("350"))
        for cmd in ("STOR keep.txt", "APPE keep.txt", "STOR new.txt", "APPE new2.txt", "STOU", "STOU",
                    "STOU name.txt"):
            with self.subTest(cmd=cmd), self.assertRaises(ftplib.error_temp) as cm:
                f.sendcmd(cmd)
            self.assertTrue(str(cm.exception).startswith("425"), str(cm.exception))
        self.assertEqual(sorted(os.listdir(root)), ["keep.txt"])
        self.assertEqual(read(os.path.join(root, "keep.txt")), b"important data\n")
        self.assertTrue(self.stor(f, "keep.txt", b"whole new content").startswith("226"))  # the session goes on
        self.assertEqual(read(os.path.join(root, "keep.txt")), b"whole new content")


class CrashTest(_Base):
    """SIGKILL in the middle of an upload; then a new server on the same directory."""

    def slow_upload(self, ftp, name, first, grown):
        """Starts STOR `name`, sends `first`, waits until grown() reports the server wrote."""
        conn = ftp.transfercmd(f"STOR {name}")
        self.addCleanup(conn.close)
        conn.sendall(first)
        self.assertTrue(poll(grown), "the server did not write the first bytes")
        return conn

    def test_sigkill_during_an_overwrite_keeps_the_old_file(self):
        srv = self.start_server()
        root = srv.user_root()
        old = os.urandom(300_000)
        ftp = self.ftp()
        self.assertTrue(self.stor(ftp, "report.bin", old).startswith("226"))

        def temp_has_data():
            return [n for n in temp_files(root) if os.path.getsize(os.path.join(root, n)) > 0]

        uploader = self.ftp()
        self.slow_upload(uploader, "report.bin", os.urandom(256 * 1024), temp_has_data)
        self.kill_server()

        # The old file is intact; the crashed upload's temporary file is what is left over.
        self.assertEqual(sha(read(os.path.join(root, "report.bin"))), sha(old))
        leftovers = temp_files(root)
        self.assertEqual(len(leftovers), 1, leftovers)
        leftover = leftovers[0]
        self.assertTrue(leftover.startswith(".report.bin.ferry-"), leftover)
        # Dated ahead so that no listing below counts it stale yet, however slow this runs.
        ahead = time.time() + 3600
        os.utime(os.path.join(root, leftover), (ahead, ahead))

        self.restart_server()
        ftp = self.ftp()
        self.assertEqual(sha(self.retr(ftp, "report.bin")), sha(old))
        self.assertEqual(ftp.size("report.bin"), len(old))
        # Never listed...
        self.assertEqual(ftp.nlst(), ["report.bin"])
        lines = []
        ftp.retrlines("LIST -a", lines.append)
        self.assertFalse([line for line in lines if ".ferry-" in line], lines)
        self.assertEqual([n for n, _ in ftp.mlsd()], ["report.bin"])
        # ...nor reachable: reads say "no such file", changes "name not allowed".
        for cmd in (f"SIZE {leftover}", f"MDTM {leftover}", f"RNFR {leftover}", f"MLST {leftover}"):
            with self.assertRaises(ftplib.error_perm) as cm:
                ftp.sendcmd(cmd)
            self.assertTrue(str(cm.exception).startswith("550"), (cmd, str(cm.exception)))
        with self.assertRaises(ftplib.error_perm) as cm:
            self.retr(ftp, leftover)
        self.assertTrue(str(cm.exception).startswith("550"), str(cm.exception))
        for cmd in (f"DELE {leftover}", f"MKD .x.ferry-ABC123"):
            with self.assertRaises(ftplib.error_perm) as cm:
                ftp.sendcmd(cmd)
            self.assertTrue(str(cm.exception).startswith("553"), (cmd, str(cm.exception)))
        with self.assertRaises(ftplib.error_perm) as cm:
            self.stor(ftp, leftover, b"mine")
        self.assertTrue(str(cm.exception).startswith("553"), str(cm.exception))
        ftp.sendcmd("RNFR report.bin")
        with self.assertRaises(ftplib.error_perm) as cm:
            ftp.sendcmd(f"RNTO {leftover}")
        self.assertTrue(str(cm.exception).startswith("553"), str(cm.exception))

        # A listing removes it once it is stale (older than a few seconds and not locked by
        # a running upload); an upload in progress keeps its own temporary file.
        self.assertEqual(temp_files(root), [leftover])
        long_ago = time.time() - 3600
        os.utime(os.path.join(root, leftover), (long_ago, long_ago))
        live = self.ftp()
        conn = self.slow_upload(live, "report.bin", b"n" * 100_000,
                                lambda: [n for n in temp_files(root) if n != leftover])
        current = [n for n in temp_files(root) if n != leftover][0]
        os.utime(os.path.join(root, current), (long_ago, long_ago))
        ftp.nlst()
        self.assertEqual(temp_files(root), [current])
        conn.sendall(b"e" * 100_000)
        conn.close()
        self.assertTrue(live.voidresp().startswith("226"))
        self.assertEqual(read(os.path.join(root, "report.bin")), b"n" * 100_000 + b"e" * 100_000)
        self.assertEqual(temp_files(root), [])
        self.stop_cleanly()

    @unittest.skipUnless(CURL, "curl not installed")
    def test_sigkill_during_a_new_upload_leaves_a_part_that_curl_resumes(self):
        srv = self.start_server()
        root = srv.user_root()
        path = os.path.join(root, "new.bin")
        data = os.urandom(3 << 20)
        first = 512 * 1024
        uploader = self.ftp()
        self.slow_upload(uploader, "new.bin", data[:first],
                         lambda: os.path.exists(path) and os.path.getsize(path) == first)
        self.kill_server()
        self.assertEqual(read(path), data[:first])  # written in place: no temporary file
        self.assertEqual(temp_files(root), [])

        self.restart_server()
        ftp = self.ftp()
        self.assertEqual(ftp.size("new.bin"), first)
        p = self.curl_upload("new.bin", data, "-C", "-")
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        self.assertEqual(sha(read(path)), sha(data))
        self.assertIsNotNone(srv.wait_for_log(r"transfer ok: APPE /new\.bin "), srv.log_text())
        self.stop_cleanly()


def mount_tmpfs(test, size):
    """A fresh tmpfs of `size` (e.g. "1m"), unmounted at clean-up; skips the test if it cannot."""
    if os.geteuid() != 0:
        test.skipTest("mounting a tmpfs needs root")
    if shutil.which("mount") is None or shutil.which("umount") is None:
        test.skipTest("mount/umount not installed")
    directory = tempfile.mkdtemp(prefix="ferry-full-")
    test.addCleanup(shutil.rmtree, directory, True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", directory],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    if p.returncode != 0:
        test.skipTest("cannot mount a tmpfs here: " + p.stdout.decode(errors="replace").strip())
    test.addCleanup(subprocess.run, ["umount", "-l", directory], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, timeout=30)
    return directory


def free_blocks(directory):
    return os.statvfs(directory).f_bfree


class FullDiskTest(_Base):
    """A 1 MiB tmpfs as the fs_local root: uploads that do not fit answer 452."""

    def setUp(self):
        self.root = mount_tmpfs(self, "1m")
        self.keep = os.urandom(100_000)
        with open(os.path.join(self.root, "keep.bin"), "wb") as f:
            f.write(self.keep)
        self.start_server(root=self.root)

    def assert_storage_failure_logged(self, name):
        line = self.srv.wait_for_log(r"transfer failed: \w+ /" + re.escape(name) + r" .*No space left on device")
        self.assertIsNotNone(line, self.srv.log_text())

    def test_new_file_that_does_not_fit_is_refused_452_and_removed(self):
        ftp = self.ftp()
        free = free_blocks(self.root)
        reply = self.stor_refused(ftp, "big.bin", os.urandom(2 << 20))
        self.assertTrue(reply.startswith("452"), reply)
        self.assertFalse(os.path.exists(os.path.join(self.root, "big.bin")))
        self.assertEqual(temp_files(self.root), [])
        self.assertEqual(free_blocks(self.root), free)
        self.assert_storage_failure_logged("big.bin")
        self.assert_alive()
        self.assert_serving(ftp, "keep.bin", self.keep)
        small = os.urandom(200_000)
        self.assertTrue(self.stor(ftp, "small.bin", small).startswith("226"))
        self.assertEqual(read(os.path.join(self.root, "small.bin")), small)
        self.stop_cleanly()

    def test_overwrite_that_does_not_fit_keeps_the_old_file(self):
        ftp = self.ftp()
        old = os.urandom(300_000)
        self.assertTrue(self.stor(ftp, "doc.bin", old).startswith("226"))
        free = free_blocks(self.root)
        reply = self.stor_refused(ftp, "doc.bin", os.urandom(2 << 20))
        self.assertTrue(reply.startswith("452"), reply)
        self.assertEqual(sha(read(os.path.join(self.root, "doc.bin"))), sha(old))
        self.assertEqual(temp_files(self.root), [])
        self.assertEqual(free_blocks(self.root), free)
        self.assert_storage_failure_logged("doc.bin")
        self.assert_alive()
        self.assert_serving(ftp, "doc.bin", old)
        new = os.urandom(250_000)
        self.assertTrue(self.stor(ftp, "doc.bin", new).startswith("226"))
        self.assertEqual(read(os.path.join(self.root, "doc.bin")), new)
        self.stop_cleanly()

    def test_appe_that_does_not_fit_cuts_the_file_back(self):
        ftp = self.ftp()
        free = free_blocks(self.root)
        reply = self.stor_refused(ftp, "keep.bin", os.urandom(2 << 20), cmd="APPE")
        self.assertTrue(reply.startswith("452"), reply)
        self.assertEqual(sha(read(os.path.join(self.root, "keep.bin"))), sha(self.keep))
        self.assertEqual(free_blocks(self.root), free)
        self.assert_storage_failure_logged("keep.bin")
        self.assert_serving(ftp, "keep.bin", self.keep)
        self.stop_cleanly()

    @unittest.skipUnless(CURL, "curl not installed")
    def test_curl_upload_to_a_full_disk_fails_and_others_keep_working(self):
        watcher = self.ftp()  # a session open during the failure
        free = free_blocks(self.root)
        p = self.curl_upload("big.bin", os.urandom(2 << 20))
        self.assertNotEqual(p.returncode, 0)
        # curl may give up on the broken data connection before the server has cleaned up:
        # the log line comes after the partial file is gone.
        self.assert_storage_failure_logged("big.bin")
        self.assertFalse(os.path.exists(os.path.join(self.root, "big.bin")))
        self.assertEqual(free_blocks(self.root), free)
        self.assert_alive()
        self.assert_serving(watcher, "keep.bin", self.keep)
        self.stop_cleanly()


class FileSizeLimitTest(_Base):
    """RLIMIT_FSIZE on the running server: writes past it fail with EFBIG, answered 552."""

    LIMIT = 256 * 1024

    def setUp(self):
        self.start_server()
        self.root = self.srv.user_root()
        resource.prlimit(self.srv.proc.pid, resource.RLIMIT_FSIZE, (self.LIMIT, self.LIMIT))

    def assert_limit_logged(self, name):
        line = self.srv.wait_for_log(r"transfer failed: STOR /" + re.escape(name) + r" .*File too large")
        self.assertIsNotNone(line, self.srv.log_text())

    def test_new_file_past_the_limit_552_removed_and_server_alive(self):
        ftp = self.ftp()
        reply = self.stor_refused(ftp, "huge.bin", os.urandom(1 << 20))
        self.assertTrue(reply.startswith("552"), reply)
        self.assert_alive()
        self.assertFalse(os.path.exists(os.path.join(self.root, "huge.bin")))
        self.assert_limit_logged("huge.bin")
        small = os.urandom(100_000)
        self.assertTrue(self.stor(ftp, "small.bin", small).startswith("226"))
        self.assert_serving(ftp, "small.bin", small)
        self.stop_cleanly()

    def test_overwrite_past_the_limit_keeps_the_old_file(self):
        ftp = self.ftp()
        old = os.urandom(100_000)
        self.assertTrue(self.stor(ftp, "doc.bin", old).startswith("226"))
        reply = self.stor_refused(ftp, "doc.bin", os.urandom(1 << 20))
        self.assertTrue(reply.startswith("552"), reply)
        self.assert_alive()
        self.assertEqual(sha(read(os.path.join(self.root, "doc.bin"))), sha(old))
        self.assertEqual(temp_files(self.root), [])
        self.assert_limit_logged("doc.bin")
        self.assert_serving(ftp, "doc.bin", old)
        self.stop_cleanly()


if __name__ == "__main__":
    unittest.main()
