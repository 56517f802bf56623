"""Scale-out end to end: a real PostgreSQL 15 (initdb into a temp dir, Unix socket only)
holding the users (auth_pgsql), a real HAProxy 2.6 (generated config, send-proxy-v2, one
frontend per node's passive slice) in front of two ferryd nodes serving one shared tree.
Driven by curl, lftp, Python's ftplib and ferry from distinct loopback source addresses,
so that the client's address (not HAProxy's, 127.0.0.10) is provably what the nodes log.
The engines start once for the module; the node-killing test runs last."""

import ftplib
import hashlib
import io
import os
import pwd
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from console_harness import ConsoleClient
from ferryd_harness import (FERRY, FerryServer, NET_TIMEOUT, loopback_alias_available, make_test_certificate,
                            make_users_file, toml_str)

PG_BIN = "/usr/lib/postgresql/15/bin"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
BALANCER = "127.0.0.1"      # what clients connect to
HAPROXY_SOURCE = "127.0.0.10"  # HAProxy's address towards the nodes
NODE_ADDRESSES = {"a": "127.0.0.21", "b": "127.0.0.22"}
SLICE = 10                   # passive ports per node
USER, PASSWORD = "carol", "db-secret-1"
READER, READER_PASSWORD = "dave", "db-secret-2"
OPERATOR, OPERATOR_PASSWORD = "admin", "op-secret-3"

MISSING = [what for what, ok in (("haproxy", os.path.exists(HAPROXY)),
                                  ("postgresql-15", os.path.exists(os.path.join(PG_BIN, "initdb"))),
                                  ("mkpasswd (whois)", shutil.which("mkpasswd") is not None),
                                  ("runuser", shutil.which("runuser") is not None)) if not ok]
SKIP = ("needs " + ", ".join(MISSING) + ": install tests/deps.d/scaleout.list (scripts/deps --test)") if MISSING else ""


def free_port(host=BALANCER):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_port_block(size, host=BALANCER):
    """A block of `size` consecutive ports free on `host` (below the ephemeral range)."""
    import random
    for _ in range(200):
        base = random.randrange(20000, 32000 - size)
        try:
            socks = []
            for p in range(base, base + size):
                s = socket.socket()
                socks.append(s)
                s.bind((host, p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port block")


def mkpasswd(password):
    return subprocess.run(["mkpasswd", "-m", "yescrypt", "--stdin"], input=password, capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


class Postgres:
    """A PostgreSQL cluster of our own: initdb in a temp dir, Unix socket in it, no TCP.
    As root it runs as `nobody` (PostgreSQL refuses root)."""

    def __init__(self, base):
        self.dir = os.path.join(base, "pg")
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, "data")
        self.as_user = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chmod(base, 0o755)
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            self.as_user = ["runuser", "-u", "nobody", "--"]

    def run(self, *args, check=True, timeout=60):
        return subprocess.run(self.as_user + list(args), capture_output=True, text=True, check=check, timeout=timeout,
                              cwd=self.dir)

    def init(self):
        self.run(os.path.join(PG_BIN, "initdb"), "-D", self.data, "-A", "trust", "-U", "ferry", "--no-sync")

    def start(self):
        self.run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "30",
                 "-o", f"-k {self.dir} -c listen_addresses=''", "start")

    def stop(self):
        self.run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop", check=False)

    def psql(self, *args, sql=None):
        cmd = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-U", "ferry", "-d", "postgres"] + list(args)
        return subprocess.run(cmd, input=sql, capture_output=True, text=True, check=True, timeout=30)

    @property
    def conninfo(self):
        return f"host={self.dir} dbname=postgres user=ferry"


class HAProxy:
    def __init__(self, base, port, nodes):
        self.config = os.path.join(base, "haproxy.cfg")
        self.port = port
        lines = ["global", "    maxconn 1000", "defaults", "    mode tcp", "    timeout connect 2s",
                 "    timeout client 60s", "    timeout server 60s", "    retries 2", "    option redispatch 1",
                 "frontend ftp", f"    bind {BALANCER}:{port}", "    default_backend nodes",
                 "backend nodes", "    balance roundrobin"]
        for name, node in nodes.items():
            lines.append(f"    server {name} {NODE_ADDRESSES[name]}:{node.port} send-proxy-v2 source {HAPROXY_SOURCE}")
        for name, node in nodes.items():
            lo, hi = node.passive_ports
            lines += [f"frontend data_{name}", f"    bind {BALANCER}:{lo}-{hi}", f"    default_backend data_{name}",
                      f"backend data_{name}",
                      f"    server {name} {NODE_ADDRESSES[name]} send-proxy-v2 source {HAPROXY_SOURCE}"]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        check = subprocess.run([HAPROXY, "-c", "-f", self.config], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError("haproxy -c: " + check.stdout + check.stderr)
        self.proc = subprocess.Popen([HAPROXY, "-f", self.config, "-db"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((BALANCER, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("haproxy did not listen")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def node_server(name, shared, pg, passive, cert_dir):
    mounts = ('[[mount]]\npath = "/"\nplugin = "fs_local"\n'
              f'root = {toml_str(os.path.join(shared, "%u"))}\nwritable = true\n')
    srv = FerryServer(
        listen=(f"{NODE_ADDRESSES[name]}:0",), passive_ports=passive, auth_plugin="auth_pgsql",
        server_extra=f'passive_address = "{BALANCER}"\nproxy_protocol_from = ["{HAPROXY_SOURCE}"]\n'
                     "ban_failures = 2\nban_window = 60\nban_duration = 60\nmax_login_failures = 5\n"
                     "max_sessions_per_ip = 4",
        mounts=mounts, config_extra=f'[log]\nxferlog = "xferlog"\n[tls]\ncertificate = {toml_str(os.path.join(cert_dir, "cert.pem"))}\n'
                                    f'private_key = {toml_str(os.path.join(cert_dir, "key.pem"))}\n'
                                    f'[cluster]\nnode = "{name}"\ndatabase = {toml_str(pg.conninfo)}\n')
    if name == "a":  # node a also has the operator's console (its API bans for every node)
        srv.config_extra += '\n[admin]\nlisten = ["127.0.0.21:0"]\noperators = "operators.passwd"\n'
    srv.write_files()
    if name == "a":
        make_users_file(os.path.join(srv.dir, "operators.passwd"), OPERATOR, OPERATOR_PASSWORD)
    # auth_pgsql instead of auth_file: drop the harness's users file key.
    with open(srv.config_path) as f:
        text = f.read()
    text = text.replace('plugin = "auth_pgsql"\nusers = "users.passwd"\n',
                        f'plugin = "auth_pgsql"\ndatabase = {toml_str(pg.conninfo)}\npool_size = 2\n')
    with open(srv.config_path, "w") as f:
        f.write(text)
    srv.user, srv.password = USER, PASSWORD
    return srv


class SessionReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session, as
    ferryd requires (the node behind the data port is the control connection's own)."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def proxy_v2(client, server):
    payload = socket.inet_aton(client[0]) + socket.inet_aton(server[0]) + struct.pack("!HH", client[1], server[1])
    return b"\r\n\r\n\x00\r\nQUIT\n\x21\x11" + struct.pack("!H", len(payload)) + payload


@unittest.skipIf(SKIP, SKIP)
@unittest.skipUnless(all(loopback_alias_available(a) for a in ("127.0.0.2", "127.0.0.10", "127.0.0.21")),
                     "needs 127.0.0.0/8 loopback addresses")
class ScaleOutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.base = tempfile.mkdtemp(prefix="ferry-scaleout-")
        cls.pg = Postgres(cls.base)
        cls.nodes = {}
        cls.haproxy = None
        try:
            cls.pg.init()
            cls.pg.start()
            schema = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "schema.sql")
            cls.pg.psql("-f", schema)
            cls.pg.psql("-v", f"name={USER}", "-v", f"hash={mkpasswd(PASSWORD)}",
                        sql="INSERT INTO ferry_users (name, hash) VALUES (:'name', :'hash')\n")
            cls.pg.psql("-v", f"name={READER}", "-v", f"hash={mkpasswd(READER_PASSWORD)}",
                        sql="INSERT INTO ferry_users (name, hash, home, read_only) VALUES (:'name', :'hash', '/', true)\n")
            cls.shared = os.path.join(cls.base, "shared")
            for user in (USER, READER):
                os.makedirs(os.path.join(cls.shared, user))
            cls.cert_dir = os.path.join(cls.base, "tls")
            os.makedirs(cls.cert_dir)
            make_test_certificate(cls.cert_dir)
            block = free_port_block(2 * SLICE)
            for i, name in enumerate(("a", "b")):
                lo = block + i * SLICE
                cls.nodes[name] = node_server(name, cls.shared, cls.pg, (lo, lo + SLICE - 1), cls.cert_dir)
                cls.nodes[name].start()
            cls.port = free_port()
            cls.haproxy = HAProxy(cls.base, cls.port, cls.nodes)
            cls.haproxy.start()
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def tear_down(cls):
        if cls.haproxy:
            cls.haproxy.stop()
        for node in cls.nodes.values():
            node.stop()
            node.cleanup()
        cls.pg.stop()
        shutil.rmtree(cls.base, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        logs = {name: node.log_text() for name, node in cls.nodes.items()}
        cls.tear_down()
        for name, log in logs.items():
            if "refused system call" in log:
                raise AssertionError(f"node {name} hit its seccomp allow-list:\n{log}")

    # ---- helpers ------------------------------------------------------------------
    def ftp(self, source="127.0.0.2", user=USER, password=PASSWORD, tls=False):
        cls = SessionReusingFTP_TLS if tls else ftplib.FTP
        kw = {"context": ssl._create_unverified_context()} if tls else {}
        f = cls(timeout=NET_TIMEOUT, source_address=(source, 0), **kw)
        f.connect(BALANCER, self.port)
        self.addCleanup(self.close, f)
        if tls:
            f.auth()
        if user:
            f.login(user, password)
        if tls:
            f.prot_p()
        return f

    @staticmethod
    def close(f):
        try:
            f.close()
        except OSError:
            pass

    def user_file(self, name, user=USER):
        return os.path.join(self.shared, user, name)

    def live_nodes(self):
        return [n for n in self.nodes.values() if n.proc.poll() is None]

    def wait_in_any_log(self, pattern, nodes=None, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in nodes or self.nodes.values():
                line = node.wait_for_log(pattern, timeout=0.05)
                if line:
                    return line
        return None

    def curl(self, *args, source="127.0.0.2"):
        cmd = ["curl", "-sS", "--max-time", "30", "--interface", source, "-u", f"{USER}:{PASSWORD}"] + list(args)
        return subprocess.run(cmd, capture_output=True, timeout=60)

    # ---- logins and transfers through the balancer ----------------------------------
    def test_logins_from_the_database_land_on_both_nodes_with_the_clients_address(self):
        for _ in range(4):  # round robin: two on each node
            self.assertIn(USER, self.ftp(source="127.0.0.2").sendcmd("STAT"))
        for name, node in self.nodes.items():
            line = node.wait_for_log(rf"login ok: user {USER} from 127\.0\.0\.2\b", timeout=5)
            self.assertIsNotNone(line, f"node {name} logged no login from 127.0.0.2:\n{node.log_text()}")
            self.assertTrue(node.wait_for_log(r"connected from 127\.0\.0\.2 via proxy 127\.0\.0\.10"))
            self.assertIsNone(node.wait_for_log(rf"login ok: user {USER} from 127\.0\.0\.10", timeout=0.1))

    def test_wrong_password_and_unknown_user_are_refused(self):
        with self.assertRaises(ftplib.error_perm):
            self.ftp(source="127.0.0.6", password="wrong")
        with self.assertRaises(ftplib.error_perm):
            self.ftp(source="127.0.0.6", user="nobody-here", password="x")
        self.assertTrue(self.wait_in_any_log(r"login refused: unknown user nobody-here \(from 127\.0\.0\.6\)"))

    def test_read_only_user_from_the_database(self):
        f = self.ftp(source="127.0.0.7", user=READER, password=READER_PASSWORD)
        with self.assertRaises(ftplib.error_perm) as refused:
            f.storbinary("STOR x.bin", io.BytesIO(b"x"))
        self.assertTrue(str(refused.exception).startswith("550"))

    def test_curl_downloads_and_uploads_in_passive_mode_plain_and_ftps(self):
        payload = os.urandom(1_000_000)
        with open(self.user_file("curl-get.bin"), "wb") as f:
            f.write(payload)
        for tls in ([], ["--ssl-reqd", "-k"]):
            for mode in (["--ftp-pasv"], ["--disable-epsv"]):  # EPSV, then PASV (its address: the balancer's)
                with self.subTest(tls=tls, mode=mode):
                    r = self.curl(*tls, *mode, f"ftp://{BALANCER}:{self.port}/curl-get.bin", "-o", "-")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), hashlib.sha256(payload).hexdigest())
                    src = os.path.join(self.base, "curl-put.bin")
                    with open(src, "wb") as f:
                        f.write(payload[::-1])
                    r = self.curl(*tls, *mode, "-T", src, f"ftp://{BALANCER}:{self.port}/curl-put.bin")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    with open(self.user_file("curl-put.bin"), "rb") as f:
                        self.assertEqual(f.read(), payload[::-1])
        # Each node's transfer log names the client, not the balancer.
        stored = []
        for node in self.nodes.values():
            with open(os.path.join(node.dir, "xferlog")) as log:
                stored += [line for line in log if "curl-put.bin" in line]
        self.assertEqual(len(stored), 4, stored)
        self.assertTrue(all(" 127.0.0.2 " in line for line in stored), stored)

    def test_ftplib_and_lftp_and_ferry_through_the_balancer(self):
        f = self.ftp(source="127.0.0.3", tls=True)
        f.storbinary("STOR ftplib.bin", io.BytesIO(b"ftplib over FTPS" * 1000))
        chunks = []
        f.retrbinary("RETR ftplib.bin", chunks.append)
        self.assertEqual(b"".join(chunks), b"ftplib over FTPS" * 1000)
        # lftp, bound to 127.0.0.4, passive, plain then FTPS (lftp's own session reuse)
        local = os.path.join(self.base, "lftp-src.bin")
        with open(local, "wb") as out:
            out.write(os.urandom(200_000))
        for tls in ("no", "yes"):
            script = (f"set net:socket-bind-ipv4 127.0.0.4; set ftp:passive-mode yes; set ftp:ssl-allow {tls}; "
                      f"set ftp:ssl-force {tls}; set ftp:ssl-protect-data {tls}; set ssl:verify-certificate no; "
                      "set net:max-retries 1; set net:timeout 10; "
                      f"put {local} -o lftp-{tls}.bin; get lftp-{tls}.bin -o {local}.{tls}; quit")
            r = subprocess.run(["lftp", "-u", f"{USER},{PASSWORD}", "-p", str(self.port), BALANCER, "-e", script],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(local, "rb") as a, open(f"{local}.{tls}", "rb") as b:
                self.assertEqual(a.read(), b.read())
        # ferry (verifies with HASH through the balancer)
        r = subprocess.run([FERRY, "put", local, f"ftp://{USER}@{BALANCER}:{self.port}/ferry.bin"],
                           capture_output=True, text=True, timeout=60, env=dict(os.environ, FERRY_PASSWORD=PASSWORD))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(self.base, "ferry-got.bin")
        r = subprocess.run([FERRY, "get", f"ftp://{USER}@{BALANCER}:{self.port}/ferry.bin", "-o", out],
                           capture_output=True, text=True, timeout=60, env=dict(os.environ, FERRY_PASSWORD=PASSWORD))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("SHA-256 matches", r.stdout + r.stderr)
        self.assertTrue(self.wait_in_any_log(r"login ok: user carol from 127\.0\.0\.4"))
        self.assertTrue(self.wait_in_any_log(r"login ok: user carol from 127\.0\.0\.3"))

    def test_forged_header_straight_to_a_node_is_refused(self):
        node = self.nodes["a"]
        mark = node.log_mark()
        with socket.create_connection((NODE_ADDRESSES["a"], node.port), timeout=NET_TIMEOUT,
                                      source_address=("127.0.0.3", 0)) as s:
            self.assertTrue(s.recv(1024).startswith(b"220"))
            s.sendall(proxy_v2(("203.0.113.5", 1), (BALANCER, self.port)) + f"USER {USER}\r\n".encode())
            try:
                self.assertEqual(s.recv(1024), b"")
            except ConnectionResetError:
                pass
        self.assertTrue(node.wait_for_log(r"refused connection from 127\.0\.0\.3: a PROXY header from an address "
                                          r"not in server\.proxy_protocol_from", start=mark))
        self.assertIsNone(node.wait_for_log(r"203\.0\.113\.5", timeout=0.2, start=mark))

    def test_two_nodes_uploading_one_name_at_once_leave_one_complete_file(self):
        size = 4_000_000
        bodies = [bytes([0x41 + i]) * size for i in range(2)]
        sessions = [self.ftp(source="127.0.0.8") for _ in range(2)]  # round robin: one per node
        errors = []
        barrier = threading.Barrier(2)

        def upload(f, body):
            try:
                barrier.wait(timeout=10)
                f.storbinary("STOR same.bin", io.BytesIO(body), blocksize=65536)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=upload, args=(f, b)) for f, b in zip(sessions, bodies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(errors, [])
        with open(self.user_file("same.bin"), "rb") as f:
            got = f.read()
        self.assertIn(got, bodies, "the file is a mix of both uploads")
        for node in self.nodes.values():
            self.assertTrue(node.wait_for_log(r"transfer ok: STOR /same\.bin", timeout=5))
        leftovers = [n for n in os.listdir(os.path.join(self.shared, USER)) if ".ferry-" in n]
        self.assertEqual(leftovers, [])

    def temporaries(self, prefix):
        return [n for n in os.listdir(os.path.join(self.shared, USER)) if n.startswith(prefix) and ".ferry-" in n]

    def test_an_upload_in_progress_on_one_node_keeps_its_temporary_while_the_other_lists(self):
        body = os.urandom(600_000)
        with open(self.user_file("inprogress.bin"), "wb") as out:  # replaced: through a temporary
            out.write(b"old")
        f = self.direct("a", "127.0.0.14")
        f.voidcmd("TYPE I")
        conn = f.transfercmd("STOR inprogress.bin")
        conn.sendall(body[:200_000])
        deadline = time.monotonic() + 5
        while not self.temporaries(".inprogress.bin") and time.monotonic() < deadline:
            time.sleep(0.05)
        temps = self.temporaries(".inprogress.bin")
        self.assertEqual(len(temps), 1)
        # Old enough to look abandoned: only the upload's lock says it is not.
        path = os.path.join(self.shared, USER, temps[0])
        os.utime(path, (time.time() - 3600, time.time() - 3600))
        g = self.direct("b", "127.0.0.14")
        g.retrlines("LIST", lambda line: None)  # a listing on node b sweeps stale temporaries
        self.assertTrue(os.path.exists(path), "node b removed node a's temporary file in use")
        conn.sendall(body[200_000:])
        conn.close()
        self.assertTrue(f.voidresp().startswith("226"))
        with open(self.user_file("inprogress.bin"), "rb") as got:
            self.assertEqual(got.read(), body)
        self.assertEqual(self.temporaries(".inprogress.bin"), [])

    # ---- [cluster]: bans and per-address limits shared through PostgreSQL -------------
    def direct(self, name, source, user=USER, password=PASSWORD):
        """A session straight to node `name` (not through the balancer) from `source`."""
        f = ftplib.FTP(timeout=NET_TIMEOUT, source_address=(source, 0))
        f.connect(NODE_ADDRESSES[name], self.nodes[name].port)
        self.addCleanup(self.close, f)
        if user:
            f.login(user, password)
        return f

    def test_a_ban_earned_on_node_a_is_enforced_by_node_b_within_two_seconds(self):
        for _ in range(2):  # ban_failures = 2, both on node a
            f = self.direct("a", "127.0.0.11", user=None)
            with self.assertRaises(ftplib.error_perm):
                f.login(USER, "wrong")
            self.close(f)
        self.assertTrue(self.nodes["a"].wait_for_log(r"banned 127\.0\.0\.11 for 60 s"))
        banned_at = time.monotonic()
        while True:
            try:
                self.direct("b", "127.0.0.11", user=None)
            except ftplib.error_temp as refused:
                self.assertIn("Too many failed logins", str(refused))
                break
            self.assertLess(time.monotonic() - banned_at, 2.0, "node b did not enforce node a's ban within 2 s")
            time.sleep(0.1)
        took = time.monotonic() - banned_at
        self.assertTrue(self.nodes["b"].wait_for_log(r"refused 127\.0\.0\.11: banned"))
        # Through the balancer too, whichever node answers; another client is not held back.
        for _ in range(2):
            with self.assertRaises(ftplib.error_temp):
                self.ftp(source="127.0.0.11")
        self.ftp(source="127.0.0.12")
        print(f"\nban from node a enforced by node b after {took:.2f} s", flush=True)

    def refused_by_b_within(self, source, seconds):
        """How long until node b refuses `source` as banned (None: not within `seconds`)."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                f = self.direct("b", source, user=None)
                self.close(f)
            except ftplib.error_temp:
                return time.monotonic() - started
            time.sleep(0.1)
        return None

    def test_the_operators_ban_on_node_a_holds_on_node_b_and_its_lift_too(self):
        line = self.nodes["a"].wait_for_log(r"console on http://127\.0\.0\.21:\d+/", timeout=5)
        self.assertIsNotNone(line, self.nodes["a"].log_text())
        console = ConsoleClient("127.0.0.21", int(line.rsplit(":", 1)[1].rstrip("/")))
        status, _, body = console.login(OPERATOR, OPERATOR_PASSWORD)
        self.assertEqual(status, 200, body)
        status, _, body = console.request("POST", "/api/v1/bans", {"address": "127.0.0.16", "seconds": 120,
                                                                   "reason": "scale-out test"})
        self.assertIn(status, (200, 201), body)
        took = self.refused_by_b_within("127.0.0.16", 2.0)
        self.assertIsNotNone(took, "node b did not enforce the operator's ban made on node a within 2 s")
        bans = console.get("/api/v1/bans")[2]["bans"]
        ban = next(b for b in bans if b["address"] == "127.0.0.16")
        self.assertEqual(ban.get("node"), "a")
        self.assertEqual(console.request("DELETE", "/api/v1/bans/127.0.0.16")[0], 200)
        deadline = time.monotonic() + 2.0
        while True:
            try:
                self.direct("b", "127.0.0.16", user=None)
                break
            except ftplib.error_temp:
                self.assertLess(time.monotonic(), deadline, "node b still refuses after the lift on node a")
                time.sleep(0.1)
        # A ban earned on node b shows in node a's console, with its node.
        for _ in range(2):
            f = self.direct("b", "127.0.0.17", user=None)
            with self.assertRaises(ftplib.error_perm):
                f.login(USER, "wrong")
            self.close(f)
        deadline = time.monotonic() + 2.0
        while not any(b["address"] == "127.0.0.17" and b.get("node") == "b"
                      for b in console.get("/api/v1/bans")[2]["bans"]):
            self.assertLess(time.monotonic(), deadline, "node a's console does not list node b's ban")
            time.sleep(0.1)
        # ...and lifting it there lifts it on node b, which made it.
        self.assertEqual(console.request("DELETE", "/api/v1/bans/127.0.0.17")[0], 200)
        deadline = time.monotonic() + 2.0
        while True:
            try:
                self.direct("b", "127.0.0.17", user=None)
                break
            except ftplib.error_temp:
                self.assertLess(time.monotonic(), deadline, "node b still enforces its own ban lifted on node a")
                time.sleep(0.1)

    def test_per_address_session_limit_counts_every_node(self):
        held = [self.direct("a", "127.0.0.13", user=None) for _ in range(2)]
        held += [self.direct("b", "127.0.0.13", user=None) for _ in range(2)]
        time.sleep(1.5)  # three sync rounds
        for name in ("a", "b"):
            with self.assertRaises(ftplib.error_temp) as refused:
                self.direct(name, "127.0.0.13", user=None)
            self.assertIn("Too many connections from your address", str(refused.exception))
        for f in held[:2]:
            f.quit()
        time.sleep(1.5)
        self.direct("b", "127.0.0.13", user=None)  # node a's sessions are gone: room again

    def test_y_database_stopped_gives_421_without_a_ban_then_logins_work_again(self):
        self.ftp(source="127.0.0.9")  # warms a pooled connection
        self.pg.stop()
        try:
            for _ in range(4):  # more than ban_failures, on both nodes
                with self.assertRaises(ftplib.error_temp) as unavailable:
                    self.ftp(source="127.0.0.9")
                self.assertTrue(str(unavailable.exception).startswith("421"), unavailable.exception)
        finally:
            self.pg.start()
        self.assertTrue(self.wait_in_any_log(r"login impossible: the authenticator failed: auth_pgsql: database"))
        for node in self.nodes.values():
            self.assertIsNone(node.wait_for_log(r"banned 127\.0\.0\.9", timeout=0.1))
        for _ in range(2):
            self.ftp(source="127.0.0.9")  # both nodes reconnect

    def test_z_node_killed_during_an_upload_new_sessions_go_to_the_other_old_file_intact(self):
        old = os.urandom(500_000)
        with open(self.user_file("precious.bin"), "wb") as f:
            f.write(old)
        f = self.ftp(source="127.0.0.5")
        victim = next(name for name, node in self.nodes.items()
                      if node.wait_for_log(r"login ok: user carol from 127\.0\.0\.5", timeout=2))
        survivor = "b" if victim == "a" else "a"
        f.voidcmd("TYPE I")
        conn = f.transfercmd("STOR precious.bin")
        conn.sendall(os.urandom(300_000))
        time.sleep(0.3)
        self.nodes[victim].proc.send_signal(signal.SIGKILL)
        self.nodes[victim].proc.wait(timeout=10)
        conn.close()
        killed_at = time.monotonic()
        mark = self.nodes[survivor].log_mark()
        for _ in range(3):
            g = self.ftp(source="127.0.0.5")
            chunks = []
            g.retrbinary("RETR precious.bin", chunks.append)
            self.assertEqual(b"".join(chunks), old)
        failover = time.monotonic() - killed_at
        self.assertTrue(self.nodes[survivor].wait_for_log(r"login ok: user carol from 127\.0\.0\.5", start=mark))
        with open(self.user_file("precious.bin"), "rb") as got:
            self.assertEqual(got.read(), old, "the killed upload damaged the old file")
        # The killed node's temporary file, unlocked now, is swept by the survivor once stale.
        temps = self.temporaries(".precious.bin")
        self.assertEqual(len(temps), 1, temps)
        stale = os.path.join(self.shared, USER, temps[0])
        os.utime(stale, (time.time() - 3600, time.time() - 3600))
        self.ftp(source="127.0.0.15").retrlines("LIST", lambda line: None)
        self.assertEqual(self.temporaries(".precious.bin"), [])
        print(f"\nfailover: 3 sessions served by node {survivor} within {failover:.2f} s of node {victim}'s SIGKILL",
              flush=True)


if __name__ == "__main__":
    unittest.main()
