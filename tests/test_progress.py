"""Progress bars: on a terminal (a pseudo-terminal here), never in a pipe."""
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = ("from lester_inspect.progress import progress, steps\n"
          "total = sum(progress(range(3), 'forget', unit='run'))\n"
          "with steps(2, 'capture train') as s:\n"
          "    s.step('data')\n"
          "    s.step('X')\n"
          "print('done', total)\n")


def run(stderr_is_a_terminal, **environment):
    return run_command([sys.executable, "-c", SCRIPT], stderr_is_a_terminal, **environment)


def run_command(command, stderr_is_a_terminal, **environment):
    """``command``'s stdout and stderr, with stderr a pipe or a pseudo-terminal (24 x 100 characters)."""
    env = {key: value for key, value in os.environ.items() if key != "LESTER_INSPECT_PROGRESS"}
    env.update(PYTHONPATH=ROOT, **environment)
    if not stderr_is_a_terminal:
        completed = subprocess.run(command, capture_output=True, text=True, env=env)
        return completed.stdout, completed.stderr
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal, env=env, text=True)
    os.close(terminal)
    drawn = b""
    while True:  # read while it draws: a terminal keeps little
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    os.close(controller)
    stdout = process.communicate(timeout=300)[0]
    return stdout, drawn.decode("utf-8", "replace")


def test_bars_are_drawn_on_a_terminal():
    stdout, stderr = run(True)
    assert stdout == "done 3\n"
    assert "forget:" in stderr and "/3 [" in stderr and "run/s" in stderr and "capture train:" in stderr


def test_pipes_stay_quiet_unless_asked():
    assert run(False) == ("done 3\n", "")
    assert run(True, LESTER_INSPECT_PROGRESS="0")[1] == ""
    assert "forget:" in run(False, LESTER_INSPECT_PROGRESS="1")[1]
