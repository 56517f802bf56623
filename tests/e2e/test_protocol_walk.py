"""Seeded random walks through the whole command surface, against one live ferryd.

Four sessions at once (two over ::1 where the machine has IPv6), each its own user with
its own fs_local tree (then all four in one tree, racing; then with TLS required; then
on the implicit FTPS port), take a few hundred random steps: any command ferryd knows
(and unknown, malformed, overlong and pipelined ones) with arguments drawn from good,
missing and hostile values; transfers over PASV, EPSV, PORT and EPRT whose data
connection is read to the end, closed or reset half way, aborted with ABOR, left by a
client that hangs up its control connection, never opened, or (PROT P) opened without
TLS; REIN, QUIT and reconnects; AUTH TLS with PROT P or C.

What must hold at every step:
- every reply is well formed (CRLF lines, a code from 100 to 599, RFC 959 multi-line
  form) and comes within the timeout, also for pipelined commands;
- the server never closes a session but after QUIT (no 421: ferryd is told not to ban);
- what a session reads back is exactly what it wrote: each walker keeps a model of the
  files it uploaded (STOR, APPE, RNFR/RNTO, DELE, RMD) and checks every full RETR,
  every REST + RETR, SIZE and HASH against it;
- commands that cannot fail (NOOP, SYST, FEAT, PWD once logged in) do not.
And at the end: a fresh session still logs in and answers, nothing appeared outside the
users' trees, ferryd logged no error and exits 0 on SIGTERM (CTest also runs this under
ASan+UBSan, where any memory error aborts the server).

FERRY_WALK_SEED and FERRY_WALK_STEPS replay or lengthen a walk; a failure prints the
seed and the walker's last exchanges.
"""

import ftplib
import hashlib
import os
import posixpath
import random
import re
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import unittest

from ferryd_harness import (NET_TIMEOUT, FerryServer, fs_local_mounts, ipv6_available, make_test_certificate,
                            make_users_file, toml_str)

SEED = int(os.environ.get("FERRY_WALK_SEED") or 20261201)
STEPS = int(os.environ.get("FERRY_WALK_STEPS") or 200)
WALKERS = ("alice", "bob", "carol", "dave")
DATA_TIMEOUT = 1  # seconds: a transfer whose data connection never comes costs this much
MAX_DOWNLOAD = 8 << 20

SAFE_NAMES = ["a", "b", "f.bin", "dir", "dir/f", "dir/sub", "dir/sub/g", "/welcome/ferry.png"]
HOSTILE_ARGS = ["", " ", "/", ".", "..", "../..", "/../../etc/passwd", "dir/../../..", "~", "~root", "*", "f*",
                "-la", "a//b/", "x" * 300, "x/" * 200, "%s%n%x", "\u00fcn\u00efc\u00f6de", "a\tb", "C:\\x",
                ".a.ferry-XXXXXX", "/welcome", "/welcome/nope", "no-such/file", "dir/./f", " lead", "trail "]
SIMPLE_COMMANDS = ["ABOR", "ALLO", "ACCT", "CCC", "CDUP", "CWD", "DELE", "FEAT", "HASH", "HELP", "MDTM", "MFMT", "MKD",
                   "MLST", "MODE", "NOOP", "OPTS", "PBSZ", "PROT", "PWD", "REST", "RMD", "RNFR", "RNTO", "SITE",
                   "SIZE", "STAT", "STRU", "SYST", "TYPE", "XCUP", "XCWD", "XMD5", "XMKD", "XPWD", "XRMD", "XSHA1",
                   "XSHA256", "XSHA512", "SMNT", "EPSV", "PASV", "LPRT", "XYZZY", "RETR", "STOR", "LIST"]
SPECIAL_ARGS = {
    "TYPE": ["I", "A", "A N", "E", "L 8", "X", ""], "MODE": ["S", "B", "Z", ""], "STRU": ["F", "R", "P", ""],
    "OPTS": ["UTF8 ON", "UTF8 OFF", "HASH SHA-512", "HASH MD5", "HASH NOPE", "MLST type;size;", "MLST", "X"],
    "REST": ["0", "1", "100", "-1", "99999999999999999999", "abc", ""], "PBSZ": ["0", "1", "x"],
    "PROT": ["P", "C", "S", "E", ""], "SITE": ["HELP", "CHMOD 644 a", "CHMOD 999 a", "CHMOD", "EXEC ls", ""],
    "MFMT": ["20200101000000 a", "2020 a", "99999999999999 a", ""], "EPSV": ["", "1", "2", "ALL", "3", "x"],
    "ALLO": ["100", "R 10", "x", ""], "HELP": ["", "RETR", "NOPE"],
}
WELL_FORMED = re.compile(rb"^[1-5][0-9][0-9][ -]")
_lock = threading.Lock()


class WalkFailure(AssertionError):
    pass


class DataPath:
    """The walker's end of one data connection: a passive address to connect to, or a
    listener for the server's active connection."""

    def __init__(self, address=None, listener=None):
        self.address, self.listener, self.sock = address, listener, None

    def connect(self):
        self.sock = socket.create_connection(self.address, timeout=NET_TIMEOUT)

    def open(self, tls_context, session=None):
        if self.sock is None:
            if self.address:
                self.connect()
            else:
                self.sock = self.listener.accept()[0]
                self.sock.settimeout(NET_TIMEOUT)
        if tls_context is not None:
            self.sock = tls_context.wrap_socket(self.sock, session=session)  # ferryd wants it resumed
        return self.sock

    def close(self):
        for s in (self.sock, self.listener):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        self.sock = self.listener = None


class Walker:
    """One random session. The model: path -> bytes for the files this walker knows exactly."""

    def __init__(self, name, password, address, image, rng, tls_context, exact=True, tls_required=False,
                 implicit=False):
        self.name, self.password, self.rng = name, password, rng
        self.exact = exact  # the tree is this walker's alone: what it writes, it reads back
        self.tls_required = tls_required  # [tls] require = true: AUTH TLS and PROT P come first
        self.implicit = implicit  # implicit FTPS: TLS from the first byte, data protected
        self.host, self.port = address  # 127.0.0.1 or ::1
        self.tls_context = tls_context
        self.model = {"/welcome/ferry.png": image}
        self.history = []
        self.sock = self.file = None
        self.checks = 0  # replies whose code was checked
        self.content_checks = 0  # downloads, SIZE and HASH compared with the model

    # ----- the control connection -------------------------------------------------
    def note(self, text):
        self.history.append(text)
        del self.history[:-40]

    def fail(self, why):
        raise WalkFailure(f"walker {self.name} (FERRY_WALK_SEED={SEED}): {why}\nlast exchanges:\n  "
                          + "\n  ".join(self.history))

    def connect(self):
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=NET_TIMEOUT)
        if self.implicit:
            self.sock = self.tls_context.wrap_socket(self.sock)
        self.file = self.sock.makefile("rb")
        self.tls = self.prot_p = self.implicit
        self.logged_in = self.binary = False
        self.cwd, self.rnfr, self.rest_dirty = "/", None, False
        self.expect(self.reply(), "220")
        if not self.implicit and (self.tls_required or self.rng.random() < 0.3):
            self.start_tls()  # an FTPS client: AUTH TLS, PBSZ, PROT, then login

    def start_tls(self):
        self.expect(self.cmd("AUTH TLS"), "234")
        self.sock = self.tls_context.wrap_socket(self.sock)
        self.file = self.sock.makefile("rb")
        self.tls = True
        self.note("   (TLS)")
        self.expect(self.cmd("PBSZ 0"), "200")
        prot = "P" if self.tls_required else self.rng.choice(["P", "P", "C"])
        self.expect(self.cmd(f"PROT {prot}"), "200")
        self.prot_p = prot == "P"

    def close(self):
        for thing in (self.file, self.sock):
            try:
                if thing is not None:
                    thing.close()
            except OSError:
                pass
        self.sock = self.file = None

    def send(self, raw):
        self.note(">> " + raw[:120].decode("utf-8", "backslashreplace").rstrip("\r\n"))
        self.sock.sendall(raw)

    def reply(self):
        """One whole reply, checked for form. -> (code as str, text)."""
        try:
            lines = [self.file.readline(16384)]
            if not lines[0]:
                self.fail("the server closed the control connection")
            if not WELL_FORMED.match(lines[0]) or not lines[0].endswith(b"\r\n"):
                self.fail(f"malformed reply line {lines[0][:200]!r}")
            if lines[0][3:4] == b"-":
                end = lines[0][:3] + b" "
                while not lines[-1].startswith(end):
                    line = self.file.readline(16384)
                    if not line or not line.endswith(b"\r\n") or len(lines) > 5000:
                        self.fail(f"broken multi-line reply {lines[:3]!r} ... {line[:200]!r}")
                    lines.append(line)
        except (socket.timeout, ConnectionError, ssl.SSLError) as e:
            self.fail(f"no reply: {e!r}")
        text = b"".join(lines).decode("utf-8", "replace")
        self.note("<< " + text[:160].replace("\r\n", " | "))
        return text[:3], text

    def expect(self, reply, *codes):
        if reply[0] not in codes:
            self.fail(f"wanted {'/'.join(codes)}, got {reply[1][:200]!r}")
        self.checks += 1
        return reply

    def cmd(self, line):
        self.send(line.encode("utf-8", "surrogateescape") + b"\r\n")
        code, text = self.reply()
        if code == "421":
            self.fail("421 outside of a login failure")
        return code, text

    def login(self):
        self.expect(self.cmd(f"USER {self.name}"), "331")
        self.expect(self.cmd(f"PASS {self.password}"), "230")
        self.logged_in, self.cwd = True, "/"
        if self.rng.random() < 0.9:  # as most clients do
            self.expect(self.cmd("TYPE I"), "200")
            self.binary = True

    def abs_path(self, name):
        return posixpath.normpath(posixpath.join(self.cwd, name)).replace("//", "/")

    def forget(self, path):
        """Drop path and everything below it from the model (its content is not known)."""
        for p in [p for p in self.model if p == path or p.startswith(path.rstrip("/") + "/")]:
            if not p.startswith("/welcome/"):
                del self.model[p]

    # ----- data connections -------------------------------------------------------
    def data_setup(self):
        """PASV, EPSV, PORT or EPRT. -> a DataPath, or None if the server refused."""
        kind = self.rng.choice(["PASV", "EPSV", "EPSV", "PORT", "EPRT"])
        if kind in ("PASV", "EPSV"):
            code, text = self.cmd(kind)
            if kind == "PASV" and code == "227":
                host, port = ftplib.parse227(text)
            elif kind == "EPSV" and code == "229":
                host, port = ftplib.parse229(text, (self.host, self.port))
            else:  # PASV over IPv6 is refused (425): EPSV it is
                return None
            if host != self.host:
                self.fail(f"passive address {host} is not the control connection's")
            return DataPath(address=(host, port))
        v6 = ":" in self.host
        listener = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
        listener.bind((self.host, 0))
        listener.listen(1)
        listener.settimeout(NET_TIMEOUT)
        p = listener.getsockname()[1]
        if kind == "PORT":  # IPv4 only: over IPv6 it must be refused (522)
            arg = f"127,0,0,1,{p >> 8},{p & 255}"
        else:
            arg = f"|2|::1|{p}|" if v6 else f"|1|127.0.0.1|{p}|"
        reply = self.cmd(f"{kind} {arg}")
        if v6 and kind == "PORT":
            self.expect(reply, "522", "503")  # 503 after EPSV ALL
        if reply[0] != "200":
            listener.close()
            return None
        return DataPath(listener=listener)

    def transfer(self, verb, name):
        """A transfer with a random fate for its data connection; checks content against the model."""
        data = self.data_setup() if self.rng.random() < 0.95 else None
        try:
            self.transfer_over(data, verb, name)
        finally:
            if data is not None:
                data.close()

    def transfer_over(self, data, verb, name):
        path = self.abs_path(name) if name else self.cwd
        upload = verb in ("STOR", "APPE", "STOU")
        rest_offset = None
        if verb == "RETR" and self.rng.random() < 0.2:
            rest_offset = self.rng.choice([0, 1, 7, 4096, 100000])
            if self.cmd(f"REST {rest_offset}")[0] != "350":
                rest_offset = None
        checked = self.binary and not self.rest_dirty
        # whole: read or write it all; drop/reset: stop half way, close (FIN) or reset (RST);
        # abort: stop half way and send ABOR; hangup: stop half way and close the control
        # connection; never: no data connection; plaintext: no TLS on a PROT P connection.
        fate = self.rng.choices(["whole", "drop", "reset", "abort", "hangup", "never"], [64, 10, 6, 12, 5, 3])[0]
        if self.prot_p and self.rng.random() < 0.05:
            fate = "plaintext"
        if data is not None and data.address and fate != "never" and self.rng.random() < 0.5:
            data.connect()  # before the command, as ftplib does; TLS starts after the 150
        code, text = self.cmd(f"{verb} {name}" if name else verb)
        started = code in ("125", "150")
        if verb in ("RETR", "STOR", "APPE"):
            self.rest_dirty = (self.rest_dirty or rest_offset is not None) and not started
        if not started:
            if upload and code[0] != "5":
                self.forget(path)  # a 4xx may come after bytes were written
            return
        if data is None or fate == "never":
            # The server waits DATA_TIMEOUT for the connection, or (active) has one the
            # walker never reads: a small download may still fit in the socket buffers.
            self.expect(self.reply(), "226", "425", "426", "451")
            if upload:
                self.forget(path)
            return
        got, sent, abor_sent = bytearray(), b"", False
        try:
            tls = self.tls_context if self.prot_p and fate != "plaintext" else None
            conn = data.open(tls, self.sock.session if self.tls else None)
            if fate == "plaintext":
                conn.sendall(b"not a TLS client hello\r\n" * 4)
            elif upload:
                sent = self.rng.randbytes(self.rng.choice([0, 1, 100, 65536, 300000]))
                conn.sendall(sent if fate == "whole" else sent[:len(sent) // 2])
                if fate == "abort":
                    self.send(b"ABOR\r\n")
                    abor_sent = True
            else:
                while len(got) < MAX_DOWNLOAD:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                    if fate != "whole":
                        if fate == "abort":
                            self.send(b"ABOR\r\n")
                            abor_sent = True
                        break
            if fate == "hangup":
                self.close()  # while the transfer is running
            elif self.prot_p and fate == "whole":
                conn.unwrap()  # close_notify: a TLS upload is complete only with it
        except (OSError, ssl.SSLError) as e:
            self.note(f"   data connection: {e!r}")
        finally:
            if fate == "reset" and data.sock is not None:
                data.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            data.close()
        if fate == "hangup":
            self.note("   (hung up)")
            if upload:
                self.forget(path)
            self.connect()
            return
        final = self.expect(self.reply(), "226", "250", "425", "426", "450", "451", "452", "522", "550", "551",
                            "552")
        if abor_sent:  # 426 + 226 if the abort won; 226 + 225 if the transfer had ended
            self.expect(self.reply(), "225", "226")
        if upload:
            if verb != "STOU" and fate == "whole" and final[0] == "226" and checked and self.exact:
                if verb == "STOR":
                    self.model[path] = sent
                elif path in self.model:
                    self.model[path] += sent
            elif verb != "STOU":
                self.forget(path)
        elif verb == "RETR" and fate == "whole" and final[0] == "226" and checked and path in self.model:
            want = self.model[path][rest_offset or 0:]
            if bytes(got) != want:
                self.fail(f"RETR {path} (REST {rest_offset}): {len(got)} bytes, want {len(want)}, "
                          f"sha256 {hashlib.sha256(got).hexdigest()[:16]} vs {hashlib.sha256(want).hexdigest()[:16]}")
            self.content_checks += 1

    # ----- one random step ----------------------------------------------------------
    def arg(self):
        return self.rng.choice(SAFE_NAMES if self.rng.random() < 0.6 else HOSTILE_ARGS)

    def step(self):
        if not self.logged_in:
            self.login()
            return
        r = self.rng.random()
        if r < 0.35:
            verb = self.rng.choice(["RETR", "RETR", "STOR", "STOR", "APPE", "STOU", "LIST", "NLST", "MLSD"])
            if verb == "RETR" and self.rng.random() < 0.6:  # mostly what the model knows, by absolute path
                name = self.rng.choice(sorted(self.model))
            else:
                name = self.rng.choice(SAFE_NAMES) if self.rng.random() < 0.85 else self.arg()
            self.transfer(verb, name)
        elif r < 0.50:
            self.file_op()
        elif r < 0.85:
            self.simple_command()
        elif r < 0.95:
            self.odd_input()
        else:
            self.session_op()

    def simple_command(self):
        verb = self.rng.choice(SIMPLE_COMMANDS)
        arg = self.rng.choice(SPECIAL_ARGS[verb]) if verb in SPECIAL_ARGS else (
            self.arg() if self.rng.random() < 0.8 else "")
        code, text = self.cmd(f"{verb} {arg}" if arg else verb)
        if code[0] == "1":  # RETR/STOR/LIST with a data connection still set up: never opened
            self.expect(self.reply(), "226", "425", "426", "451")
        if any(ord(ch) < 32 for ch in arg):  # a control character refuses the whole line
            self.expect((code, text), "500")
            return
        if verb in ("NOOP", "SYST", "FEAT") and not arg:
            self.expect((code, text), {"NOOP": "200", "SYST": "215", "FEAT": "211"}[verb])
        if verb in ("PWD", "XPWD"):
            self.expect((code, text), "257")
        if verb in ("CWD", "XCWD", "CDUP", "XCUP") and code == "250":
            quoted = re.search(r'"((?:[^"]|"")*)"', self.expect(self.cmd("PWD"), "257")[1]).group(1)
            self.cwd = quoted.replace('""', '"')
        if verb == "TYPE" and code == "200":
            self.binary = arg.startswith("I") or arg.startswith("L")
        if verb == "REST" and code == "350":
            self.rest_dirty = True
        if verb == "PROT" and arg == "C" and self.tls_required:
            self.expect((code, text), "534")  # clear data is never allowed
        if verb == "PROT" and code == "200":
            self.prot_p = arg == "P"
        # What may have changed a file (a STOR sent bare can truncate it before its 425).
        if verb in ("DELE", "RMD", "XRMD", "RNTO", "MFMT", "SITE", "STOR") and code[0] in "12":
            self.forget(self.abs_path(arg.split(" ")[-1]) if arg.strip() else self.cwd)
            if verb == "RNTO" and self.rnfr:
                self.forget(self.rnfr)
        if verb == "RNFR":
            self.rnfr = self.abs_path(arg) if code == "350" else None

    def file_op(self):
        name = self.rng.choice(SAFE_NAMES if self.rng.random() < 0.6 else sorted(self.model))
        path = self.abs_path(name)
        op = self.rng.choice(["MKD", "RMD", "DELE", "RENAME", "SIZE", "HASH", "XSHA256", "MDTM", "MLST"])
        if op == "RENAME":
            to = self.rng.choice(SAFE_NAMES)
            if self.cmd(f"RNFR {name}")[0] == "350":
                code, _ = self.cmd(f"RNTO {to}")
                target = self.abs_path(to)
                if code == "250" and path in self.model and not any(p.startswith(path + "/") for p in self.model):
                    content = self.model.pop(path) if not path.startswith("/welcome/") else self.model[path]
                    self.forget(target)
                    self.model[target] = content
                else:
                    self.forget(path), self.forget(target)
            return
        code, text = self.cmd(f"{op} {name}")
        if op in ("DELE", "RMD") and code == "250":
            self.forget(path)
        if path not in self.model or self.rest_dirty:
            return
        content = self.model[path]
        if op == "SIZE" and self.binary:
            self.expect((code, text), "213")
            if text[4:].strip() != str(len(content)):
                self.fail(f"SIZE {path}: {text.strip()!r}, want {len(content)}")
            self.content_checks += 1
        elif op in ("HASH", "XSHA256") and code == "213":
            want = hashlib.sha256(content).hexdigest()
            if op == "XSHA256" or "SHA-256" in text:
                if want not in text.lower():
                    self.fail(f"{op} {path}: {text.strip()!r}, want {want}")
                self.content_checks += 1

    def odd_input(self):
        kind = self.rng.randrange(6)
        if kind == 0:  # pipelined: several commands in one write, each answered in order
            lines = [self.rng.choice(["NOOP", "PWD", "SYST", "TYPE I", "STAT", "HELP", "MODE S", "XYZZY"])
                     for _ in range(self.rng.randint(2, 6))]
            self.send("".join(line + "\r\n" for line in lines).encode())
            for line in lines:
                code, _ = self.reply()
                want = {"NOOP": "200", "PWD": "257", "SYST": "215", "TYPE I": "200", "MODE S": "200",
                        "XYZZY": "502", "HELP": "214"}.get(line)
                if want and code != want:
                    self.fail(f"pipelined {line}: {code}, want {want}")
                if line == "TYPE I":
                    self.binary = True
        elif kind == 1:
            self.expect(self.cmd("X" * self.rng.choice([600, 5000, 20000])), "500")
        elif kind == 2:
            # Any bytes but CR, LF and Telnet's IAC (which could make a line with no command).
            junk = bytes(self.rng.choice([b for b in range(1, 255) if b not in (10, 13)])
                         for _ in range(self.rng.randint(1, 60)))
            self.send(junk + b"\r\n")
            code, _ = self.reply()
            if code[0] not in "2345":
                self.fail(f"junk line answered {code}")
        elif kind == 3:  # Telnet IP/DM before ABOR, as real clients send it
            self.send(b"\xff\xf4\xff\xf2ABOR\r\n")
            self.expect(self.reply(), "225", "226", "500")
        elif kind == 4:
            self.send(b"NOOP\n")
            self.expect(self.reply(), "200")
        else:
            self.expect(self.cmd("noop"), "200")

    def session_op(self):
        kind = self.rng.randrange(4)
        if kind == 0:
            self.expect(self.cmd("REIN"), "220")
            self.logged_in, self.cwd, self.binary, self.rest_dirty = False, "/", False, False
        elif kind == 1:
            self.expect(self.cmd("QUIT"), "221")
            self.connect()
        elif kind == 2 and not self.tls:  # AUTH comes before login: log out first
            self.expect(self.cmd("REIN"), "220")
            self.logged_in, self.cwd, self.binary, self.rest_dirty = False, "/", False, False
            self.start_tls()
        else:  # log out, then a wrong password: 530 after the failed-login delay
            self.expect(self.cmd("REIN"), "220")
            self.binary = self.rest_dirty = False
            self.expect(self.cmd(f"USER {self.name}"), "331")
            self.expect(self.cmd("PASS wrong-" + self.password), "530")
            self.logged_in = False

    def walk(self, steps):
        self.connect()
        for _ in range(steps):
            self.step()
        self.expect(self.cmd("QUIT"), "221")
        self.close()


class ProtocolWalkTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cert_dir = tempfile.mkdtemp(prefix="ferry-walk-cert-")
        make_test_certificate(cls.cert_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.cert_dir, ignore_errors=True)

    def test_random_walks_keep_replies_well_formed_and_data_exact(self):
        """Each session its own user and tree: every byte it reads back is checked."""
        self.walk(users=WALKERS, seed=SEED)

    def test_random_walks_racing_in_one_tree(self):
        """All four as one user in one tree, so one session deletes, renames and replaces
        what another is reading, writing or listing. What they read cannot be predicted
        (only the read-only image is checked); replies, the server and its log can."""
        self.walk(users=("alice",) * len(WALKERS), seed=SEED + 1)

    def test_random_walks_when_tls_is_required(self):
        """[tls] require = true: the same walks, every session an FTPS client. Clear data
        (PROT C, or a data connection without TLS) is refused, never served."""
        self.walk(users=WALKERS, seed=SEED + 2, tls_required=True)

    def test_random_walks_over_implicit_ftps(self):
        """The same walks on the implicit FTPS port: TLS from the first byte, PROT P."""
        self.walk(users=WALKERS, seed=SEED + 3, implicit=True)

    def walk(self, users, seed, tls_required=False, implicit=False):
        tls = (f"[tls]\ncertificate = {toml_str(os.path.join(self.cert_dir, 'cert.pem'))}\n"
               f"private_key = {toml_str(os.path.join(self.cert_dir, 'key.pem'))}\n"
               + ("require = true\n" if tls_required else "")
               + ('implicit_listen = ["127.0.0.1:0"]\n' if implicit else ""))
        v6 = ipv6_available()
        server = FerryServer(listen=("127.0.0.1:0", "[::1]:0") if v6 else ("127.0.0.1:0",), mounts=fs_local_mounts(),
                             config_extra=tls, data_timeout=DATA_TIMEOUT,
                             server_extra="ban_duration = 0\nmax_login_failures = 1000\n")
        server.write_files()
        passwords = {"alice": server.password}
        for name in sorted(set(users) - {"alice"}):
            passwords[name] = "pw-" + name + "-" + server.password
            make_users_file(server.users_path, name, passwords[name])
        for name in set(users):
            os.makedirs(server.user_root(user=name), exist_ok=True)
        top_before = sorted(os.listdir(server.dir))
        client_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_tls.check_hostname = False
        client_tls.verify_mode = ssl.CERT_NONE
        exact = len(set(users)) == len(users)
        failures, walkers = [], []
        with server:
            implicit_address = None
            if implicit:
                line = server.wait_for_log(r"listening \(implicit FTPS\) on 127\.0\.0\.1:\d+", timeout=10)
                self.assertIsNotNone(line, "no implicit FTPS port in the log")
                implicit_address = ("127.0.0.1", int(line.rsplit(":", 1)[1]))
            for i, name in enumerate(users):  # half of them over IPv6 where there is ::1
                address = server.address_for("::1") if v6 and i % 2 else server.address_for("127.0.0.1")
                walkers.append(Walker(name, passwords[name], implicit_address or address, server.image_bytes,
                                      random.Random(seed * 31 + i), client_tls, exact, tls_required, implicit))

            def run(w):
                try:
                    w.walk(STEPS)
                except Exception as e:  # noqa: BLE001 - reported below, with the walker's history
                    with _lock:
                        failures.append(e if isinstance(e, WalkFailure) else
                                        WalkFailure(f"walker {w.name} (FERRY_WALK_SEED={SEED}): {e!r}\n  "
                                                    + "\n  ".join(w.history)))
                finally:
                    w.close()
            threads = [threading.Thread(target=run, args=(w,)) for w in walkers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=240)
            self.assertFalse(any(t.is_alive() for t in threads), "a walker did not finish in 240 s")
            if failures:
                state = "running" if server.proc.poll() is None else f"exited with {server.proc.returncode}"
                raise WalkFailure(f"{len(failures)} walker(s) failed, ferryd {state}; the first: {failures[0]}"
                                  "\nferryd's log, last lines:\n  "
                                  + "\n  ".join(server.log_text().splitlines()[-15:]))
            # Still serving, still sane: a fresh session logs in and answers.
            probe = Walker("alice", passwords["alice"], implicit_address or server.address_for("127.0.0.1"),
                           server.image_bytes, random.Random(seed), client_tls, tls_required=tls_required,
                           implicit=implicit)
            probe.connect()
            probe.login()
            probe.expect(probe.cmd("MDTM /welcome/ferry.png"), "213")
            probe.expect(probe.cmd("QUIT"), "221")
            probe.close()
            self.assertEqual(sorted(os.listdir(server.dir)), top_before, "files appeared beside the users' trees")
            on_disk = 0
            for w in walkers:  # what each walker believes it stored is what is on disk
                for path, content in w.model.items():
                    if not path.startswith("/welcome/"):
                        with open(os.path.join(server.user_root(user=w.name), path.lstrip("/")), "rb") as f:
                            self.assertEqual(f.read(), content, f"{w.name}: {path} on disk")
                        on_disk += 1
            rc = server.stop()
            log = server.log_text()
        self.assertEqual(rc, 0, "ferryd's exit code after SIGTERM; log:\n" + log[-3000:])
        errors = [line for line in log.splitlines() if re.match(r"^\S+ error ", line)]
        self.assertEqual(errors, [], "ferryd logged errors")
        checks = sum(w.checks for w in walkers)
        contents = sum(w.content_checks for w in walkers)
        mode = ("own trees" if exact else "one shared tree") + (", TLS required" if tls_required else "") + (
            ", implicit FTPS" if implicit else "")
        print(f"\nwalk (FERRY_WALK_SEED={SEED}), {len(walkers)} x {STEPS} steps ({mode}): {checks} reply codes, "
              f"{contents} contents (downloads, SIZE, HASH) and {on_disk} files on disk checked")
        self.assertGreater(checks, len(walkers) * STEPS // 4)
        # The model was exercised, not just carried: two checked contents a walker in 200 steps
        # (a shorter FERRY_WALK_STEPS asks for fewer, at least one).
        self.assertGreaterEqual(contents, max(1, len(walkers) * 2 * min(STEPS, 200) // 200))

if __name__ == "__main__":
    unittest.main()
