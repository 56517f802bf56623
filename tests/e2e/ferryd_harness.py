"""Reusable end-to-end fixture: a real ferryd in a temp dir, on loopback, port 0.

    with FerryServer() as srv:
        ftp = srv.ftp()             # logged-in ftplib.FTP
        srv.port, srv.password, srv.image_bytes, srv.log_text()

Environment (set by CTest, with fallbacks for running by hand from tests/e2e):
FERRYD, FERRY, FERRY_PLUGIN_DIR, FERRY_FIXTURE_DIR, FERRY_SOURCE_DIR.

Everything is bounded: start-up waits at most START_TIMEOUT for "listening on", stop
sends SIGTERM to the server's PID and waits at most STOP_TIMEOUT for exit code 0.
Only loopback addresses are ever used.
"""

import ftplib
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
NET_TIMEOUT = 10.0  # every socket / ftplib operation in the tests

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("FERRY_SOURCE_DIR") or os.path.normpath(os.path.join(_HERE, "..", ".."))
_BUILD = os.path.join(SOURCE_DIR, "build", "release")
FERRYD = os.environ.get("FERRYD") or os.path.join(_BUILD, "bin", "ferryd")
FERRY = os.environ.get("FERRY") or os.path.join(_BUILD, "bin", "ferry")
PLUGIN_DIR = os.environ.get("FERRY_PLUGIN_DIR") or os.path.join(_BUILD, "plugins")
FIXTURE_DIR = os.environ.get("FERRY_FIXTURE_DIR") or os.path.join(_BUILD, "tests", "fixtures")
IMAGE_SOURCE = os.path.join(SOURCE_DIR, "plugins", "send_png", "ferry.png")
SHIPPED_CONFIG = os.path.join(SOURCE_DIR, "config.toml")

USER = "alice"
# The served copy of the image gets this mtime (2021-03-04 05:06:07 UTC), so MDTM, MLSD
# modify= and curl's Last-Modified can be checked against a known, non-"now" value.
IMAGE_MTIME = 1614834367

_LISTEN_RE = re.compile(r"listening on (\[[0-9a-fA-F:.]+\]:\d+|[0-9.]+:\d+)")


def toml_str(s):
    """A TOML basic string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ipv6_available():
    """True if we can bind and connect on ::1."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.bind(("::1", 0))
            s.listen(1)
            with socket.create_connection(("::1", s.getsockname()[1]), timeout=2):
                pass
        return True
    except OSError:
        return False


def loopback_alias_available(addr="127.0.0.2"):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((addr, 0))
        return True
    except OSError:
        return False


def random_passive_range(size=100):
    """A per-server random block of ports, so parallel test files don't collide.

    Drawn from 20000-32699, below Linux's default ephemeral range (32768-60999), so the
    block does not compete with the clients' own outgoing ports."""
    base = random.randrange(20000, 32700 - size, size)
    return base, base + size - 1


def make_test_certificate(directory):
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem) in `directory`."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", os.path.join(directory, "key.pem"), "-out", os.path.join(directory, "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)


def make_users_file(path, user, password, timeout=30):
    """Add `user` to the users file at `path` through `ferryd passwd` (stdin, not a tty)."""
    proc = subprocess.run([FERRYD, "passwd", path, user], input=(password + "\n").encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"ferryd passwd failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    return proc


def run_ferryd(args, timeout=30, **kw):
    """Run ferryd to completion (e.g. --check); returns CompletedProcess with text output."""
    return subprocess.run([FERRYD] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=timeout, text=True, errors="replace", **kw)


def fs_local_mounts(writable=True, welcome=True, root="files/%u", extra_mounts=""):
    """Mount TOML: fs_local at "/" (root relative to the config dir, per user) and, by
    default, send_png at "/welcome". The user's directory on disk is
    FerryServer.user_root() once the server has written its files."""
    text = ('[[mount]]\npath = "/"\nplugin = "fs_local"\n'
            f"root = {toml_str(root)}\nwritable = {'true' if writable else 'false'}\n")
    if welcome:
        text += '\n[[mount]]\npath = "/welcome"\nplugin = "send_png"\nimage = "ferry.png"\n'
    if extra_mounts:
        text += "\n" + extra_mounts
    return text


class FerryServer:
    """A ferryd process with its own temp dir, config, users file and image."""

    def __init__(self, listen=("127.0.0.1:0",), server_extra="", config_extra="",
                 password=None, passive_ports=None, log_level="info", mounts=None,
                 auth_extra="", image_source=IMAGE_SOURCE, image_mtime=IMAGE_MTIME,
                 data_timeout=20, keep_dir=False, login_timeout=30, idle_timeout=60, allow_root=True,
                 auth_plugin="auth_file", fixture_plugins=False, wrapper=()):
        self.listen = list(listen)
        self.wrapper = list(wrapper)  # a command ferryd runs under, e.g. a sandbox
        self.auth_plugin = auth_plugin
        # With the test fixtures (tests/fixtures) beside the real plugins in plugin_dir.
        self.fixture_plugins = fixture_plugins
        self.plugin_dir = PLUGIN_DIR
        self.server_extra = server_extra
        self.config_extra = config_extra
        self.auth_extra = auth_extra
        self.password = password or ("pw-" + secrets.token_hex(8))
        self.user = USER
        self.passive_ports = passive_ports or random_passive_range()
        self.log_level = log_level
        self.mounts = mounts  # None: one send_png mount at "/"
        self.image_source = image_source
        self.image_mtime = image_mtime
        self.keep_dir = keep_dir
        self.data_timeout = data_timeout
        self.login_timeout = login_timeout
        self.idle_timeout = idle_timeout
        # Tests run as whoever runs them (root on CI): stay that user unless a test says otherwise.
        self.allow_root = allow_root
        self.proc = None
        self.addresses = []  # ("host", port) as logged
        self.log_lines = []
        self._log_lock = threading.Lock()
        self._log_cond = threading.Condition(self._log_lock)
        self._reader = None
        self.dir = None
        self.returncode = None

    # ----- set-up ------------------------------------------------------------------
    def write_files(self):
        self.dir = tempfile.mkdtemp(prefix="ferry-e2e-")
        self.image_path = os.path.join(self.dir, "ferry.png")
        shutil.copyfile(self.image_source, self.image_path)
        if self.image_mtime is not None:
            os.utime(self.image_path, (self.image_mtime, self.image_mtime))
        with open(self.image_path, "rb") as f:
            self.image_bytes = f.read()
        self.users_path = os.path.join(self.dir, "users.passwd")
        make_users_file(self.users_path, self.user, self.password)
        if self.fixture_plugins:
            self.plugin_dir = os.path.join(self.dir, "plugins")
            os.makedirs(self.plugin_dir)
            for d in (PLUGIN_DIR, FIXTURE_DIR):
                for name in os.listdir(d):
                    if name.endswith(".so"):
                        os.symlink(os.path.join(d, name), os.path.join(self.plugin_dir, name))
        self.config_path = os.path.join(self.dir, "config.toml")
        with open(self.config_path, "w") as f:
            f.write(self.config_text())
        return self

    def config_text(self):
        lo, hi = self.passive_ports
        mounts = self.mounts
        if mounts is None:
            mounts = '[[mount]]\npath = "/"\nplugin = "send_png"\nimage = "ferry.png"\n'
        return (
            "[server]\n"
            'listen = ["127.0.0.1:0"]\n'
            "workers = 2\n"
            'banner = "ferry ready"\n'
            f"login_timeout = {self.login_timeout}\n"
            f"idle_timeout = {self.idle_timeout}\n"
            f"data_timeout = {self.data_timeout}\n"
            f"passive_ports = [{lo}, {hi}]\n"
            f"plugin_dir = {toml_str(self.plugin_dir)}\n"
            + ("allow_root = true\n" if self.allow_root else "") +
            f"{self.server_extra}\n"
            "[auth]\n"
            f"plugin = {toml_str(self.auth_plugin)}\n"
            'users = "users.passwd"\n'
            f"{self.auth_extra}\n"
            f"{mounts}\n"
            f"{self.config_extra}\n"
        )

    def start(self):
        if self.dir is None:
            self.write_files()
        args = self.wrapper + [FERRYD, "--config", self.config_path, "--log-level", self.log_level]
        for a in self.listen:
            args += ["--listen", a]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=self.dir)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        with self._log_cond:
            while len(self.addresses) < len(self.listen):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self._reader.is_alive():
                    break
                self._log_cond.wait(min(left, 0.2))
        if len(self.addresses) < len(self.listen):
            self._kill()
            raise RuntimeError("ferryd did not log 'listening on' for every address within "
                               f"{START_TIMEOUT}s; log:\n" + self.log_text())
        return self

    def _drain(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._log_cond:
                self.log_lines.append(line)
                m = _LISTEN_RE.search(line)
                if m:
                    self.addresses.append(parse_hostport(m.group(1)))
                self._log_cond.notify_all()
        with self._log_cond:
            self._log_cond.notify_all()

    # ----- accessors ---------------------------------------------------------------
    def user_root(self, root="files/%u", user=None, create=True):
        """The on-disk directory of a per-user fs_local root (see fs_local_mounts)."""
        path = os.path.join(self.dir, root.replace("%u", user or self.user))
        if create:
            os.makedirs(path, exist_ok=True)
        return path

    @property
    def host(self):
        return self.addresses[0][0]

    @property
    def port(self):
        return self.addresses[0][1]

    def address_for(self, family_host):
        for h, p in self.addresses:
            if h == family_host:
                return h, p
        raise KeyError(family_host)

    def url(self, path="/ferry.png", user=True, host=None, port=None):
        host = host or self.host
        port = port or self.port
        hp = f"[{host}]" if ":" in host else host
        u = f"{self.user}@" if user else ""
        return f"ftp://{u}{hp}:{port}{path}"

    def log_text(self):
        with self._log_lock:
            return "\n".join(self.log_lines)

    def wait_for_log(self, pattern, timeout=5.0, start=0):
        """Wait (bounded) for a log line matching regex `pattern`; returns it or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._log_cond:
            while True:
                for line in self.log_lines[start:]:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._log_cond.wait(min(left, 0.2))

    def log_mark(self):
        with self._log_lock:
            return len(self.log_lines)

    def ftp(self, login=True, host=None, port=None, timeout=NET_TIMEOUT, passive=True):
        """A connected (and by default logged-in) ftplib.FTP."""
        host = host or self.host
        port = port or self.port
        f = ftplib.FTP(timeout=timeout)
        f.connect(host, port, timeout=timeout)
        f.set_pasv(passive)
        if login:
            f.login(self.user, self.password)
        return f

    # ----- tear-down ---------------------------------------------------------------
    def stop(self):
        """SIGTERM by PID; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.returncode = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
                self.returncode = None
        else:
            self.returncode = self.proc.returncode
        if self._reader is not None:
            self._reader.join(timeout=5)
        return self.returncode

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def cleanup(self):
        self._kill()
        if self.proc is not None and self.proc.stderr is not None:
            try:
                self.proc.stderr.close()
            except OSError:
                pass
        if self.dir and not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.cleanup()
        return False


def parse_hostport(s):
    """'127.0.0.1:123' or '[::1]:123' -> (host, port)."""
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    return host, int(port)


class ServerTestCase(unittest.TestCase):
    """One ferryd per test class; asserts a clean SIGTERM exit and no leaked password."""

    server_kwargs = {}

    @classmethod
    def setUpClass(cls):
        cls.server = FerryServer(**cls.server_kwargs)
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        srv = cls.server
        try:
            rc = srv.stop()
            log = srv.log_text()
        finally:
            srv.cleanup()
        if rc != 0:
            raise AssertionError(f"ferryd exit code after SIGTERM: {rc!r} (want 0); log:\n{log}")
        if srv.password in log:
            raise AssertionError("the password appears in ferryd's log")

    def ftp(self, **kw):
        f = self.server.ftp(**kw)
        self.addCleanup(close_quietly, f)
        return f


class RawControl:
    """A bare control connection: send raw bytes, read (multi-line) replies, bounded."""

    def __init__(self, host, port, timeout=NET_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.banner = self.reply()

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        line = self.file.readline(8192)
        if not line:
            raise EOFError("control connection closed")
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if len(text) >= 4 and text[3] == "-":
            end = text[:3] + " "
            for _ in range(1000):
                more = self.file.readline(8192)
                if not more:
                    raise EOFError("closed inside a multi-line reply")
                more = more.decode("utf-8", "replace").rstrip("\r\n")
                text += "\n" + more
                if more.startswith(end):
                    break
        return text

    def cmd(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def login(self, user, password):
        r = self.cmd(f"USER {user}")
        if r.startswith("331"):
            r = self.cmd(f"PASS {password}")
        return r

    def epsv_port(self):
        """EPSV; the port of its 229 (ftplib.error_reply when the reply is not 229)."""
        return ftplib.parse229(self.cmd("EPSV"), self.sock.getpeername())[1]

    def closed_by_peer(self, timeout=5.0):
        """True if the server closes the connection within `timeout` (reads to EOF)."""
        self.sock.settimeout(timeout)
        try:
            for _ in range(100):
                if not self.sock.recv(4096):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        try:
            self.file.close()
        finally:
            self.sock.close()


def close_quietly(ftp):
    try:
        ftp.quit()
    except Exception:
        try:
            ftp.close()
        except Exception:
            pass


def subprocess_env(home, **extra):
    """An environment for client tools with HOME pointing at a temp dir (no real ~/.netrc)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FERRY_PASSWORD", "http_proxy", "https_proxy", "ftp_proxy", "all_proxy",
                        "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "ALL_PROXY")}
    env["HOME"] = home
    env["NO_PROXY"] = "*"
    env["no_proxy"] = "*"
    env.update(extra)
    return env
