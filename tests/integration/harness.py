"""What every launcher of the gridgate binaries in the tests shares (the integration tests'
conftest, the fault suite, the soak): the wait on a condition, the scale of every timeout, and
the command a service is started with.

GG_TIMEOUT_SCALE (a number, default 1) multiplies every timeout given to wait_for and every
bound on a start or a stop: a service run under valgrind answers tens of times slower, and a
timeout that fits a normal build would fail it for being slow, not for being wrong.

GG_SERVICE_WRAPPER (shell words, default none) is put in front of the service's binary, for
instance `valgrind --leak-check=full --log-file=...`; the process started is then the wrapper,
which runs the service in the same process (valgrind does), so its pid, signals and exit status
are the service's."""
import http.client
import os
import shlex
import subprocess
import time


class Timeout(AssertionError):
    """A condition that did not hold in time: a test failure, named by what was awaited."""


def timeout_scale():
    try:
        scale = float(os.environ.get("GG_TIMEOUT_SCALE", "1"))
    except ValueError:
        raise ValueError("GG_TIMEOUT_SCALE must be a number") from None
    return scale if scale > 0 else 1.0


def scaled(seconds):
    """A timeout in seconds, multiplied by GG_TIMEOUT_SCALE."""
    return seconds * timeout_scale()


def wait_for(cond, timeout=20.0, what="condition", pause=0.05):
    """Polls cond() until it returns a truthy value and returns it; raises Timeout naming what
    after timeout seconds (scaled). A connection error, an HTTP protocol error, a reply that
    does not parse or a failed command while polling counts as "not yet", kept for the message."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
            if last:
                return last
        except (OSError, http.client.HTTPException, ValueError, subprocess.SubprocessError) as e:
            last = e
        time.sleep(pause)
    raise Timeout(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def service_command(binary):
    """argv that starts binary: GG_SERVICE_WRAPPER's words, then the binary."""
    return shlex.split(os.environ.get("GG_SERVICE_WRAPPER", "")) + [str(binary)]
