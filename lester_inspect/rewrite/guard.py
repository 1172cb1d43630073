"""Inside the sandbox, for candidates only: an audit hook that records and refuses what generated code may not do.

Installed by :mod:`.capture` before anything of the candidate runs
(``sys.addaudithook``; hooks cannot be removed). Each refusal is written at
once, as one JSON line ``{"violation": "line 12: opened a socket ..."}``, to a
pipe the parent reads (a file in the scratch folder could be rewritten by the
candidate afterwards), and then the operation fails with ``PermissionError``.

What is refused:

* **writing** outside the writable folders (``open`` for writing, ``os.remove``,
  ``os.rename``, ``os.mkdir``, ... of another path), whoever calls it;
* **the environment**: reading ``/proc/<pid>/environ``, whoever does it; reading
  ``os.environ`` / ``os.getenv`` or changing variables from the candidate's code;
* **the network**: connecting, binding or sending to an internet address and
  resolving host names, whoever does it; creating a socket from the candidate's code;
* **processes**: ``fork``, ``exec``, ``spawn``, ``system``, ``subprocess``,
  ``kill`` from the candidate's code;
* **ctypes** from the candidate's code;
* **reading files** that are not inputs from the candidate's code.

"From the candidate's code" means that the innermost frame outside the
standard library is the candidate's script: ``subprocess.run`` called by the
script counts, the thread pool scikit-learn starts for ``n_jobs`` does not.

The hook is a tripwire inside the process, not the boundary: the boundary is
the sandbox around the process (:mod:`.sandbox`), which holds even against
code written to get past the hook.
"""
from __future__ import annotations

import json
import os
import re
import sys
import sysconfig
from typing import Iterable, Optional, Sequence, Tuple

_STDLIB = tuple(os.path.join(os.path.realpath(sysconfig.get_paths()[k]), "") for k in ("stdlib", "platstdlib"))
_ENVIRON_FILE = re.compile(r"^/proc/(?:self|thread-self|\d+)(?:/task/\d+)?/environ$")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Events naming the path they change, and the position of that path in the event's arguments.
_PATH_CHANGES = {"os.remove": 0, "os.rmdir": 0, "os.mkdir": 0, "os.chmod": 0, "os.chown": 0, "os.truncate": 0,
                 "os.utime": 0, "os.chflags": 0, "os.lchown": 0, "shutil.rmtree": 0, "os.rename": 1,
                 "os.link": 1, "os.symlink": 1, "shutil.copyfile": 1, "shutil.copytree": 1, "shutil.move": 1,
                 "os.mkfifo": 0, "os.mknod": 0}
_PROCESS_EVENTS = {"os.fork": "forks a process", "os.forkpty": "forks a process",
                   "os.posix_spawn": "spawns a process", "os.spawn": "spawns a process",
                   "os.exec": "executes a program", "os.system": "runs a shell command",
                   "subprocess.Popen": "starts a subprocess", "os.startfile": "starts a program",
                   "pty.spawn": "spawns a process", "os.kill": "signals a process", "os.killpg": "signals processes",
                   "os.pidfd_open": "opens a process handle"}
_NETWORK_EVENTS = {"socket.connect": "connects", "socket.bind": "binds a socket", "socket.sendto": "sends",
                   "socket.sendmsg": "sends"}
_NAME_EVENTS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
                "socket.getnameinfo"}
_INTERESTING = frozenset({"open", "socket.__new__", "urllib.Request", "os.putenv", "os.unsetenv", "ctypes.dlopen",
                          "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function", "ctypes.string_at",
                          "ctypes.wstring_at", "ctypes.addressof", *_PATH_CHANGES, *_PROCESS_EVENTS,
                          *_NETWORK_EVENTS, *_NAME_EVENTS})


class Guard:
    """The audit hook of one candidate run.

    Parameters
    ----------
    script : str
        The candidate's file name (its code objects carry it).
    descriptor : int
        Where the records go (the write end of the parent's pipe).
    writable : sequence of str
        Folders the candidate may write to.
    readable : sequence of str
        Folders and files the candidate's own code may read (the inputs, the
        Python installation, the writable folders).
    """

    def __init__(self, script: str, descriptor: int, writable: Sequence[str], readable: Sequence[str]):
        self.script = script
        self.descriptor = descriptor
        self.writable = tuple(_normal(p) for p in writable) + ("/dev",)
        self.readable = tuple(_normal(p) for p in readable) + self.writable + ("/proc/self", "/sys")
        self.busy = False

    def install(self) -> None:
        sys.addaudithook(self)
        environ = os.environ
        watched = _WatchedEnviron(self, environ._data, environ.encodekey, environ.decodekey, environ.encodevalue,
                                  environ.decodevalue)
        os.environ = watched

    def __call__(self, event: str, args: Tuple) -> None:
        if event not in _INTERESTING or self.busy:
            return
        self.busy = True
        try:
            violation = self._judge(event, args)
        finally:
            self.busy = False
        if violation is not None:
            self.refuse(violation)

    def refuse(self, violation: str) -> None:
        line = self.script_line()
        text = f"line {line}: {violation}" if line else violation
        try:
            os.write(self.descriptor, (json.dumps({"violation": text}) + "\n").encode("utf-8"))
        except OSError:
            pass
        raise PermissionError(f"refused by the lester-inspect sandbox: {text}")

    def _judge(self, event: str, args: Tuple) -> Optional[str]:
        if event == "open":
            return self._open(*args[:3])
        if event in _PATH_CHANGES:
            path = _path(args[_PATH_CHANGES[event]]) if len(args) > _PATH_CHANGES[event] else None
            if path is not None and not _under(path, self.writable):
                return f"writes outside its scratch folder ({event} {path})"
            return None
        if event in _NETWORK_EVENTS:
            address = args[1] if len(args) > 1 else None
            if isinstance(address, tuple) or self.script_line():
                return f"uses the network ({_NETWORK_EVENTS[event]} to {address!r})"
            return None
        if event in _NAME_EVENTS:
            return f"uses the network (looks up host {args[0]!r})"
        if event == "urllib.Request":
            return f"uses the network (requests {args[0]!r})"
        if not self.script_line():
            return None
        if event == "socket.__new__":
            return "opens a socket"
        if event in _PROCESS_EVENTS:
            detail = args[0] if args and isinstance(args[0], (str, bytes, list, tuple)) else ""
            return f"{_PROCESS_EVENTS[event]}" + (f" ({detail!r})" if detail else "")
        if event in ("os.putenv", "os.unsetenv"):
            return f"changes the environment ({event} {args[0]!r})"
        if event.startswith("ctypes."):
            return f"uses ctypes ({event})"
        return None

    def _open(self, file, mode, flags) -> Optional[str]:
        path = _path(file)
        if path is None:
            return None
        if _ENVIRON_FILE.match(path):
            return f"reads the environment of a process ({path})"
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writes and not _under(path, self.writable):
            return f"writes outside its scratch folder ({path})"
        if not writes and not _under(path, self.readable) and self.script_line():
            return f"reads a file that is not one of the pipeline's inputs ({path})"
        return None

    def environment_read(self, name) -> None:
        if not self.busy and self.script_line():
            self.refuse(f"reads the environment (os.environ{'' if name is None else f'[{name!r}]'})")

    def script_line(self) -> Optional[int]:
        """The line of the candidate's code this event comes from, or None if it comes from a library."""
        frame = sys._getframe(1)
        while frame is not None:
            name = frame.f_code.co_filename
            if name == self.script:
                return frame.f_lineno
            if not (name.startswith("<") or name.startswith(_STDLIB) or frame.f_globals.get("__name__") == __name__):
                return None
            frame = frame.f_back
        return None


class _WatchedEnviron(os._Environ):
    """``os.environ`` that reports reads by the candidate's code (``os.getenv`` reads through it)."""

    def __init__(self, guard: Guard, *args):
        super().__init__(*args)
        self._guard = guard

    def __getitem__(self, key):
        self._guard.environment_read(key)
        return super().__getitem__(key)

    def __iter__(self):
        self._guard.environment_read(None)
        return super().__iter__()

    def __contains__(self, key):
        self._guard.environment_read(key)
        return super().__contains__(key)


def _path(file) -> Optional[str]:
    if isinstance(file, int) or file is None:
        return None
    try:
        return _normal(os.fsdecode(file))
    except (TypeError, ValueError):
        return None


def _normal(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _under(path: str, folders: Iterable[str]) -> bool:
    return any(path == folder or path.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)
