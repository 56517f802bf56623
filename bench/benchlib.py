"""Helpers shared by bench/run and bench/stress: the process tree of a server, its memory
from /proc, its CPU time (from /proc, or from a cgroup of its own), and the build of the
C++ load generator."""
import datetime
import os
import platform
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, "bench", "configs")
LOADGEN_BUILD = os.path.join(ROOT, "build", "bench")
LOADGEN = os.path.join(LOADGEN_BUILD, "ferry-loadgen")
FLOOR_BUILD = os.path.join(LOADGEN_BUILD, "floor")
FLOOR = os.path.join(FLOOR_BUILD, "ferry-floor")
PUMP = os.path.join(FLOOR_BUILD, "ferry-pump")


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pid):
    """utime+stime+cutime+cstime summed over the live tree (reaped children are in c*time)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])
    return total / tick


class CpuCgroup:
    """The CPU time of a server and of every process it ever started, the exited ones
    included, from a cgroup of its own (cgroup v1 cpuacct or v2). Summing /proc/PID/stat
    over the live tree misses session processes that a server lets the kernel reap:
    vsftpd ignores SIGCHLD, so its sessions' time never reaches its cutime. Without a
    writable cgroup file system, `seconds()` falls back to that sum."""

    V1 = "/sys/fs/cgroup/cpuacct"
    V2 = "/sys/fs/cgroup"

    def __init__(self, name):
        self.path = None
        for root, usage in ((self.V1, "cpuacct.usage"), (self.V2, "cpu.stat")):
            if os.path.exists(os.path.join(root, usage)):
                path = os.path.join(root, f"ferry-bench-{name}")
                try:
                    os.makedirs(path, exist_ok=True)
                    self.path, self.usage = path, os.path.join(path, usage)
                    break
                except OSError:
                    pass

    def join(self):
        """Moves the calling process into the group: call it in the child before exec."""
        if self.path:
            with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def seconds(self, pid):
        if not self.path:
            return cpu_seconds(pid)
        with open(self.usage) as f:
            text = f.read()
        if self.usage.endswith("cpuacct.usage"):
            return int(text) / 1e9
        return int(dict(line.split() for line in text.splitlines())["usage_usec"]) / 1e6

    def remove(self):
        if self.path:
            try:
                os.rmdir(self.path)  # empty once the server and its sessions are gone
            except OSError:
                pass


def memory_kib(pid, fields=("Pss",)):
    """{field: KiB} from /proc/PID/smaps_rollup summed over the process tree, and the
    number of processes (e.g. fields=("Pss", "Rss"))."""
    total = dict.fromkeys(fields, 0)
    procs = tree(pid)
    for p in procs:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    key = line.split(":", 1)[0]
                    if key in total:
                        total[key] += int(line.split()[1])
        except OSError:
            pass
    return total, len(procs)


def pss_kib(pid):
    total, n = memory_kib(pid)
    return total["Pss"], n


def build_loadgen(run, log):
    """Configures and builds bench/loadgen into build/bench (needs build/release)."""
    log("building bench/loadgen -> build/bench")
    run(["cmake", "-S", os.path.join(ROOT, "bench", "loadgen"), "-B", LOADGEN_BUILD, "-DCMAKE_BUILD_TYPE=Release"],
        stdout=subprocess.DEVNULL)
    run(["cmake", "--build", LOADGEN_BUILD, "-j2"], timeout=1800, stdout=subprocess.DEVNULL)


def build_floor(run, log):
    """Configures and builds bench/floor (the minimal responder and the loopback pump) into
    build/bench/floor: plain POSIX, a few seconds, no release tree needed."""
    log("building bench/floor -> build/bench/floor")
    run(["cmake", "-S", os.path.join(ROOT, "bench", "floor"), "-B", FLOOR_BUILD, "-DCMAKE_BUILD_TYPE=Release"],
        stdout=subprocess.DEVNULL)
    run(["cmake", "--build", FLOOR_BUILD, "-j2"], timeout=600, stdout=subprocess.DEVNULL)


def fill(template, values):
    with open(os.path.join(CONFIGS, template)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@" + k + "@", str(v))
    return text


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024 // 1024
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", "core", "plugins",
                            "client"], capture_output=True, text=True, check=False).stdout.strip()
    if dirty:
        commit += " + uncommitted changes under core/plugins/client (built as found)"
    return dict(nproc=os.cpu_count(), cpu=model, mem_gib=mem, kernel=platform.release(),
                os=platform.freedesktop_os_release().get("PRETTY_NAME", "?") if hasattr(platform, "freedesktop_os_release") else "?",
                date=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                loadavg=open("/proc/loadavg").read().split()[0], commit=commit)
