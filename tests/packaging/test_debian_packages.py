"""The Debian packages, as an operator gets them: scripts/package builds ferryd, ferry and
ferry-gui; lintian finds no error or warning; the unit passes systemd-analyze verify and
scores well in systemd-analyze security; the man pages render without a groff warning.
Then they are installed with apt into a clean Debian 12 root made by mmdebstrap (a chroot:
this machine runs no systemd, so the service is started the way the unit starts it, by
hand), where ferryd --check passes on the installed config, ferryd runs as the ferry user
on a loopback port, a user added with `ferryd passwd` downloads with curl and with the
installed ferry, logrotate rotates the transfer log, `man ferryd` renders, and a purge
leaves what Debian policy says (the ferry user, nothing under /etc/ferry, /var/lib/ferry,
/var/log/ferry).

The root comes from a tarball cached per machine (~/.cache/ferry/packaging) for a week, and
apt's downloaded packages are kept beside it, so a second run, from any clone, downloads nothing.
Needs root (chroot, mounts) and, for the first run, Debian's mirror."""

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("FERRY_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
WORK = os.environ.get("FERRY_PACKAGING_DIR") or os.path.join(SOURCE_DIR, "build", "packaging")
PACKAGES = os.path.join(WORK, "packages")
# What the clean root holds besides apt: the clients the test drives inside it, and
# systemd for systemd-analyze (the unit checked where its commands and targets exist).
ROOT_INCLUDES = "curl,man-db,logrotate,systemd"
# The root and apt's downloads are kept per machine, not per checkout: CI's clean clone,
# a worktree and the checkout itself all reuse them (they hold only Debian's packages).
CACHE = os.environ.get("FERRY_PACKAGING_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ferry", "packaging")
ROOT_TARBALL = os.path.join(CACHE, "bookworm-root-" + hashlib.sha256(ROOT_INCLUDES.encode()).hexdigest()[:8] + ".tar")
APT_ARCHIVES = os.path.join(CACHE, "apt-archives")
ROOT_MAX_AGE = 7 * 86400
IMAGE = os.path.join(SOURCE_DIR, "plugins", "send_png", "ferry.png")
# systemd-analyze security's exposure (0 = best, 10 = worst) must stay at or below this.
MAX_EXPOSURE = 2.0
TIMEOUT = 20


def run(args, check=True, timeout=600, **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def mirror_reachable():
    try:
        with socket.create_connection(("deb.debian.org", 80), timeout=5):
            return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DebianPackagesTest(unittest.TestCase):
    root = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: the packages are installed into a chroot")
        for tool in ("dpkg-buildpackage", "lintian", "mmdebstrap", "unshare", "groff"):
            if shutil.which(tool) is None:
                raise AssertionError(f"{tool} is missing: scripts/deps --test installs tests/deps.d/packaging.list")
        fresh = os.path.exists(ROOT_TARBALL) and time.time() - os.path.getmtime(ROOT_TARBALL) < ROOT_MAX_AGE
        if not fresh and not mirror_reachable():
            raise unittest.SkipTest("deb.debian.org cannot be reached and no Debian 12 root is cached in " + CACHE)
        os.makedirs(APT_ARCHIVES, exist_ok=True)
        started = time.monotonic()
        run([os.path.join(SOURCE_DIR, "scripts", "package"), PACKAGES], timeout=1800)
        cls.debs = sorted(os.path.join(PACKAGES, f) for f in os.listdir(PACKAGES)
                          if f.endswith(".deb") and "dbgsym" not in f)
        cls.changes = [os.path.join(PACKAGES, f) for f in os.listdir(PACKAGES) if f.endswith(".changes")]
        cls.built_in = time.monotonic() - started
        if not fresh:
            partial = ROOT_TARBALL + ".part"
            run(["mmdebstrap", "--variant=apt", "--mode=root", "--format=tar", "--include=" + ROOT_INCLUDES,
                 "--skip=cleanup/apt/lists", "bookworm", partial], timeout=1200)
            os.replace(partial, ROOT_TARBALL)
        cls.root = tempfile.mkdtemp(prefix="ferry-debian-root-")
        run(["tar", "-xf", ROOT_TARBALL, "-C", cls.root])
        for deb in cls.debs:
            shutil.copy(deb, os.path.join(cls.root, "tmp"))
        cls.rooted_in = time.monotonic() - started - cls.built_in
        names = " ".join("./tmp/" + os.path.basename(d) for d in cls.debs)
        # The Depends must be enough (no Recommends); dpkg need not sync a scratch root, and
        # man-db need not rebuild its index after each package (man finds pages without it).
        cls.chroot("echo 'man-db man-db/auto-update boolean false' | debconf-set-selections && "
                   "echo 'force-unsafe-io' > /etc/dpkg/dpkg.cfg.d/unsafe-io && "
                   "echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/no-recommends")
        # The first run downloads the dependencies (Qt for ferry-gui); they stay in APT_ARCHIVES.
        cls.install = cls.chroot(f"cd / && DEBIAN_FRONTEND=noninteractive apt-get install -y {names}", check=False,
                                 archives=True)
        if cls.install.returncode != 0 and "404" in cls.install.stdout + cls.install.stderr:
            # A cached index that names superseded versions: refresh it once.
            cls.chroot("apt-get update", archives=True)
            cls.install = cls.chroot(f"cd / && DEBIAN_FRONTEND=noninteractive apt-get install -y {names}",
                                     archives=True)
        elif cls.install.returncode != 0:
            raise AssertionError("apt-get install failed:\n" + cls.install.stdout + cls.install.stderr)
        cls.installed_in = time.monotonic() - started - cls.built_in - cls.rooted_in
        print(f"\npackages built in {cls.built_in:.0f} s, Debian 12 root ready in {cls.rooted_in:.0f} s, "
              f"packages installed in {cls.installed_in:.0f} s")

    @classmethod
    def tearDownClass(cls):
        if cls.root:
            shutil.rmtree(cls.root, ignore_errors=True)

    # A shell command inside the root, in a mount namespace of its own (so /proc and /dev
    # are mounted there only and vanish with it). Popen-like when background=True.
    @classmethod
    def chroot_args(cls, command, archives=False):
        mounts = f'mount -t proc proc "{cls.root}/proc" && mount --bind /dev "{cls.root}/dev"'
        if archives:
            mounts += f' && mount --bind "{APT_ARCHIVES}" "{cls.root}/var/cache/apt/archives"'
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                f'{mounts} && exec chroot "{cls.root}" sh -c "$0"', command]

    @classmethod
    def chroot(cls, command, check=True, archives=False, input=None, timeout=900):
        return run(cls.chroot_args(command, archives), check=check, timeout=timeout, input=input)

    def path(self, inside):
        return os.path.join(self.root, inside.lstrip("/"))

    def owner_mode(self, inside):
        st = os.stat(self.path(inside))
        user = self.chroot(f"getent passwd {st.st_uid} | cut -d: -f1").stdout.strip()
        group = self.chroot(f"getent group {st.st_gid} | cut -d: -f1").stdout.strip()
        return f"{user}:{group}", oct(st.st_mode & 0o7777)

    # ----- the packages themselves --------------------------------------------------
    def test_1_lintian_finds_no_error_or_warning(self):
        self.assertEqual(len(self.changes), 1)
        p = run(["lintian", "--fail-on", "none", "--display-info", "--pedantic", self.changes[0]])
        tags = [line for line in p.stdout.splitlines() if re.match(r"^[EW]: ", line)]
        self.assertEqual(tags, [], p.stdout)
        print("\nlintian: no error, no warning; info and pedantic:\n"
              + p.stdout)

    def test_1_packages_split_as_designed(self):
        contents = {os.path.basename(d).split("_")[0]: run(["dpkg-deb", "-c", d]).stdout for d in self.debs}
        self.assertEqual(sorted(contents), ["ferry", "ferry-gui", "ferryd"])
        self.assertIn("./usr/sbin/ferryd", contents["ferryd"])
        self.assertRegex(contents["ferryd"], r"\./usr/lib/[a-z0-9_-]+/ferry/plugins/libauth_file\.so")
        self.assertIn("./lib/systemd/system/ferryd.service", contents["ferryd"])
        self.assertIn("./etc/logrotate.d/ferryd", contents["ferryd"])
        self.assertIn("./usr/bin/ferry\n", contents["ferry"])
        self.assertIn("./usr/bin/ferry-gui\n", contents["ferry-gui"])
        ferryd_deb = next(d for d in self.debs if os.path.basename(d).startswith("ferryd_"))
        self.assertIn("adduser", run(["dpkg-deb", "-f", ferryd_deb, "Depends"]).stdout)

    def test_1_man_pages_render_without_warnings(self):
        for page in sorted(os.listdir(os.path.join(SOURCE_DIR, "dist", "man"))):
            p = run(["groff", "-ww", "-man", "-Tutf8", "-z", os.path.join(SOURCE_DIR, "dist", "man", page)])
            self.assertEqual(p.stderr, "", page)
            p = run(["man", "-l", os.path.join(SOURCE_DIR, "dist", "man", page)], env=dict(os.environ, MANWIDTH="80"))
            self.assertIn("NAME", re.sub(".\b", "", p.stdout))  # without man's overstrike bold

    def test_2_unit_verifies_and_is_hardened(self):
        # Inside the root, where the unit's commands, man pages and targets are installed.
        p = self.chroot("systemd-analyze verify /lib/systemd/system/ferryd.service 2>&1", check=False)
        self.assertEqual((p.returncode, p.stdout), (0, ""))
        p = self.chroot("systemd-analyze security --offline=true --no-pager ferryd.service", check=False)
        score = re.search(r"Overall exposure level for ferryd.service: ([0-9.]+)", p.stdout)
        self.assertIsNotNone(score, p.stdout + p.stderr)
        print(f"\nsystemd-analyze security ferryd.service: {score.group(1)}")
        self.assertLessEqual(float(score.group(1)), MAX_EXPOSURE, p.stdout)

    # ----- installed into a clean Debian 12 -----------------------------------------
    def test_2_install_made_the_user_the_files_and_said_how_to_add_a_user(self):
        self.assertIn("no user can log in yet", self.install.stderr)
        self.assertIn("ferryd passwd /etc/ferry/users.passwd NAME", self.install.stderr)
        entry = self.chroot("getent passwd ferry").stdout.strip().split(":")
        self.assertLess(int(entry[2]), 1000, "a system user")
        self.assertEqual(entry[5:], ["/var/lib/ferry", "/usr/sbin/nologin"])
        self.assertEqual(self.owner_mode("/etc/ferry/users.passwd"), ("root:ferry", "0o640"))
        self.assertEqual(self.owner_mode("/var/lib/ferry"), ("ferry:ferry", "0o750"))
        self.assertEqual(self.owner_mode("/var/log/ferry"), ("ferry:adm", "0o2750"))
        with open(self.path("/etc/ferry/users.passwd")) as f:
            self.assertEqual([l for l in f if l.strip() and not l.startswith("#")], [], "no user is installed")
        conffiles = self.chroot("cat /var/lib/dpkg/info/ferryd.conffiles").stdout.split()
        self.assertEqual(sorted(conffiles), ["/etc/ferry/config.toml", "/etc/logrotate.d/ferryd"])
        # The unit's ExecStart and the installed defaults agree with ferryd's own default.
        self.assertIn("/etc/ferry/config.toml", self.chroot("ferryd --help").stdout)

    def test_3_check_passes_on_the_installed_config(self):
        p = self.chroot("ferryd --check")
        self.assertIn("/etc/ferry/config.toml: configuration OK", p.stdout)

    def read_log_until(self, server, log, text):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not any(text in l for l in log):
            line = server.stderr.readline()
            if not line:
                break
            log.append(line)
        self.assertTrue(any(text in l for l in log), f"no '{text}' in ferryd's log:\n" + "".join(log))

    def start_ferryd(self, command, env=""):
        server = subprocess.Popen(self.chroot_args(f"{env} exec {command}"), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        self.addCleanup(server.stderr.close)
        self.addCleanup(lambda: server.poll() is None and (server.kill(), server.wait(5)))
        return server

    def test_4_serves_as_ferry_and_a_new_user_downloads_with_curl_and_ferry(self):
        password = "pw-" + os.urandom(6).hex()
        self.chroot("ferryd passwd /etc/ferry/users.passwd alice", input=password + "\n")
        type(self).password = password
        self.assertEqual(self.owner_mode("/etc/ferry/users.passwd"), ("root:ferry", "0o640"))
        # As ferryd.service starts it: its ExecStart, as User=ferry, with a notify socket;
        # the installed defaults, but a free loopback port instead of port 21.
        with open(self.path("/lib/systemd/system/ferryd.service")) as f:
            exec_start = re.search(r"^ExecStart=(.*)$", f.read(), re.M).group(1)
        self.assertEqual(exec_start, "/usr/sbin/ferryd --config /etc/ferry/config.toml")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(notify.close)
        notify.bind(self.path("/run/ferryd-notify"))
        os.chmod(self.path("/run/ferryd-notify"), 0o666)  # as systemd's own: ferry may send
        notify.settimeout(TIMEOUT)
        port = free_port()
        server = self.start_ferryd(f"setpriv --reuid=ferry --regid=ferry --init-groups {exec_start} "
                                   f"--listen 127.0.0.1:{port}", env="NOTIFY_SOCKET=/run/ferryd-notify")
        log = []
        self.assertIn(b"READY=1", notify.recv(4096))
        self.read_log_until(server, log, f"listening on 127.0.0.1:{port}")
        self.assertFalse(any("warning" in l for l in log), "".join(log))
        ferry_uid = int(self.chroot("id -u ferry").stdout)
        with open(f"/proc/{server.pid}/status") as f:
            uids = next(l for l in f if l.startswith("Uid:")).split()[1:]
        self.assertEqual(uids, [str(ferry_uid)] * 4)

        with open(IMAGE, "rb") as f:
            expected = hashlib.sha256(f.read()).hexdigest()
        self.chroot(f"curl -sS --max-time {TIMEOUT} -u alice:{password} ftp://127.0.0.1:{port}/ferry.png -o /tmp/curl.png")
        with open(self.path("/tmp/curl.png"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), expected)
        p = self.chroot(f"cd /tmp && FERRY_PASSWORD={password} ferry get ftp://alice@127.0.0.1:{port}/ferry.png")
        self.assertIn("SHA-256 matches the server", p.stdout + p.stderr)
        with open(self.path("/tmp/ferry.png"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), expected)
        p = self.chroot(f"curl -sS --max-time {TIMEOUT} -u alice:wrong ftp://127.0.0.1:{port}/ferry.png", check=False)
        self.assertNotEqual(p.returncode, 0, "a wrong password is refused")

        # The transfer log, then logrotate and the reload that reopens it.
        xferlog = self.path("/var/log/ferry/xferlog")
        with open(xferlog) as f:
            self.assertEqual(len(re.findall(r" /ferry\.png b _ o r alice ftp 0 \* c$", f.read(), re.M)), 2)
        self.assertEqual(self.owner_mode("/var/log/ferry/xferlog")[0], "ferry:adm")
        self.chroot("logrotate -f /etc/logrotate.d/ferryd")
        self.assertTrue(os.path.exists(xferlog + ".1"), os.listdir(self.path("/var/log/ferry")))
        server.send_signal(signal.SIGHUP)  # ExecReload=
        self.assertIn(b"RELOADING=1", notify.recv(4096))
        self.assertIn(b"READY=1", notify.recv(4096))
        self.read_log_until(server, log, "reloaded /etc/ferry/config.toml")
        self.chroot(f"curl -sS --max-time {TIMEOUT} -u alice:{password} ftp://127.0.0.1:{port}/ferry.png -o /dev/null")
        with open(xferlog) as f:
            self.assertEqual(len(f.read().splitlines()), 1, "the new transfer went to the new file")

        server.send_signal(signal.SIGTERM)
        self.assertEqual(server.wait(TIMEOUT), 0, server.stderr.read())
        self.assertIn(b"STOPPING=1", notify.recv(4096))

    def test_4b_started_as_root_it_becomes_ferry(self):
        # An administrator running it by hand: it binds as root, then server.user = "ferry".
        port = free_port()
        server = self.start_ferryd(f"ferryd --listen 127.0.0.1:{port}")
        log = []
        self.read_log_until(server, log, "running as user ferry")
        ferry_uid = int(self.chroot("id -u ferry").stdout)
        with open(f"/proc/{server.pid}/status") as f:
            uids = next(l for l in f if l.startswith("Uid:")).split()[1:]
        self.assertEqual(uids, [str(ferry_uid)] * 4)
        server.send_signal(signal.SIGTERM)
        self.assertEqual(server.wait(TIMEOUT), 0, server.stderr.read())

    def test_4c_runs_as_a_hardened_service_under_systemd(self):
        # The root booted by systemd-nspawn, with a network of its own (only its loopback):
        # ferryd.service as installed (enabled by the postinst), with all its hardening,
        # on port 21 inside.
        if shutil.which("systemd-nspawn") is None:
            self.skipTest("systemd-nspawn is missing (systemd-container): the unit is checked only statically")
        if not getattr(type(self), "password", None):
            self.skipTest("needs the user added by test_4")
        boot = subprocess.Popen(["systemd-nspawn", "-D", self.root, "-b", "--private-network", "--register=no",
                                 "--keep-unit", "--console=pipe", "-M", "ferry-packaging-test"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def power_off():
            if boot.poll() is None:
                boot.terminate()  # nspawn asks the container's systemd to shut down
                try:
                    boot.wait(TIMEOUT)
                except subprocess.TimeoutExpired:
                    boot.kill()
                    boot.wait(5)
            boot.stdout.close()
        self.addCleanup(power_off)
        init = None
        deadline = time.monotonic() + 30
        state = ""
        while time.monotonic() < deadline and boot.poll() is None:
            children = run(["pgrep", "-P", str(boot.pid)], check=False).stdout.split()
            if children:
                init = children[0]
                state = run(["nsenter", "-t", init, "-a", "systemctl", "is-system-running"], check=False).stdout.strip()
                if state in ("running", "degraded"):
                    break
            time.sleep(0.5)
        if boot.poll() is not None:
            self.skipTest("systemd-nspawn cannot boot a container here: " + boot.stdout.read()[-2000:])
        self.assertIn(state, ("running", "degraded"), "the container did not finish booting")

        def inside(command, check=True):
            return run(["nsenter", "-t", init, "-a", "sh", "-c", command], check=check, timeout=60)

        status = inside("systemctl show ferryd -p ActiveState -p SubState -p StatusText -p User").stdout
        self.assertIn("ActiveState=active", status, inside("journalctl -u ferryd --no-pager", check=False).stdout)
        self.assertIn("StatusText=serving", status)  # READY=1 came through the notify socket
        pw = type(self).password
        inside(f"curl -sS --max-time {TIMEOUT} -u alice:{pw} ftp://127.0.0.1/ferry.png -o /root/service.png")
        with open(IMAGE, "rb") as f, open(self.path("/root/service.png"), "rb") as g:  # the booted /tmp is a tmpfs
            self.assertEqual(f.read(), g.read())
        p = inside(f"cd /tmp && FERRY_PASSWORD={pw} ferry get -o ipv6.png 'ftp://alice@[::1]/ferry.png' 2>&1")
        self.assertIn("SHA-256 matches the server", p.stdout)
        inside("systemctl reload ferryd")
        self.assertIn("reloaded /etc/ferry/config.toml", inside("journalctl -u ferryd --no-pager").stdout)
        self.assertIn("ActiveState=active", inside("systemctl show ferryd -p ActiveState").stdout)
        pid = inside("systemctl show ferryd -p MainPID --value").stdout.strip()
        uid_line = inside(f"grep ^Uid: /proc/{pid}/status").stdout.split()
        self.assertEqual(uid_line[1:], [inside("id -u ferry").stdout.strip()] * 4)
        # The unit's own filter lets ferryd confine itself further: its seccomp filter is
        # stacked under systemd's (Landlock depends on what nspawn lets through).
        journal = inside("journalctl -u ferryd --no-pager").stdout
        self.assertIn("seccomp allow-list of", journal)
        self.assertIn("Seccomp:\t2", inside(f"cat /proc/{pid}/status").stdout)
        inside("systemctl stop ferryd")
        journal = inside("journalctl -u ferryd --no-pager").stdout
        self.assertIn("info stopped", journal)
        self.assertNotIn("Failed", journal)

    def test_5_man_ferryd_renders_inside(self):
        p = self.chroot("MANWIDTH=80 man ferryd 2>&1; MANWIDTH=80 man 5 ferryd.toml 2>&1")
        p.stdout = re.sub(".\b", "", p.stdout)
        self.assertIn("ferryd - FTP and FTPS server", p.stdout)
        self.assertIn("ferryd passwd /etc/ferry/users.passwd", p.stdout)
        self.assertIn("passive_ports", p.stdout)

    def test_6_purge_leaves_what_policy_says(self):
        self.chroot("DEBIAN_FRONTEND=noninteractive apt-get purge -y ferryd ferry ferry-gui")
        for gone in ("/etc/ferry", "/var/lib/ferry", "/var/log/ferry", "/usr/sbin/ferryd", "/usr/bin/ferry",
                     "/usr/bin/ferry-gui", "/etc/logrotate.d/ferryd", "/lib/systemd/system/ferryd.service"):
            self.assertFalse(os.path.lexists(self.path(gone)), gone + " is left after purge")
        # The system user stays: files elsewhere may still belong to its uid.
        self.assertTrue(self.chroot("getent passwd ferry").stdout.startswith("ferry:"))


if __name__ == "__main__":
    unittest.main()
