"""A verified upload in one pass: a session that selected a digest (OPTS HASH) before STOR
has its upload digested as the bytes arrive, and HASH (or XSHA256 and kin) of that file
answers from that digest instead of reading the file again, for as long as the file is
unchanged: same device and inode, size, modification and change times to the nanosecond.

Whether ferryd read the file is told by its /proc/PID/io `rchar` (bytes it read through
read/pread): a HASH answered from the upload's digest reads next to nothing, a HASH that
recomputes reads the whole file. Every digest is checked against hashlib's.
"""

import ftplib
import hashlib
import io
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

from ferryd_harness import (FERRY, NET_TIMEOUT, ServerTestCase, close_quietly, fs_local_mounts, make_test_certificate,
                            subprocess_env, toml_str)

SIZE = 3 * 1024 * 1024 + 12345  # not a multiple of any buffer
ALGORITHMS = {"SHA-256": ("sha256", "XSHA256"), "SHA-512": ("sha512", "XSHA512"),
              "SHA-1": ("sha1", "XSHA1"), "MD5": ("md5", "XMD5")}
CERT_DIR = None


def setUpModule():
    global CERT_DIR
    CERT_DIR = tempfile.mkdtemp(prefix="ferry-verified-")
    make_test_certificate(CERT_DIR)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


class SessionReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def hash_reply_hex(reply):
    # "213 SHA-256 0-123 <hex> <path>"
    return reply.split()[3]


class VerifiedUploadTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server_kwargs = {
            "mounts": fs_local_mounts(),
            "config_extra": "[tls]\n"
                            f"certificate = {toml_str(os.path.join(CERT_DIR, 'cert.pem'))}\n"
                            f"private_key = {toml_str(os.path.join(CERT_DIR, 'key.pem'))}\n",
        }
        super().setUpClass()

    def setUp(self):
        self.root = self.server.user_root()
        self.payload = os.urandom(SIZE)

    # ---- helpers ---------------------------------------------------------------------
    def rchar(self):
        with open(f"/proc/{self.server.proc.pid}/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
        raise AssertionError("no rchar in /proc/PID/io")

    def timed_read(self, call):
        """call()'s result and how many bytes ferryd read meanwhile."""
        before = self.rchar()
        result = call()
        return result, self.rchar() - before

    def assert_from_upload(self, read):
        self.assertLess(read, SIZE // 4, "HASH read the file again; log:\n" + self.server.log_text()[-2000:])

    def assert_recomputed(self, read):
        self.assertGreaterEqual(read, SIZE, "HASH answered without reading the changed file")

    def upload(self, f, name, data=None, algorithm="SHA-256"):
        if algorithm:
            self.assertEqual(f.sendcmd(f"OPTS HASH {algorithm}")[:3], "200")
        f.storbinary(f"STOR {name}", io.BytesIO(self.payload if data is None else data))

    def hash(self, f, name):
        return self.timed_read(lambda: hash_reply_hex(f.sendcmd(f"HASH {name}")))

    # ---- tests -----------------------------------------------------------------------
    def test_hash_after_stor_answers_each_algorithm_from_the_upload(self):
        f = self.ftp()
        for algorithm, (py, xcmd) in ALGORITHMS.items():
            with self.subTest(algorithm=algorithm):
                name = f"each-{py}.bin"
                self.upload(f, name, algorithm=algorithm)
                want = hashlib.new(py, self.payload).hexdigest()
                got, read = self.hash(f, name)
                self.assertEqual(got, want)
                self.assert_from_upload(read)
                # The X-command of the same algorithm too; another algorithm reads the file.
                got, read = self.timed_read(lambda: f.sendcmd(f"{xcmd} {name}").split()[1])
                self.assertEqual(got, want)
                self.assert_from_upload(read)
        other, read = self.timed_read(lambda: f.sendcmd("XSHA512 each-md5.bin").split()[1])
        self.assertEqual(other, hashlib.sha512(self.payload).hexdigest())
        self.assert_recomputed(read)

    def test_upload_without_opts_hash_is_hashed_by_reading(self):
        f = self.ftp()
        self.upload(f, "plain.bin", algorithm=None)
        got, read = self.timed_read(lambda: f.sendcmd("XSHA256 plain.bin").split()[1])
        self.assertEqual(got, hashlib.sha256(self.payload).hexdigest())
        self.assert_recomputed(read)

    def test_replaced_by_another_session_with_the_same_size(self):
        f = self.ftp()
        other = self.ftp()
        self.upload(f, "replaced.bin")
        replacement = os.urandom(SIZE)
        self.upload(other, "replaced.bin", data=replacement, algorithm=None)  # a new inode, renamed over
        got, read = self.hash(f, "replaced.bin")
        self.assertEqual(got, hashlib.sha256(replacement).hexdigest())
        self.assert_recomputed(read)

    def test_overwritten_in_place_by_another_session_with_the_same_size(self):
        f = self.ftp()
        other = self.ftp()
        self.upload(f, "inplace.bin")
        tail = os.urandom(SIZE - 1000)
        other.voidcmd("TYPE I")
        other.storbinary("STOR inplace.bin", io.BytesIO(tail), rest=1000)  # REST 1000: same inode, same size
        self.assertEqual(os.path.getsize(os.path.join(self.root, "inplace.bin")), SIZE)
        got, read = self.hash(f, "inplace.bin")
        self.assertEqual(got, hashlib.sha256(self.payload[:1000] + tail).hexdigest())
        self.assert_recomputed(read)

    def test_written_by_another_session_during_the_upload(self):
        """Another session writes into the new file while it is being uploaded (REST + STOR
        opens the same inode): the upload's digest is not the file's, and HASH reads."""
        f = self.ftp()
        other = self.ftp()
        f.sendcmd("OPTS HASH SHA-256")
        f.voidcmd("TYPE I")
        conn = f.transfercmd("STOR during.bin")
        half = SIZE // 2
        conn.sendall(self.payload[:half])
        path = os.path.join(self.root, "during.bin")
        for _ in range(200):  # bounded: until the first half is on disk
            if os.path.getsize(path) >= half:
                break
            time.sleep(0.01)
        other.voidcmd("TYPE I")
        other.storbinary("STOR during.bin", io.BytesIO(b"B" * 4096), rest=100)
        conn.sendall(self.payload[half:])
        conn.close()
        f.voidresp()
        with open(path, "rb") as on_disk:
            content = on_disk.read()
        self.assertNotEqual(content, self.payload)
        got, _ = self.hash(f, "during.bin")
        self.assertEqual(got, hashlib.sha256(content).hexdigest())

    def test_changed_on_disk_with_the_same_size_and_times(self):
        """Written in place at once (the same clock tick) with its modification time put
        back: the change time still tells."""
        f = self.ftp()
        self.upload(f, "disk.bin")
        path = os.path.join(self.root, "disk.bin")
        st = os.stat(path)
        with open(path, "r+b") as out:
            out.write(b"changed!")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        got, read = self.hash(f, "disk.bin")
        self.assertEqual(got, hashlib.sha256(b"changed!" + self.payload[8:]).hexdigest())
        self.assert_recomputed(read)

    def test_replaced_on_disk_by_a_file_of_the_same_size(self):
        f = self.ftp()
        self.upload(f, "swapped.bin")
        path = os.path.join(self.root, "swapped.bin")
        replacement = os.urandom(SIZE)
        with open(path + ".new", "wb") as out:
            out.write(replacement)
        os.replace(path + ".new", path)
        got, read = self.hash(f, "swapped.bin")
        self.assertEqual(got, hashlib.sha256(replacement).hexdigest())
        self.assert_recomputed(read)

    def test_unchanged_after_other_commands_still_answers_from_the_upload(self):
        f = self.ftp()
        self.upload(f, "kept.bin")
        self.assertEqual(f.size("kept.bin"), SIZE)
        f.sendcmd("NOOP")
        got, read = self.hash(f, "kept.bin")
        self.assertEqual(got, hashlib.sha256(self.payload).hexdigest())
        self.assert_from_upload(read)
        got, read = self.hash(f, "kept.bin")  # asked twice: still the same answer
        self.assertEqual(got, hashlib.sha256(self.payload).hexdigest())
        self.assert_from_upload(read)

    def test_only_the_last_upload_of_the_session_and_its_path(self):
        f = self.ftp()
        self.upload(f, "first.bin")
        second = os.urandom(SIZE)
        self.upload(f, "second.bin", data=second)
        got, read = self.hash(f, "first.bin")  # no longer the session's last upload
        self.assertEqual(got, hashlib.sha256(self.payload).hexdigest())
        self.assert_recomputed(read)
        got, read = self.hash(f, "second.bin")
        self.assertEqual(got, hashlib.sha256(second).hexdigest())
        self.assert_from_upload(read)
        # Another session asking has no upload of its own: it reads.
        got, read = self.hash(self.ftp(), "second.bin")
        self.assertEqual(got, hashlib.sha256(second).hexdigest())
        self.assert_recomputed(read)

    def test_resume_and_append_give_the_whole_files_digest(self):
        f = self.ftp()
        f.sendcmd("OPTS HASH SHA-256")
        f.voidcmd("TYPE I")
        half = SIZE // 2
        f.storbinary("STOR resumed.bin", io.BytesIO(self.payload[:half]))
        f.storbinary("STOR resumed.bin", io.BytesIO(self.payload[half:]), rest=half)
        got, _ = self.hash(f, "resumed.bin")
        self.assertEqual(got, hashlib.sha256(self.payload).hexdigest())
        f.storbinary("APPE resumed.bin", io.BytesIO(b"appended"))
        got, _ = self.hash(f, "resumed.bin")
        self.assertEqual(got, hashlib.sha256(self.payload + b"appended").hexdigest())
        # APPE creating the file: the whole file is what arrived.
        f.storbinary("APPE appended-new.bin", io.BytesIO(self.payload))
        got, _ = self.hash(f, "appended-new.bin")
        self.assertEqual(got, hashlib.sha256(self.payload).hexdigest())

    def test_ascii_upload_digests_the_converted_bytes(self):
        f = self.ftp()
        f.sendcmd("OPTS HASH SHA-256")
        lines = b"".join(b"line %d of the file\r\n" % i for i in range(200000))
        f.voidcmd("TYPE A")
        conn = f.transfercmd("STOR text.txt")
        conn.sendall(lines + b"no newline at the end\r")
        conn.close()
        f.voidresp()
        with open(os.path.join(self.root, "text.txt"), "rb") as got_file:
            on_disk = got_file.read()
        self.assertEqual(on_disk, lines.replace(b"\r\n", b"\n") + b"no newline at the end\r")
        got, read = self.timed_read(lambda: f.sendcmd("XSHA256 text.txt").split()[1])
        self.assertEqual(got, hashlib.sha256(on_disk).hexdigest())
        self.assertLess(read, len(on_disk) // 4)

    def test_tls_upload_answers_from_the_upload(self):
        context = ssl.create_default_context(cafile=os.path.join(CERT_DIR, "cert.pem"))
        f = SessionReusingFTP_TLS(context=context, timeout=NET_TIMEOUT)
        self.addCleanup(close_quietly, f)
        f.connect("127.0.0.1", self.server.port)
        f.auth()
        f.login(self.server.user, self.server.password)
        f.prot_p()
        self.upload(f, "tls.bin", algorithm="SHA-512")
        got, read = self.hash(f, "tls.bin")
        self.assertEqual(got, hashlib.sha512(self.payload).hexdigest())
        self.assert_from_upload(read)

    def test_ferry_put_is_verified_without_the_server_reading_the_file(self):
        work = tempfile.mkdtemp(prefix="ferry-put-")
        self.addCleanup(shutil.rmtree, work, True)
        src = os.path.join(work, "put.bin")
        with open(src, "wb") as out:
            out.write(self.payload)
        before = self.rchar()
        proc = subprocess.run([FERRY, "-v", "put", src, self.server.url("/put.bin")], capture_output=True, text=True,
                              timeout=60, env=subprocess_env(work, FERRY_PASSWORD=self.server.password))
        read = self.rchar() - before
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("SHA-256 matches the server (" + hashlib.sha256(self.payload).hexdigest(), proc.stdout + proc.stderr)
        self.assertIn("OPTS HASH SHA-256", proc.stderr.split("STOR")[0])  # asked for before the upload
        self.assert_from_upload(read)
        # Resumed (-c): the first part is the server's already; the digest still covers it all.
        with open(os.path.join(self.root, "put.bin"), "r+b") as cut:
            cut.truncate(SIZE // 3)
        proc = subprocess.run([FERRY, "put", "-c", src, self.server.url("/put.bin")], capture_output=True, text=True,
                              timeout=60, env=subprocess_env(work, FERRY_PASSWORD=self.server.password))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("SHA-256 matches the server", proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()
