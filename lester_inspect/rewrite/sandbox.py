"""Running a pipeline script in an isolated process with limits, and reading back what its model was fitted on.

Generated code is hostile until proven otherwise. The original pipeline and every
candidate run in the same sandbox, built with bubblewrap (``bwrap``):

* **namespaces**: user, pid, network, ipc, uts and mount. The script sees a
  read-only root that holds only the system's ``/usr``, the Python installation,
  this package and the *inputs* (see :func:`sandbox_inputs`), each at its real
  path; ``/proc`` shows only the sandbox's own processes, so no parent's
  environment can be read; the network namespace has only its own loopback
  device, so nothing outside (not even the host's ``127.0.0.1``) is reachable;
* **the scratch folder**: the working directory (at the user's working-directory
  path, so relative paths resolve as they do for the user) and ``TMPDIR`` (with
  ``HOME`` in it) are size-limited tmpfs mounts; the run's results go to a
  private folder bound in for it. ``/tmp`` is a tmpfs too, for scripts that
  name it, but a candidate writing there fails validation (a host path under
  ``/tmp`` would look writable). Nothing else is writable;
* **environment**: built from an allow-list (``PATH``, ``HOME``, ``LANG``,
  ``LC_ALL``, ``TZ``, ``TMPDIR``, ``PYTHONPATH`` for this package,
  ``PYTHONHASHSEED=0``, ``PYTHONDONTWRITEBYTECODE=1``, ``USER``/``LOGNAME`` and
  one OpenMP/BLAS thread unless the user's environment says otherwise);
* **limits**: address space (``RLIMIT_AS``), CPU time (``RLIMIT_CPU``), the
  size of every written file, stdout and stderr included (``RLIMIT_FSIZE``),
  the number of processes (a ``pids`` cgroup when one is writable, else
  ``RLIMIT_NPROC``, which the kernel does not enforce for root), and a wall-clock
  time limit that kills the sandbox's pid namespace, so that processes that
  called ``setsid()`` die too.

Candidates also run under an audit hook (see :mod:`.capture`) that records, and
refuses, what generated code has no business doing; the parent collects these
records through a pipe, and validation fails on any of them.

When bubblewrap cannot run on a machine, :func:`isolation` says why, and
``rewrite`` refuses to run generated code unless told to run it without a
sandbox (``unsafe=True``): then only the environment allow-list, the limits and
a scratch working directory (with links to the inputs) remain.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from lester_inspect.rewrite.compare import FitInputs

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE_PARENT = os.path.dirname(_PACKAGE_DIR)
_TAIL_LINES = 25
_TAIL_BYTES = 64 * 1024
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_PASSED_VARIABLES = ("LANG", "LC_ALL", "TZ")
# Where the run's own files appear inside the sandbox; no user path looks like this.
BOX = "/.lester-sandbox"
TMPDIR = f"{BOX}/tmp"
HOME = f"{TMPDIR}/home"
SANDBOX_UID = 65534
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
_ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_EVENTS_LIMIT = 1 << 20

# Runs the limits in the process that then becomes bubblewrap (or, unsafe, the pipeline): a
# preexec_fn would run Python between fork and exec, which is unsafe while other threads run.
_LIMITS_WRAPPER = """\
import os, resource, sys
memory, cpu, fsize, cgroup = (int(v) for v in sys.argv[1:5])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
if cgroup:
    with open(sys.argv[5], "w") as handle:
        handle.write(str(os.getpid()))
os.execv(sys.argv[6], sys.argv[6:])
"""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Limits of one sandboxed run.

    ``sample_rows`` makes it read only that many rows of each input file;
    ``processes`` counts threads too (the kernel does); ``output_mb`` bounds each
    written file, stdout and stderr, and each writable tmpfs.
    """

    seconds: float = 300.0
    memory_mb: int = 4096
    sample_rows: Optional[int] = None
    processes: int = 64
    output_mb: int = 1024


@dataclasses.dataclass(frozen=True)
class Sandbox:
    """What a run may see: read-only ``inputs`` (absolute paths), the working directory ``cwd``, and the folders
    ``hidden`` under an input (the response cache, say), which appear empty.

    ``unsafe`` runs without isolation (only the environment allow-list, limits
    and a scratch working directory).
    """

    inputs: Tuple[str, ...] = ()
    cwd: str = ""
    hidden: Tuple[str, ...] = ()
    unsafe: bool = False


@dataclasses.dataclass(frozen=True)
class Isolation:
    """Whether strong isolation is available here, and a description of it (or why not)."""

    available: bool
    description: str
    process_limit: str


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """A finished sandboxed run: what its model was fitted on, or why there is nothing.

    ``violations`` lists what the audit hook refused a candidate (one line
    each, with the script line where known).
    """

    error: str
    inputs: Optional[FitInputs]
    report: Dict[str, Any]
    stdout: str
    seconds: float
    violations: Tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.error


# -- what the script may see -------------------------------------------------------------------------------

def sandbox_inputs(source: str, script_path: str, args: Sequence[str] = (), cwd: Optional[str] = None) -> Tuple[str, ...]:
    """The paths a pipeline reads, as far as its text and arguments tell: what the sandbox makes visible.

    * arguments that name existing files or folders;
    * string constants of the script that name an existing file or folder,
      relative to ``cwd`` or to the script's folder, or absolute; for a path
      template (a constant with ``{`` or ``%``, or the text an f-string starts
      with) the existing folder it lies in. A plain path that does not exist is
      an output, and its folder is not an input (it stays writable if it is
      under the working directory);
    * modules next to the script that it imports.

    Never ``/`` or the home folder; from the script's text, never the working
    directory, one of its ancestors or the script's folder either: a script
    that names ``"."`` does not get to see everything (an argument ``.`` does:
    the user gave it, and the working directory is then read-only).
    """
    cwd = os.path.abspath(cwd or os.getcwd())
    script_dir = os.path.dirname(os.path.abspath(script_path))
    never = {os.path.abspath(os.path.expanduser("~")), os.sep}
    too_wide = never | {cwd, script_dir, *_ancestors(cwd), *_ancestors(script_dir)}
    found: Dict[str, None] = {}

    def add(path: str, excluded=too_wide) -> None:
        path = os.path.normpath(os.path.abspath(path))
        if path not in excluded and os.path.exists(path):
            found[path] = None

    for argument in args:
        if os.path.exists(os.path.join(cwd, argument)):
            add(os.path.join(cwd, argument), never)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = ast.Module(body=[], type_ignores=[])
    f_string_parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            _add_path(str(node.values[0].value), True, (cwd, script_dir), add)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in f_string_parts:
            _add_path(node.value, "{" in node.value or "%" in node.value, (cwd, script_dir), add)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                for local in (os.path.join(script_dir, top + ".py"), os.path.join(script_dir, top)):
                    if top and os.path.exists(local) and (local.endswith(".py") or os.path.isdir(local)):
                        add(local)
    return tuple(found)


def _add_path(text: str, template: bool, bases: Iterable[str], add: Callable[[str], None]) -> None:
    if not 0 < len(text) < 4096 or "\n" in text or "\0" in text:
        return
    for base in bases:
        candidate = os.path.join(base, os.path.expanduser(text))
        if os.path.exists(candidate) and not template:
            add(candidate)
        elif template and os.sep in text and os.path.isdir(os.path.dirname(candidate)):
            add(os.path.dirname(candidate))


def _ancestors(path: str) -> List[str]:
    ancestors = []
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return ancestors
        ancestors.append(parent)
        path = parent


def child_environment(home: Optional[str] = None, tmpdir: Optional[str] = None) -> Dict[str, str]:
    """The environment of a pipeline run, from an allow-list: nothing else of ours reaches it.

    ``home`` and ``tmpdir`` default to the user's (for runs outside the sandbox).
    """
    environment = {"PATH": os.pathsep.join(dict.fromkeys([os.path.dirname(sys.executable), "/usr/local/bin",
                                                          "/usr/bin", "/bin"]))}
    for name in _PASSED_VARIABLES:
        if os.environ.get(name):
            environment[name] = os.environ[name]
    environment.setdefault("LANG", "C.UTF-8")
    environment["HOME"] = home or os.path.expanduser("~")
    environment["TMPDIR"] = tmpdir or tempfile.gettempdir()
    environment["USER"] = environment["LOGNAME"] = "sandbox" if home else os.environ.get("USER", "")
    environment["PYTHONPATH"] = _PACKAGE_PARENT
    environment["PYTHONHASHSEED"] = "0"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    environment["PYTHONNOUSERSITE"] = "1"
    # The original and a candidate run side by side; OpenMP/BLAS thread pools spinning on the
    # same cores doubled the CPU time of a run in measurements. A user's own setting wins.
    for name in _THREAD_VARIABLES:
        environment[name] = os.environ.get(name) or "1"
    return environment


# -- isolation ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def isolation() -> Isolation:
    """Probe once whether bubblewrap can build the sandbox here (it runs Python in it)."""
    bwrap = shutil.which("bwrap")
    process_limit = "a pids cgroup" if _pids_cgroup_root() else (
        "RLIMIT_NPROC" if os.getuid() != 0 else
        "NOT ENFORCED (root, for whom the kernel ignores RLIMIT_NPROC, and no writable pids cgroup)")
    if bwrap is None:
        return Isolation(False, "bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)",
                         process_limit)
    scratch = tempfile.mkdtemp(prefix="lester-sandbox-probe-")
    try:
        _write(scratch, "script.py", "")
        _make(scratch, "out")
        command = _bwrap_command(bwrap, scratch, Sandbox(cwd=scratch), Limits()) + [sys.executable, "-S", "-c", "pass"]
        try:
            probe = subprocess.run(command, capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
        except (OSError, subprocess.TimeoutExpired) as error:
            return Isolation(False, f"bubblewrap at {bwrap} cannot start: {error}", process_limit)
        if probe.returncode != 0:
            reason = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
            return Isolation(False, f"bubblewrap at {bwrap} cannot build the sandbox here: {reason} (user "
                                    f"namespaces may be disabled)", process_limit)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.strip() or "bubblewrap"
    return Isolation(True, f"{version}: user, pid, network, ipc, uts and mount namespaces; no network; read-only "
                           f"inputs; writable scratch only; processes limited by {process_limit}", process_limit)


def _bwrap_command(bwrap: str, scratch: str, sandbox: Sandbox, limits: Limits) -> List[str]:
    """The ``bwrap`` arguments of a run whose private files are in ``scratch``."""
    size = str(limits.output_mb * 1024 * 1024)
    command = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
               "--die-with-parent", "--new-session", "--clearenv", "--ro-bind", "/usr", "/usr"]
    for path in _ROOT_LINKS:
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            command += ["--ro-bind", path, path]
    for path in _SYSTEM_FILES:
        command += ["--ro-bind-try", path, path]
    command += ["--ro-bind", _write(scratch, "passwd", f"sandbox:x:{SANDBOX_UID}:{SANDBOX_UID}::{HOME}:/bin/sh\n"),
                "/etc/passwd",
                "--ro-bind", _write(scratch, "group", f"sandbox:x:{SANDBOX_UID}:\n"), "/etc/group",
                "--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/tmp",
                "--size", size, "--tmpfs", TMPDIR, "--dir", HOME]
    mounts: List[Tuple[str, List[str]]] = [(path, ["--ro-bind", path, path]) for path in _python_paths()]
    mounts.append((_PACKAGE_DIR, ["--ro-bind", _PACKAGE_DIR, _PACKAGE_DIR]))
    cwd = os.path.abspath(sandbox.cwd or scratch)
    inputs = [os.path.abspath(p) for p in sandbox.inputs]
    # A working directory inside an input stays read-only: the tmpfs would hide the input.
    if cwd != os.sep and not any(_within(cwd, p) for p in inputs):
        mounts.append((cwd, ["--size", size, "--tmpfs", cwd]))
    mounts += [(path, ["--ro-bind", path, path]) for path in inputs]
    mounts += [(path, ["--tmpfs", path]) for path in sandbox.hidden
               if os.path.isdir(path) and any(_within(path, p) for p in inputs)]
    # Parents before children, so that no mount hides a later one; Python's sort is stable.
    for _, arguments in sorted(mounts, key=lambda item: item[0].rstrip(os.sep).count(os.sep)):
        command += arguments
    command += ["--ro-bind", os.path.join(scratch, "script.py"), f"{BOX}/script.py",
                "--bind", os.path.join(scratch, "out"), f"{BOX}/out",
                "--remount-ro", "/", "--chdir", cwd]
    for name, value in child_environment(home=HOME, tmpdir=TMPDIR).items():
        command += ["--setenv", name, value]
    return command


def _python_paths() -> List[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.dirname(os.path.realpath(
        sys.executable)))}
    paths |= {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    # Keep the outermost of nested paths; /usr is bound already.
    paths = {os.path.abspath(p) for p in paths if os.path.isdir(p) and not _within(p, "/usr")}
    return sorted(p for p in paths if not any(p != q and _within(p, q) for q in paths))


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _write(folder: str, name: str, text: str) -> str:
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


# -- the process limit -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _pids_cgroup_root() -> Optional[str]:
    """A folder under which we may create pids cgroups (v1 ``pids`` hierarchy or cgroup v2), or None."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            root = "/sys/fs/cgroup/pids"
        elif controllers == "" and _has_pids_controller("/sys/fs/cgroup"):
            root = "/sys/fs/cgroup"
        else:
            continue
        folder = os.path.join(root, path.lstrip("/"))
        probe = os.path.join(folder, f"lester-probe-{os.getpid()}")
        try:
            os.mkdir(probe)
            usable = os.path.exists(os.path.join(probe, "pids.max"))
            os.rmdir(probe)
        except OSError:
            continue
        if usable:
            return folder
    return None


def _has_pids_controller(root: str) -> bool:
    try:
        with open(os.path.join(root, "cgroup.controllers"), encoding="utf-8") as handle:
            return "pids" in handle.read().split()
    except OSError:
        return False


class _PidsCgroup:
    """One run's pids cgroup: at most ``limit`` tasks; everything in it is killed on close."""

    _counter = iter(range(1, 1 << 62))

    def __init__(self, root: str, limit: int):
        self.path = os.path.join(root, f"lester-sandbox-{os.getpid()}-{next(self._counter)}")
        os.mkdir(self.path)
        with open(os.path.join(self.path, "pids.max"), "w", encoding="utf-8") as handle:
            handle.write(str(limit))

    @property
    def procs(self) -> str:
        return os.path.join(self.path, "cgroup.procs")

    def close(self) -> None:
        for _ in range(100):
            try:
                with open(self.procs, encoding="utf-8") as handle:
                    pids = [int(p) for p in handle.read().split()]
            except OSError:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.02)


# -- a run -------------------------------------------------------------------------------------------------

def run_captured(script_text: str, run_as: str, args: Sequence[str], limits: Limits, sandbox: Sandbox = Sandbox(),
                 candidate: bool = False, on_start: Optional[Callable[[subprocess.Popen], None]] = None) -> RunOutcome:
    """Run ``script_text`` as if it were the file ``run_as`` with ``args``, in a sandbox, and capture its fit inputs.

    ``candidate`` adds what only generated code gets: the check of
    ``encode_features()`` and the audit hook. ``on_start`` receives the child
    process, e.g. to :func:`kill` it when the run is no longer needed.

    Raises
    ------
    RuntimeError
        If ``sandbox`` is not unsafe and there is no strong isolation here.
    """
    scratch = tempfile.mkdtemp(prefix="lester-rewrite-")
    started = time.monotonic()
    cgroup = None
    try:
        _write(scratch, "script.py", script_text)
        out = os.path.join(scratch, "out")
        os.makedirs(out)
        if sandbox.unsafe:
            cwd = _scratch_cwd(scratch, sandbox)
            out_inside, script_inside, prefix = out, os.path.join(scratch, "script.py"), []
            environment = child_environment(home=_make(scratch, "home"), tmpdir=_make(scratch, "tmp"))
        else:
            available = isolation()
            if not available.available:
                raise RuntimeError(f"no strong isolation on this machine: {available.description}")
            cwd, out_inside, script_inside = None, f"{BOX}/out", f"{BOX}/script.py"
            prefix = _bwrap_command(shutil.which("bwrap"), scratch, sandbox, limits)
            environment = {"PATH": "/usr/bin:/bin"}
        read_events, write_events = os.pipe()
        command = [*prefix, sys.executable, "-m", "lester_inspect.rewrite.capture", "--script", script_inside,
                   "--as", os.path.abspath(run_as), "--out", out_inside, "--processes", str(limits.processes),
                   "--events-fd", str(write_events)]
        if limits.sample_rows:
            command += ["--sample-rows", str(limits.sample_rows)]
        if candidate:
            command.append("--candidate")
            for path in sandbox.inputs:
                command += ["--input", os.path.abspath(path)]
            writable = [scratch] if sandbox.unsafe else [TMPDIR, out_inside, os.path.abspath(sandbox.cwd or scratch)]
            for path in writable:
                command += ["--writable", path]
        command += ["--", *args]
        cgroup_root = _pids_cgroup_root()
        cgroup = _PidsCgroup(cgroup_root, limits.processes) if cgroup_root else None
        cpu = int(limits.seconds * (os.cpu_count() or 1)) + 1
        wrapper = [sys.executable, "-I", "-S", "-c", _LIMITS_WRAPPER, str(limits.memory_mb * 1024 * 1024), str(cpu),
                   str(limits.output_mb * 1024 * 1024), "1" if cgroup else "0", cgroup.procs if cgroup else "-"]
        with open(os.path.join(scratch, "stdout"), "wb") as stdout, open(os.path.join(scratch, "stderr"), "wb") as stderr:
            try:
                process = subprocess.Popen([*wrapper, *command], cwd=cwd, env=environment, stdin=subprocess.DEVNULL,
                                           stdout=stdout, stderr=stderr, pass_fds=(write_events,),
                                           start_new_session=True)
            finally:
                os.close(write_events)
        events = _EventReader(read_events)
        if on_start is not None:
            on_start(process)
        timed_out = False
        try:
            process.wait(timeout=limits.seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill(process)
            process.wait()
        except BaseException:
            # Ctrl-C reaches only our process group: the run would go on without us.
            kill(process)
            process.wait()
            raise
        finally:
            if cgroup is not None:
                cgroup.close()
                cgroup = None
        violations = events.finish()
        seconds = time.monotonic() - started
        stdout_text, stderr_text = (_tail_of(os.path.join(scratch, name)) for name in ("stdout", "stderr"))
        if timed_out:
            return RunOutcome(f"the script did not finish within the time limit of {limits.seconds:g} s", None, {},
                              stdout_text, seconds, violations)
        report = _read_report(os.path.join(out, "capture.json"))
        if report.get("status") == "ok":
            return RunOutcome("", _fit_inputs(out, report), report, stdout_text, seconds, violations)
        return RunOutcome(_failure(report, process.returncode, stderr_text, limits), None, report, stdout_text,
                          seconds, violations)
    finally:
        if cgroup is not None:
            cgroup.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _make(scratch: str, name: str) -> str:
    path = os.path.join(scratch, name)
    os.makedirs(path, exist_ok=True)
    return path


def _scratch_cwd(scratch: str, sandbox: Sandbox) -> str:
    """Unsafe runs: a scratch working directory with links to the inputs under the user's one."""
    cwd = _make(scratch, "cwd")
    user_cwd = os.path.abspath(sandbox.cwd or os.getcwd())
    for path in sandbox.inputs:
        if _within(path, user_cwd) and path != user_cwd:
            link = os.path.join(cwd, os.path.relpath(path, user_cwd))
            os.makedirs(os.path.dirname(link), exist_ok=True)
            if not os.path.lexists(link):
                os.symlink(path, link)
    return cwd


class _EventReader:
    """Collects the audit records a run sends through its pipe, in a thread, until the run's end."""

    def __init__(self, descriptor: int):
        self.descriptor = descriptor
        self.data = bytearray()
        self.thread = threading.Thread(target=self._read, name="lester-sandbox-events", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while True:
                chunk = os.read(self.descriptor, 65536)
                if not chunk:
                    return
                if len(self.data) < _EVENTS_LIMIT:
                    self.data += chunk
        finally:
            os.close(self.descriptor)

    def finish(self) -> Tuple[str, ...]:
        # Every writer is dead by now (the pid namespace is gone), so the pipe is at its end.
        self.thread.join(timeout=10)
        lines = []
        for line in bytes(self.data).decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
                lines.append(str(record["violation"]))
            except (ValueError, KeyError, TypeError):
                lines.append(f"garbled audit record: {line[:200]!r}")
        return tuple(dict.fromkeys(lines))


def kill(process: subprocess.Popen) -> None:
    """Kill a sandboxed run and whatever it started.

    Killing bubblewrap kills the sandbox's first process (``--die-with-parent``),
    and with it the pid namespace: every process in it, also those in other
    sessions.
    """
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_report(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _fit_inputs(out: str, report: Dict[str, Any]) -> FitInputs:
    X = np.load(os.path.join(out, "X.npy"), allow_pickle=False)
    y = np.load(os.path.join(out, "y.npy"), allow_pickle=False) if report["has_labels"] else None
    return FitInputs(X, y, report["model"].rsplit(".", 1)[-1], report["params"], tuple(report["feature_names"]))


def _failure(report: Dict[str, Any], returncode: int, stderr: str, limits: Limits) -> str:
    error = report.get("error") or ""
    # Killed by a signal: -N from the process itself, 128 + N as bubblewrap passes it on.
    signalled = {-returncode if returncode < 0 else returncode - 128}
    if signal.SIGXCPU in signalled:
        return f"the script used up its CPU time limit ({limits.seconds:g} s per core)"
    if "MemoryError" in error or signalled & {signal.SIGKILL, signal.SIGSEGV} and not error:
        return (f"the script ran out of memory (limit {limits.memory_mb} MB)\n" + (error or _tail(stderr))).strip()
    if error:
        return error.rstrip()
    return f"the script's process ended with exit status {returncode} without a report:\n{_tail(stderr)}".rstrip()


def _tail_of(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(os.path.getsize(path) - _TAIL_BYTES, 0))
            return _tail(handle.read().decode("utf-8", "replace"))
    except OSError:
        return ""


def _tail(text: str) -> str:
    lines = (text or "").rstrip().splitlines()
    return "\n".join(lines[-_TAIL_LINES:])
