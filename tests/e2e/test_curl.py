"""curl as an FTP client against ferryd: download, listing, headers, PASV/EPSV, bad login."""

import email.utils
import os
import shutil
import subprocess
import tempfile
import unittest

from ferryd_harness import IMAGE_MTIME, ServerTestCase, subprocess_env

CURL = shutil.which("curl")


@unittest.skipUnless(CURL, "curl not installed")
class CurlTest(ServerTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ferry-curl-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def curl(self, *args, password=None, path="/ferry.png", timeout=30):
        pw = self.server.password if password is None else password
        url = f"ftp://127.0.0.1:{self.server.port}{path}"
        cmd = [CURL, "--silent", "--show-error", "--max-time", "20", "--connect-timeout", "5",
               "--noproxy", "*", "-u", f"{self.server.user}:{pw}"] + list(args) + [url]
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=timeout, cwd=self.tmp,
                              env=subprocess_env(self.tmp))

    def assertDownloads(self, *args):
        out = os.path.join(self.tmp, "x.png")
        p = self.curl("-v", *args, "-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), self.server.image_bytes)
        return p.stderr.decode(errors="replace")

    def test_download_identical_bytes(self):
        self.assertDownloads()

    def test_download_forced_pasv(self):
        # --disable-epsv makes curl use PASV instead of EPSV
        trace = self.assertDownloads("--ftp-pasv", "--disable-epsv")
        self.assertIn("> PASV", trace)
        self.assertNotIn("> EPSV", trace)
        self.assertIn("< 227", trace)

    def test_download_epsv(self):
        trace = self.assertDownloads("--ftp-pasv")
        self.assertIn("> EPSV", trace)
        self.assertIn("< 229", trace)

    def test_resume_range(self):
        p = self.curl("-r", "1000-")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.server.image_bytes[1000:])

    def test_byte_range(self):
        p = self.curl("-r", "10-99")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.server.image_bytes[10:100])

    def test_listing(self):
        p = self.curl(path="/")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].endswith(" ferry.png"), lines)
        self.assertIn(str(len(self.server.image_bytes)), lines[0].split())

    def test_list_only(self):
        p = self.curl("--list-only", path="/")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode().split(), ["ferry.png"])

    def test_head_content_length_and_last_modified(self):
        p = self.curl("-I")
        self.assertEqual(p.returncode, 0, p.stderr)
        headers = {}
        for line in p.stdout.decode().splitlines():
            k, sep, v = line.partition(":")
            if sep:
                headers[k.strip().lower()] = v.strip()
        self.assertEqual(headers.get("content-length"), str(len(self.server.image_bytes)), headers)
        self.assertIn("last-modified", headers)
        when = email.utils.parsedate_to_datetime(headers["last-modified"])
        self.assertEqual(int(when.timestamp()), IMAGE_MTIME)

    def test_wrong_password_exit_67(self):
        p = self.curl("-o", os.path.join(self.tmp, "x.png"), password="wrong-password")
        self.assertEqual(p.returncode, 67, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.png")))

    def test_missing_file_exit_78(self):
        p = self.curl("-o", os.path.join(self.tmp, "x.png"), path="/nope.png")
        self.assertEqual(p.returncode, 78, p.stderr)  # CURLE_REMOTE_FILE_NOT_FOUND

    def test_upload_refused_on_read_only_mount(self):
        src = os.path.join(self.tmp, "up.bin")
        with open(src, "wb") as f:
            f.write(b"payload")
        p = self.curl("-T", src, path="/up.bin")
        self.assertEqual(p.returncode, 25, p.stderr)  # CURLE_UPLOAD_FAILED
        self.assertIn(b"55", p.stderr)  # "... 550" / "553" in curl's message


if __name__ == "__main__":
    unittest.main()
