"""What an authenticator's Identity does to a session: a login lands in its home (PWD shows
it), a home that is no directory falls back to "/", and a read-only identity changes
nothing on a writable mount (550, as a read-only mount answers) while it still reads.

The identity comes from the identity_auth fixture (tests/fixtures), which hands out the
home and read-only flag given in its [auth] table, and from auth_file's optional fields
("name:hash:home:ro").
"""

import ftplib
import io
import os
import unittest

from ferryd_harness import FerryServer, close_quietly, fs_local_mounts


def identity_server(home="/", read_only=False):
    extra = f'password = "fixture-pw"\nhome = "{home}"\nread_only = {"true" if read_only else "false"}'
    return FerryServer(auth_plugin="identity_auth", fixture_plugins=True, auth_extra=extra,
                       password="fixture-pw", mounts=fs_local_mounts(writable=True, welcome=False))


class HomeTest(unittest.TestCase):
    def test_a_login_lands_in_its_home(self):
        with identity_server(home="/docs/") as srv:
            root = srv.user_root()
            os.makedirs(os.path.join(root, "docs"))
            with open(os.path.join(root, "docs", "in-home.txt"), "w") as f:
                f.write("here")
            ftp = srv.ftp()
            self.addCleanup(close_quietly, ftp)
            self.assertEqual(ftp.pwd(), "/docs")  # normalised
            self.assertEqual(ftp.nlst(), ["in-home.txt"])  # relative names resolve in the home
            ftp.cwd("/")
            self.assertEqual(ftp.pwd(), "/")  # a home is where a session starts, not a jail

    def test_a_home_that_is_no_directory_starts_at_the_root(self):
        with identity_server(home="/nowhere") as srv:
            srv.user_root()
            ftp = srv.ftp()
            self.addCleanup(close_quietly, ftp)
            self.assertEqual(ftp.pwd(), "/")
            self.assertIsNotNone(srv.wait_for_log(r"home directory of alice is no directory here: starting in /"))


class ReadOnlyTest(unittest.TestCase):
    def test_a_read_only_identity_changes_nothing_but_reads(self):
        with identity_server(read_only=True) as srv:
            root = srv.user_root()
            os.makedirs(os.path.join(root, "dir"))
            with open(os.path.join(root, "keep.txt"), "w") as f:
                f.write("original")
            mode = os.stat(os.path.join(root, "keep.txt")).st_mode
            ftp = srv.ftp()
            self.addCleanup(close_quietly, ftp)

            def refused(call, *args):
                with self.assertRaises(ftplib.error_perm) as cm:
                    call(*args)
                self.assertTrue(str(cm.exception).startswith("550"), str(cm.exception))

            refused(ftp.storbinary, "STOR keep.txt", io.BytesIO(b"overwritten"))
            refused(ftp.storbinary, "STOR new.txt", io.BytesIO(b"new"))
            refused(ftp.storbinary, "APPE keep.txt", io.BytesIO(b"more"))
            refused(ftp.storbinary, "STOU", io.BytesIO(b"unique"))
            refused(ftp.delete, "keep.txt")
            refused(ftp.mkd, "made")
            refused(ftp.rmd, "dir")
            refused(ftp.rename, "keep.txt", "renamed.txt")
            refused(ftp.sendcmd, "MFMT 20200101000000 keep.txt")
            refused(ftp.sendcmd, "SITE CHMOD 600 keep.txt")

            # Reading still works, and nothing is offered as writable.
            got = io.BytesIO()
            ftp.retrbinary("RETR keep.txt", got.write)
            self.assertEqual(got.getvalue(), b"original")
            facts = dict(ftp.mlsd("/", facts=["perm"]))
            self.assertNotIn("w", facts["keep.txt"]["perm"])
            self.assertNotIn("c", facts["dir"]["perm"])

            self.assertEqual(sorted(os.listdir(root)), ["dir", "keep.txt"])
            with open(os.path.join(root, "keep.txt")) as f:
                self.assertEqual(f.read(), "original")
            self.assertEqual(os.stat(os.path.join(root, "keep.txt")).st_mode, mode)

    def test_the_same_mount_is_writable_for_a_writable_identity(self):
        with identity_server(read_only=False) as srv:
            root = srv.user_root()
            ftp = srv.ftp()
            self.addCleanup(close_quietly, ftp)
            ftp.storbinary("STOR new.txt", io.BytesIO(b"new"))
            ftp.mkd("made")
            self.assertEqual(sorted(os.listdir(root)), ["made", "new.txt"])


class AuthFileFieldsTest(unittest.TestCase):
    def test_auth_file_gives_the_home_and_read_only_fields_of_its_line(self):
        srv = FerryServer(mounts=fs_local_mounts(writable=True, welcome=False))
        self.addCleanup(srv.cleanup)
        srv.write_files()
        with open(srv.users_path) as f:
            line = f.read().strip()
        with open(srv.users_path, "w") as f:
            f.write(line + ":/docs:ro\n")
        os.makedirs(os.path.join(srv.user_root(), "docs"))
        with srv:
            ftp = srv.ftp()
            self.addCleanup(close_quietly, ftp)
            self.assertEqual(ftp.pwd(), "/docs")
            with self.assertRaises(ftplib.error_perm) as cm:
                ftp.storbinary("STOR x.txt", io.BytesIO(b"x"))
            self.assertTrue(str(cm.exception).startswith("550"), str(cm.exception))
            self.assertEqual(os.listdir(os.path.join(srv.user_root(), "docs")), [])


if __name__ == "__main__":
    unittest.main()
