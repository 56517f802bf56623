"""The bundled `ferry` client against ferryd (and against a lying fake server)."""

import glob
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from ferryd_harness import FERRY, ServerTestCase, subprocess_env

# A healthy `ferry` run against a loopback server finishes in well under a second (a refused
# login in about one). The bound is generous but far below the client's 60 s network
# timeout, so a client that lingers after its job is done fails here instead of passing late.
EXIT_TIMEOUT = float(os.environ.get("FERRY_EXIT_TIMEOUT", "5"))


class FerryRun:
    def __init__(self, returncode, stdout, stderr, timed_out):
        self.returncode, self.stdout, self.stderr, self.timed_out = returncode, stdout, stderr, timed_out

    def __repr__(self):
        state = f"did not exit within {EXIT_TIMEOUT}s" if self.timed_out else f"exit {self.returncode}"
        return f"<ferry {state}; stdout={self.stdout!r}; stderr={self.stderr!r}>"


def run_ferry(args, home, cwd=None, password=None, timeout=EXIT_TIMEOUT):
    env = subprocess_env(home)
    if password is not None:
        env["FERRY_PASSWORD"] = password
    proc = subprocess.Popen([FERRY] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd or home, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=5)
        timed_out = True
    return FerryRun(None if timed_out else proc.returncode, out.decode(errors="replace"),
                    err.decode(errors="replace"), timed_out)


class ClientTestMixin:
    def make_tmp(self):
        tmp = tempfile.mkdtemp(prefix="ferry-client-")
        self.addCleanup(shutil.rmtree, tmp, True)
        return tmp

    def assertExit(self, run, code):
        self.assertFalse(run.timed_out, f"ferry hung after its job: {run!r}")
        self.assertEqual(run.returncode, code, repr(run))

    def assertOneLineError(self, run):
        lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
        self.assertEqual(len(lines), 1, f"want a one-line message: {run!r}")
        self.assertTrue(lines[0].startswith("ferry:"), repr(run))

    def assertNoPartials(self, directory):
        self.assertEqual(glob.glob(os.path.join(directory, "*.part")), [])
        self.assertEqual(glob.glob(os.path.join(directory, ".*.part")), [])


class FerryClientTest(ClientTestMixin, ServerTestCase):

    def setUp(self):
        self.home = self.make_tmp()

    def ferry(self, *args, password="<default>", cwd=None):
        pw = self.server.password if password == "<default>" else password
        return run_ferry(args, self.home, cwd=cwd, password=pw)

    def test_ls(self):
        run = self.ferry("ls", self.server.url("/"))
        self.assertExit(run, 0)
        lines = run.stdout.splitlines()
        self.assertEqual(len(lines), 1, repr(run))
        self.assertTrue(lines[0].endswith("ferry.png"), repr(run))
        self.assertIn(str(len(self.server.image_bytes)), lines[0].split())

    def test_get_identical_bytes_verified(self):
        run = self.ferry("get", self.server.url())
        self.assertExit(run, 0)
        with open(os.path.join(self.home, "ferry.png"), "rb") as f:
            self.assertEqual(f.read(), self.server.image_bytes)
        self.assertIn("SHA-256", run.stdout)
        self.assertIn("match", run.stdout)
        self.assertIn(hashlib.sha256(self.server.image_bytes).hexdigest(), run.stdout)
        self.assertNoPartials(self.home)

    def test_get_output_path(self):
        dest = os.path.join(self.home, "sub", "picture.png")
        os.makedirs(os.path.dirname(dest))
        run = self.ferry("get", self.server.url(), "-o", dest)
        self.assertExit(run, 0)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), self.server.image_bytes)
        self.assertEqual(sorted(os.listdir(os.path.dirname(dest))), ["picture.png"])
        self.assertFalse(os.path.exists(os.path.join(self.home, "ferry.png")))

    def test_get_output_directory_keeps_remote_name(self):
        dest = os.path.join(self.home, "dir")
        os.makedirs(dest)
        run = self.ferry("get", self.server.url(), "-o", dest)
        self.assertExit(run, 0)
        with open(os.path.join(dest, "ferry.png"), "rb") as f:
            self.assertEqual(f.read(), self.server.image_bytes)
        self.assertNoPartials(dest)

    def test_get_continue_resumes_partial(self):
        part = os.path.join(self.home, "ferry.png.part")
        with open(part, "wb") as f:
            f.write(self.server.image_bytes[:5000])
        run = self.ferry("get", self.server.url(), "-c")
        self.assertExit(run, 0)
        with open(os.path.join(self.home, "ferry.png"), "rb") as f:
            self.assertEqual(f.read(), self.server.image_bytes)
        self.assertNoPartials(self.home)

    def test_wrong_password_exit_4_one_line(self):
        run = self.ferry("get", self.server.url(), password="wrong-password")
        self.assertExit(run, 4)
        self.assertOneLineError(run)
        self.assertNotIn("wrong-password", run.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.home, "ferry.png")))
        self.assertNoPartials(self.home)

    def test_missing_file_exit_5(self):
        run = self.ferry("get", self.server.url("/nope.png"))
        self.assertExit(run, 5)
        self.assertOneLineError(run)
        self.assertEqual(os.listdir(self.home), [])

    def test_nothing_listening_exit_3(self):
        with socket.socket() as s:  # a port that was free a moment ago
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        run = self.ferry("get", f"ftp://alice@127.0.0.1:{port}/ferry.png")
        self.assertExit(run, 3)
        self.assertOneLineError(run)

    def test_connect_timeout_exit_3(self):
        # A listener whose backlog is full drops the SYN: the connection never completes.
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):
            filler = socket.socket()
            self.addCleanup(filler.close)
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
        time.sleep(0.3)
        run = self.ferry("--timeout", "1", "ls", f"ftp://alice@127.0.0.1:{port}/")
        self.assertExit(run, 3)
        self.assertOneLineError(run)
        self.assertIn("cannot connect to 127.0.0.1", run.stderr)

    def test_no_greeting_exit_3(self):
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # accepted by the kernel, never answered
        run = self.ferry("--timeout", "1", "ls", f"ftp://alice@127.0.0.1:{listener.getsockname()[1]}/")
        self.assertExit(run, 3)
        self.assertOneLineError(run)
        self.assertIn("no greeting", run.stderr)

    def test_no_password_anywhere_exit_2(self):
        run = self.ferry("get", self.server.url(), password=None)
        self.assertExit(run, 2)

    def test_password_from_netrc(self):
        netrc = os.path.join(self.home, ".netrc")
        with open(netrc, "w") as f:
            f.write(f"machine 127.0.0.1 login {self.server.user} password {self.server.password}\n")
        os.chmod(netrc, 0o600)
        run = self.ferry("get", self.server.url(), password=None)
        self.assertExit(run, 0)
        with open(os.path.join(self.home, "ferry.png"), "rb") as f:
            self.assertEqual(f.read(), self.server.image_bytes)

    def test_env_password_wins_over_netrc(self):
        with open(os.path.join(self.home, ".netrc"), "w") as f:
            f.write(f"machine 127.0.0.1 login {self.server.user} password not-it\n")
        os.chmod(os.path.join(self.home, ".netrc"), 0o600)
        run = self.ferry("ls", self.server.url("/"))
        self.assertExit(run, 0)

    def test_usage_error_exit_2(self):
        run = self.ferry("get")
        self.assertExit(run, 2)
        run = self.ferry("get", "http://127.0.0.1/x")
        self.assertExit(run, 2)


# ---------------------------------------------------------------------------------------
# A fake FTP server that serves some bytes but can lie about their hash.

class FakeFtpServer:
    """Minimal, bounded FTP server on 127.0.0.1:0 (threads; sockets time out after 10 s)."""

    def __init__(self, payload, lie=True, refuse_retr=False, files=None, retr_delay=None, listing=None,
                 size=None, replies=None, features=""):
        self.payload = payload
        self.lie = lie
        self.refuse_retr = refuse_retr  # RETR answers 451 (a transfer that fails)
        # {absolute path: bytes}: serve these (and MLSD their directories) instead of `payload`
        self.files = files
        self.retr_delay = retr_delay or {}  # {path: seconds between the 150 and the data}
        self.listing = listing  # directory -> MLSD bytes, instead of listing `files`
        self.size = size  # what SIZE answers, when not the true size
        self.replies = replies or {}  # {verb: reply line}: answered instead of the usual reply
        self.features = features  # more FEAT lines, e.g. " MFMT\r\n"
        self.true_digest = hashlib.sha256(payload).hexdigest()
        self.digest = hashlib.sha256(b"not the payload").hexdigest() if lie else self.true_digest
        self.commands = []
        self.lines = []  # the command lines as received
        self.stop_event = threading.Event()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.threads = []

    def __enter__(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=10)
        self.listener.close()
        return False

    def current_digest(self, path=None):
        """The digest HASH reports: the lie, or the true digest of the payload as it is now."""
        return self.digest if self.lie else hashlib.sha256(self.content(path)).hexdigest()

    def content(self, path):
        return self.payload if self.files is None else self.files.get(path, b"")

    def mlsd(self, directory):
        """The MLSD bytes of `directory`; None answers 550."""
        directory = directory.rstrip("/") or "/"
        if self.listing:
            return self.listing(directory)
        lines = [f"type=file;size={len(data)};modify=20210304050607; {os.path.basename(path)}\r\n"
                 for path, data in sorted(self.files.items()) if os.path.dirname(path) == directory]
        return "".join(lines).encode()

    def _accept_loop(self):
        deadline = time.monotonic() + 60
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._session, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _session(self, conn):
        conn.settimeout(10)
        data_listener = None
        rest = 0
        f = conn.makefile("rb")

        def say(text):
            conn.sendall(text.encode() + b"\r\n")

        try:
            say("220 fake ready")
            for _ in range(200):
                raw = f.readline(4096)
                if not raw:
                    break
                line = raw.decode(errors="replace").rstrip("\r\n")
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                self.commands.append(verb)
                self.lines.append(line)
                if verb in self.replies:
                    say(self.replies[verb])
                elif verb == "USER":
                    say("331 password please")
                elif verb == "PASS":
                    say("230 ok")
                elif verb in ("TYPE", "MODE", "STRU", "NOOP"):
                    say("200 ok")
                elif verb == "OPTS":
                    say("200 SHA-256" if arg.upper().startswith("HASH") else "200 ok")
                elif verb == "FEAT":
                    mlst = " MLST type*;size*;modify*;\r\n" if self.files is not None else ""
                    say("211-Features:\r\n EPSV\r\n PASV\r\n HASH SHA-256*\r\n SIZE\r\n"
                        f" MDTM\r\n REST STREAM\r\n UTF8\r\n{mlst}{self.features}211 End")
                elif verb == "PWD":
                    say('257 "/"')
                elif verb == "SIZE":
                    say(f"213 {len(self.content(arg)) if self.size is None else self.size}")
                elif verb == "MDTM":
                    say("213 20210304050607")
                elif verb == "REST":
                    rest = int(arg)
                    say(f"350 restarting at {rest}")
                elif verb in ("EPSV", "PASV"):
                    if data_listener:
                        data_listener.close()
                    data_listener = socket.socket()
                    data_listener.bind(("127.0.0.1", 0))
                    data_listener.listen(1)
                    data_listener.settimeout(10)
                    p = data_listener.getsockname()[1]
                    if verb == "EPSV":
                        say(f"229 Entering Extended Passive Mode (|||{p}|)")
                    else:
                        say(f"227 Entering Passive Mode (127,0,0,1,{p >> 8},{p & 255})")
                elif verb == "RETR" and self.refuse_retr:
                    say("451 local error in processing")
                elif verb == "RETR":
                    if data_listener is None:
                        say("425 use PASV first")
                        continue
                    say("150 here it comes")
                    d, _ = data_listener.accept()
                    time.sleep(self.retr_delay.get(arg, 0))
                    d.sendall(self.content(arg)[rest:])
                    d.close()
                    data_listener.close()
                    data_listener = None
                    rest = 0
                    say("226 done")
                elif verb == "STOR":  # keeps what it receives as the new payload (put tests)
                    if data_listener is None:
                        say("425 use PASV first")
                        continue
                    say("150 send it")
                    d, _ = data_listener.accept()
                    d.settimeout(10)
                    chunks = []
                    while True:
                        chunk = d.recv(65536)
                        if not chunk:
                            break
                        chunks.append(chunk)
                    d.close()
                    data_listener.close()
                    data_listener = None
                    self.payload = (self.payload[:rest] if rest else b"") + b"".join(chunks)
                    if self.files is not None:
                        self.files[arg] = self.payload
                    rest = 0
                    say("226 stored")
                elif verb == "MLSD" and self.files is not None:
                    if data_listener is None:
                        say("425 use PASV first")
                        continue
                    listing = self.mlsd(arg or "/")
                    if listing is None:  # a directory the user may not list
                        say("550 Permission denied")
                        continue
                    say("150 listing")
                    d, _ = data_listener.accept()
                    d.sendall(listing)
                    d.close()
                    data_listener.close()
                    data_listener = None
                    say("226 done")
                elif verb == "HASH":
                    n = len(self.content(arg))
                    say(f"213 SHA-256 0-{n} {self.current_digest(arg)} {arg}")
                elif verb == "XSHA256":
                    say(f"213 {self.current_digest()}")
                elif verb == "QUIT":
                    say("221 bye")
                    break
                else:
                    say("502 not here")
        except (OSError, ValueError):
            pass
        finally:
            if data_listener:
                data_listener.close()
            f.close()
            conn.close()


class FerryClientVerificationTest(ClientTestMixin, unittest.TestCase):
    PAYLOAD = bytes(range(256)) * 64 + b"tail"

    def get(self, server):
        home = self.make_tmp()
        run = run_ferry(["get", f"ftp://alice@127.0.0.1:{server.port}/data.bin"], home, password="pw")
        return home, run

    def test_fake_server_with_honest_hash_is_accepted(self):
        # guards the fake: the client accepts it when it tells the truth
        with FakeFtpServer(self.PAYLOAD, lie=False) as srv:
            home, run = self.get(srv)
        self.assertExit(run, 0)
        with open(os.path.join(home, "data.bin"), "rb") as f:
            self.assertEqual(f.read(), self.PAYLOAD)

    def test_url_paths_are_relative_to_the_login_directory(self):
        # RFC 1738, as curl, lftp and wget read it: vsftpd without chroot logs a user in at
        # /home/alice, and ftp://host/data.bin is the file there; %2F starts from the root.
        with FakeFtpServer(self.PAYLOAD, lie=False, replies={"PWD": '257 "/home/alice" is the current directory'}) as srv:
            home, run = self.get(srv)
            self.assertExit(run, 0)
            self.assertIn("RETR /home/alice/data.bin", srv.lines)
            absolute = run_ferry(["get", f"ftp://alice@127.0.0.1:{srv.port}/%2Fsrv/data.bin", "-o", "abs.bin"],
                                 home, password="pw")
            self.assertExit(absolute, 0)
            self.assertIn("RETR /srv/data.bin", srv.lines)
        with open(os.path.join(home, "data.bin"), "rb") as f:
            self.assertEqual(f.read(), self.PAYLOAD)

    def test_a_hash_refused_for_the_file_is_not_verified_not_a_failure(self):
        # ProFTPD's mod_digest offers HASH but answers 556 for a file over DigestMaxSize.
        refused = {"HASH": "556 /data.bin: Operation not permitted",
                   "XSHA256": "556 /data.bin: Operation not permitted"}
        with FakeFtpServer(self.PAYLOAD, lie=False, replies=refused) as srv:
            home, run = self.get(srv)
        self.assertExit(run, 0)
        self.assertIn("not verified", run.stdout)
        with open(os.path.join(home, "data.bin"), "rb") as f:
            self.assertEqual(f.read(), self.PAYLOAD)
        self.assertNoPartials(home)

    def test_hash_mismatch_exit_6_and_no_final_file(self):
        with FakeFtpServer(self.PAYLOAD, lie=True) as srv:
            home, run = self.get(srv)
            self.assertTrue({"HASH", "XSHA256"} & set(srv.commands), srv.commands)
        self.assertExit(run, 6)
        self.assertFalse(os.path.exists(os.path.join(home, "data.bin")),
                         f"a file failing verification was left under the final name: {os.listdir(home)}")
        self.assertIn("SHA-256", run.stderr + run.stdout)

    def get_continue(self, server, local):
        """`get -c` of data.bin into a directory holding `local` as data.bin (no .part)."""
        home = self.make_tmp()
        path = os.path.join(home, "data.bin")
        with open(path, "wb") as f:
            f.write(local)
        os.utime(path, (1_000_000_000, 1_000_000_000))
        run = run_ferry(["get", "-c", f"ftp://alice@127.0.0.1:{server.port}/data.bin"], home, password="pw")
        return home, path, run

    def assertLeftAsItWas(self, home, path, local, run):
        self.assertEqual(os.listdir(home), ["data.bin"], repr(run))
        with open(path, "rb") as f:
            self.assertEqual(f.read(), local)
        self.assertEqual(os.stat(path).st_mtime, 1_000_000_000)
        self.assertIn("data.bin was left as it was", run.stderr)

    def test_get_continue_mismatch_leaves_the_local_file_as_it_was(self):
        # The local file is not the start of the remote one (the user's own edits): the
        # digest cannot match, and the user's bytes must survive under their own name.
        local = b"MY LOCAL EDITS, NOT THE REMOTE FILE"
        with FakeFtpServer(self.PAYLOAD, lie=False) as srv:
            home, path, run = self.get_continue(srv, local)
            self.assertIn("REST", srv.commands)
        self.assertExit(run, 6)
        self.assertLeftAsItWas(home, path, local, run)

    def test_get_continue_same_size_mismatch_leaves_the_local_file_as_it_was(self):
        # As long as the remote file: nothing to transfer, only the (failing) check.
        local = b"x" * len(self.PAYLOAD)
        with FakeFtpServer(self.PAYLOAD, lie=False) as srv:
            home, path, run = self.get_continue(srv, local)
            self.assertNotIn("RETR", srv.commands)
        self.assertExit(run, 6)
        self.assertLeftAsItWas(home, path, local, run)

    def test_get_continue_failed_transfer_leaves_the_local_file_as_it_was(self):
        local = self.PAYLOAD[:1000]
        with FakeFtpServer(self.PAYLOAD, lie=False, refuse_retr=True) as srv:
            home, path, run = self.get_continue(srv, local)
        self.assertExit(run, 1)
        self.assertLeftAsItWas(home, path, local, run)

    def test_get_continue_of_the_local_file_verified(self):
        # guards the tests above: a true prefix of the remote file is continued and verified
        with FakeFtpServer(self.PAYLOAD, lie=False) as srv:
            home, path, run = self.get_continue(srv, self.PAYLOAD[:1000])
        self.assertExit(run, 0)
        self.assertEqual(os.listdir(home), ["data.bin"])
        with open(path, "rb") as f:
            self.assertEqual(f.read(), self.PAYLOAD)

    def test_get_refuses_an_existing_part_file_without_continue(self):
        # NAME.part may be an earlier download, or not ferry's at all: never overwritten.
        home = self.make_tmp()
        part = os.path.join(home, "data.bin.part")
        with open(part, "wb") as f:
            f.write(b"not ferry's")
        with FakeFtpServer(self.PAYLOAD, lie=False) as srv:
            run = run_ferry(["get", f"ftp://alice@127.0.0.1:{srv.port}/data.bin"], home, password="pw")
            self.assertNotIn("RETR", srv.commands)
        self.assertExit(run, 1)
        self.assertOneLineError(run)
        self.assertIn("data.bin.part exists (an earlier download?): resume with -c, or remove it", run.stderr)
        self.assertEqual(os.listdir(home), ["data.bin.part"])
        with open(part, "rb") as f:
            self.assertEqual(f.read(), b"not ferry's")

    def test_get_does_not_follow_a_symlinked_part_file(self):
        home = self.make_tmp()
        victim = os.path.join(home, "victim")
        with open(victim, "wb") as f:
            f.write(b"victim")
        os.symlink(victim, os.path.join(home, "data.bin.part"))
        with FakeFtpServer(self.PAYLOAD, lie=False) as srv:
            for args in (["get"], ["get", "-c"]):
                run = run_ferry(args + [f"ftp://alice@127.0.0.1:{srv.port}/data.bin"], home, password="pw")
                self.assertExit(run, 1)
        with open(victim, "rb") as f:
            self.assertEqual(f.read(), b"victim")
        self.assertFalse(os.path.exists(os.path.join(home, "data.bin")))

    def test_more_bytes_than_size_announced_is_not_kept_for_resuming(self):
        home = self.make_tmp()
        with FakeFtpServer(self.PAYLOAD, lie=False, size=10) as srv:
            run = run_ferry(["get", f"ftp://alice@127.0.0.1:{srv.port}/data.bin"], home, password="pw")
        self.assertExit(run, 1)
        self.assertOneLineError(run)
        self.assertIn(f"the server sent more than it announced for /data.bin: {len(self.PAYLOAD)} bytes, SIZE said 10",
                      run.stderr)
        self.assertNotIn("resum", run.stderr)
        self.assertEqual(os.listdir(home), [])


class FerryMirrorEndlessTreeTest(ClientTestMixin, unittest.TestCase):
    """A remote tree that never ends: mirror stops at a directory seen before, or at depth 64."""

    def mirror(self, listing):
        dst = os.path.join(self.make_tmp(), "dst")
        with FakeFtpServer(b"", lie=False, files={}, listing=listing) as srv:
            run = run_ferry(["mirror", f"ftp://alice@127.0.0.1:{srv.port}/r", dst], os.path.dirname(dst),
                            password="pw", timeout=20)
        return dst, run

    def test_a_directory_cycle_is_listed_once(self):
        dst, run = self.mirror(lambda directory: b"type=dir;unique=ab12; loop\r\n")
        self.assertExit(run, 0)
        self.assertIn("skipping loop/loop/: the same directory as one listed before (a cycle)", run.stderr)
        self.assertEqual(os.listdir(dst), ["loop"])
        self.assertEqual(os.listdir(os.path.join(dst, "loop")), [])

    def test_an_endless_tree_is_cut_at_depth_64(self):
        dst, run = self.mirror(lambda directory: b"type=dir; d\r\n")
        self.assertExit(run, 1)
        self.assertIn("deeper than 64 levels", run.stderr)
        self.assertIn(" 1 failed", run.stdout)
        self.assertTrue(os.path.isdir(os.path.join(dst, *["d"] * 63)))


class FerryMirrorUploadTest(ClientTestMixin, unittest.TestCase):
    """mirror -R against a scripted server: what it does when the remote side misbehaves."""

    def mirror_up(self, server, src, *extra):
        return run_ferry(["mirror", "-R", *extra, src, f"ftp://alice@127.0.0.1:{server.port}/r"],
                         os.path.dirname(src), password="pw", timeout=20)

    def local_tree(self, files):
        src = os.path.join(self.make_tmp(), "src")
        for rel, data in files.items():
            path = os.path.join(src, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        return src

    def test_an_unlistable_remote_subdirectory_is_left_out_not_overwritten(self):
        # A 550 on one subdirectory's MLSD once made the whole remote tree "missing": every
        # local file was uploaded, over the remote ones too.
        src = self.local_tree({"a": b"aaaa", "locked/b": b"local b", "open/c": b"local c"})
        listings = {
            "/r": b"type=file;size=4;modify=20300101000000; a\r\n"
                  b"type=dir;modify=20200101000000; locked\r\n"
                  b"type=dir;modify=20200101000000; open\r\n",
            "/r/locked": None,
            "/r/open": b"",
        }
        with FakeFtpServer(b"", lie=False, files={}, listing=listings.get) as srv:
            run = self.mirror_up(srv, src)
        self.assertExit(run, 1)
        self.assertIn("cannot list locked/", run.stderr)
        self.assertIn("550 Permission denied", run.stderr)
        self.assertIn("mirror: 1 file (7 B) transferred, 1 unchanged, 1 failed", run.stdout)
        stored = [line for line in srv.lines if line.startswith("STOR")]
        self.assertEqual(stored, ["STOR /r/open/c"])
        self.assertNotIn("MKD /r", srv.lines)


    def test_a_refused_mfmt_is_a_note_and_the_file_counts_as_transferred(self):
        src = self.local_tree({"a": b"aaaa"})
        with FakeFtpServer(b"", lie=False, files={}, features=" MFMT\r\n",
                           replies={"MFMT": "550 Permission denied"}) as srv:
            run = self.mirror_up(srv, src)
        self.assertExit(run, 0)
        self.assertIn("a: uploaded, but its modification time was not set", run.stderr)
        self.assertIn("mirror: 1 file (4 B) transferred, 0 unchanged, 0 failed", run.stdout)
        self.assertIn("MFMT", srv.commands)


class FerryPasswordInMessagesTest(ClientTestMixin, unittest.TestCase):
    """A password written into a URL never appears in ferry's messages (refused before connecting)."""

    def test_a_bad_port_message_masks_the_password(self):
        run = run_ferry(["get", "ftp://bob:S3cretPW@127.0.0.1:99999/f"], self.make_tmp())
        self.assertExit(run, 2)
        self.assertOneLineError(run)
        self.assertNotIn("S3cretPW", run.stderr)
        self.assertIn("bad port '99999' in ftp://bob:****@127.0.0.1:99999/f", run.stderr)

    def test_a_bad_escape_in_the_password_is_not_quoted(self):
        run = run_ferry(["ls", "ftp://bob:S3cret%zzPW@127.0.0.1:2121/"], self.make_tmp())
        self.assertExit(run, 2)
        self.assertNotIn("S3cret", run.stderr)
        self.assertIn("bad percent escape in the password", run.stderr)

    def test_mv_between_servers_masks_the_other_urls_password(self):
        run = run_ferry(["mv", "ftp://bob@127.0.0.1:2121/a", "ftp://bob:S3cretPW@127.0.0.2:2121/b"], self.make_tmp())
        self.assertExit(run, 2)
        self.assertOneLineError(run)
        self.assertNotIn("S3cretPW", run.stderr)
        self.assertIn("mv cannot move between servers: ftp://bob:****@127.0.0.2:2121/b", run.stderr)


class FerryTerminalEscapeTest(ClientTestMixin, unittest.TestCase):
    """A hostile server's names and reply texts reach the terminal with control bytes escaped."""

    HOSTILE_REPLY = "550 \x1b[31mgone\x1b]0;PWNED\x07"

    def assertNoControlBytes(self, text):
        self.assertFalse(any(ord(c) < 0x20 and c not in "\n" or ord(c) == 0x7f for c in text), repr(text))

    def test_ls_escapes_control_bytes_in_names(self):
        listing = (b"type=file;size=1;modify=20210304050607; wipe\x1b[2K\rline\r\n"
                   b"type=file;size=2;modify=20210304050607; \x1b]0;TITLE\x07\r\n"
                   + "type=file;size=3;modify=20210304050607; r\u00e9sum\u00e9\tx\r\n".encode())
        with FakeFtpServer(b"", lie=False, files={}, listing=lambda directory: listing) as srv:
            run = run_ferry(["ls", f"ftp://alice@127.0.0.1:{srv.port}/"], self.make_tmp(), password="pw")
        self.assertExit(run, 0)
        self.assertNoControlBytes(run.stdout)
        self.assertIn("wipe\\x1b[2K\\x0dline", run.stdout)
        self.assertIn("\\x1b]0;TITLE\\x07", run.stdout)
        self.assertIn("r\u00e9sum\u00e9\\tx", run.stdout)  # UTF-8 text stays as it is

    def test_a_reply_in_an_error_message_is_escaped(self):
        with FakeFtpServer(b"x", lie=False, replies={"SIZE": self.HOSTILE_REPLY}) as srv:
            run = run_ferry(["get", f"ftp://alice@127.0.0.1:{srv.port}/data.bin"], self.make_tmp(), password="pw")
        self.assertExit(run, 5)
        self.assertOneLineError(run)
        self.assertNoControlBytes(run.stderr)
        self.assertIn("(550 \\x1b[31mgone\\x1b]0;PWNED\\x07)", run.stderr)

    def test_the_verbose_transcript_is_escaped(self):
        with FakeFtpServer(b"x", lie=False, replies={"SIZE": self.HOSTILE_REPLY}) as srv:
            run = run_ferry(["-v", "get", f"ftp://alice@127.0.0.1:{srv.port}/data.bin"], self.make_tmp(),
                            password="pw")
        self.assertExit(run, 5)
        self.assertNoControlBytes(run.stderr)
        self.assertIn("< 550 \\x1b[31mgone\\x1b]0;PWNED\\x07\n", run.stderr)

    def test_mirror_notes_are_escaped(self):
        listing = b"type=OS.unix=slink:/x;size=1;modify=20210304050607; \x1b]0;PWNED\x07\r\n"
        dst = os.path.join(self.make_tmp(), "dst")
        with FakeFtpServer(b"", lie=False, files={}, listing=lambda directory: listing) as srv:
            run = run_ferry(["mirror", f"ftp://alice@127.0.0.1:{srv.port}/r", dst], os.path.dirname(dst),
                            password="pw", timeout=20)
        self.assertExit(run, 0)
        self.assertNoControlBytes(run.stderr)
        self.assertIn("skipping symlink \\x1b]0;PWNED\\x07", run.stderr)


class FerryMirrorTempFileTest(ClientTestMixin, unittest.TestCase):
    """mirror's temporary files: one of its own per transfer, never a listed or existing name."""

    A = b"A" * 4000 + b"\n"
    P = b"P" * 4000 + b"\n"

    def mirror(self, server, dst, *extra):
        home = os.path.dirname(dst)
        return run_ferry(["mirror", *extra, f"ftp://alice@127.0.0.1:{server.port}/r", dst], home, password="pw",
                         timeout=20)

    def test_parallel_mirror_of_name_and_name_part(self):
        # The worker on a.part once wrote a.part.part and renamed it over the a.part the
        # other worker was still writing for a: a got a.part's bytes (or failed its check).
        dst = os.path.join(self.make_tmp(), "dst")
        files = {"/r/a": self.A, "/r/a.part": self.P}
        with FakeFtpServer(b"", lie=False, files=files, retr_delay={"/r/a": 1.0}) as srv:
            run = self.mirror(srv, dst, "-j", "2")
        self.assertExit(run, 0)
        self.assertIn("mirror: 2 files (", run.stdout)
        self.assertEqual(sorted(os.listdir(dst)), ["a", "a.part"])
        with open(os.path.join(dst, "a"), "rb") as f:
            self.assertEqual(f.read(), self.A)
        with open(os.path.join(dst, "a.part"), "rb") as f:
            self.assertEqual(f.read(), self.P)

    def test_mirror_leaves_an_unrelated_part_file_alone(self):
        dst = os.path.join(self.make_tmp(), "dst")
        os.makedirs(dst)
        with open(os.path.join(dst, "a.part"), "wb") as f:
            f.write(b"mine")
        with FakeFtpServer(b"", lie=False, files={"/r/a": self.A}) as srv:
            run = self.mirror(srv, dst)
        self.assertExit(run, 0)
        self.assertEqual(sorted(os.listdir(dst)), ["a", "a.part"])
        with open(os.path.join(dst, "a.part"), "rb") as f:
            self.assertEqual(f.read(), b"mine")

    def test_mirror_mismatch_leaves_no_temporary_file(self):
        dst = os.path.join(self.make_tmp(), "dst")
        with FakeFtpServer(b"", lie=True, files={"/r/a": self.A}) as srv:
            run = self.mirror(srv, dst)
        self.assertExit(run, 1)
        self.assertIn("SHA-256 mismatch", run.stderr)
        self.assertEqual(os.listdir(dst), [])


if __name__ == "__main__":
    unittest.main()
