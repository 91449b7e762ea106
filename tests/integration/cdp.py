"""A headless Chromium driven over the Chrome DevTools Protocol, with Python's stdlib only.

The browser tests need a real browser engine (EventSource, the Content-Security-Policy, layout)
but not a test framework around it: Debian's chromium package speaks CDP over a WebSocket, and
the few frames CDP uses (unfragmented text, ping, close) take a hundred lines here, where a
WebSocket library would be one more package for every interpreter the tests may run under.
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

CHROMIUM = os.environ.get("GG_CHROMIUM", "/usr/bin/chromium")
# No network of its own (updates, sync, QUIC probes), no GPU, no sandbox (tests run as root).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
         "--mute-audio", "--hide-scrollbars", "--password-store=basic", "--use-mock-keychain",
         "--remote-debugging-port=0"]
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocket:
    """A client WebSocket (RFC 6455) for ws:// URLs: text frames out, text frames in."""

    def __init__(self, url, timeout=10.0):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           % (u.path, u.hostname, u.port, key.decode())).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise OSError("WebSocket handshake refused: " + lines[0])
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
        if not any(h.lower().startswith("sec-websocket-accept:") and h.split(":", 1)[1].strip()
                   == accept for h in lines[1:]):
            raise OSError("WebSocket handshake without the right Sec-WebSocket-Accept")

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise OSError("WebSocket closed by the browser")
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        stream = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")
        self.sock.sendall(head + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self, timeout):
        """The next text message; socket.timeout when none comes in time."""
        self.sock.settimeout(max(timeout, 0.001))
        message = b""
        while True:
            b0, b1 = self._take(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._take(2), "big")
            elif n == 127:
                n = int.from_bytes(self._take(8), "big")
            payload = self._take(n)  # a server never masks
            opcode = b0 & 0x0F
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise OSError("WebSocket closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if b0 & 0x80:
                    return message.decode()

    def close(self):
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class Page:
    """One page of the browser: call() sends a command and returns its result; events that
    arrive meanwhile are kept in self.events."""

    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.events = []
        self.results = {}

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def wait(self, msg_id, timeout=30.0):
        deadline = time.monotonic() + timeout
        while msg_id not in self.results:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer to CDP command %d" % msg_id)
            try:
                msg = json.loads(self.ws.recv(left))
            except socket.timeout:
                continue
            if "id" in msg:
                self.results[msg["id"]] = msg
            else:
                self.events.append(msg)
        msg = self.results.pop(msg_id)
        if "error" in msg:
            raise RuntimeError("CDP error: %s" % msg["error"])
        return msg.get("result", {})

    def call(self, method, timeout=30.0, **params):
        return self.wait(self.send(method, **params), timeout)

    def evaluate(self, expression, timeout=30.0):
        """The value of a JavaScript expression (a promise is awaited)."""
        r = self.call("Runtime.evaluate", timeout=timeout, expression=expression,
                      awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def pump(self, timeout=0.05):
        """Takes in the events that have arrived, waiting at most timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                msg = json.loads(self.ws.recv(left))
            except socket.timeout:
                return
            (self.results.__setitem__(msg["id"], msg) if "id" in msg else self.events.append(msg))

    def close(self):
        self.ws.close()


class Browser:
    """Debian's chromium, headless, with a fresh profile in profile_dir."""

    def __init__(self, profile_dir, log_path):
        if not os.access(CHROMIUM, os.X_OK):
            raise FileNotFoundError("%s is missing: tests/install-deps installs chromium"
                                    % CHROMIUM)
        self.profile = str(profile_dir)
        shutil.rmtree(self.profile, ignore_errors=True)
        os.makedirs(self.profile)
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([CHROMIUM] + FLAGS + ["--user-data-dir=" + self.profile,
                                                           "about:blank"],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def port(self, timeout=30.0):
        """The DevTools port the browser chose, from the file it writes into its profile."""
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise OSError("chromium exited with %d" % self.proc.returncode)
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError("chromium wrote no DevToolsActivePort")

    def page(self):
        """The browser's first page target."""
        import urllib.request
        port = self.port()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return Page(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.05)
        raise TimeoutError("chromium has no page target")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:  # renderers and helpers left behind, in the group the browser led
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
