"""End-to-end harness: a throwaway PKI, real strait-proxy processes from bootstrap files, and small
real applications (HTTP echo, TCP echo, WebSocket echo) on loopback. Every port is picked free at
run time and every process started here is stopped by the test that started it."""

import base64
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

BIN_DIR = os.environ.get("STRAIT_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../build/bin"))
PROXY_BIN = os.path.join(BIN_DIR, "strait-proxy")
TRUST_DOMAIN = "cluster.local"


def proxy_is_sanitized():
    """True for an ASan build, whose allocator quarantine makes RSS meaningless."""
    try:
        with open(PROXY_BIN, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spiffe(ns, sa, td=TRUST_DOMAIN):
    return f"spiffe://{td}/ns/{ns}/sa/{sa}"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class Pki:
    """A CA (ECDSA P-256) and leaf certificates carrying SPIFFE URI SANs, made with the openssl CLI."""

    def __init__(self, directory, name="root"):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca_key = os.path.join(directory, f"{name}-ca.key")
        self.ca_cert = os.path.join(directory, f"{name}-ca.crt")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "2",
             "-subj", f"/O=strait-test/CN={name} CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        self.serial = 1000

    def issue(self, name, uri, days=1):
        """Issues a leaf for `uri` (a SPIFFE ID); returns (cert_path, key_path)."""
        key = os.path.join(self.dir, f"{name}.key")
        csr = os.path.join(self.dir, f"{name}.csr")
        cert = os.path.join(self.dir, f"{name}.crt")
        ext = os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=URI:{uri}\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n")
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", csr, "-subj", "/O=strait-test"])
        self.serial += 1
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
             "-set_serial", str(self.serial), "-days", str(days), "-out", cert, "-extfile", ext])
        return cert, key


def to_yaml(value, indent=0):
    """Enough YAML for bootstrap files (JSON is valid YAML, but a real YAML file reads better)."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines.append(to_yaml(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {json.dumps(v)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict):
                inner = to_yaml(item, indent + 1).splitlines()
                lines.append(f"{pad}- {inner[0].strip()}")
                lines.extend(inner[1:])
            else:
                lines.append(f"{pad}- {json.dumps(item)}")
        return "\n".join(lines)
    return pad + json.dumps(value)


class Proxy:
    """One strait-proxy process started from a bootstrap file."""

    def __init__(self, workdir, name, bootstrap, extra_args=()):
        self.name = name
        self.path = os.path.join(workdir, f"{name}.yaml")
        with open(self.path, "w") as f:
            f.write(to_yaml(bootstrap) + "\n")
        self.bootstrap = bootstrap
        self.admin = bootstrap["listeners"]["admin"]
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([PROXY_BIN, "--bootstrap", self.path, *extra_args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}: {self.read_log()}")
            try:
                if self.get("/healthz/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready: {self.read_log()}")

    def get(self, path):
        with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=5) as r:
            return r.status, r.read().decode()

    def stats(self):
        """Prometheus text as {'name{labels}': value}."""
        out = {}
        for line in self.get("/stats/prometheus")[1].splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def config_dump(self):
        return json.loads(self.get("/config_dump")[1])

    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def read_log(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


# ---------------------------------------------------------------------------------------------
# Applications


def read_chunked(rfile):
    """Reads a chunked body; returns (bytes_received, trailers)."""
    total = 0
    while True:
        line = rfile.readline()
        if not line:
            raise ConnectionError("the body ended before its last chunk")
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            break
        remaining = size
        while remaining:
            data = rfile.read(min(remaining, 1 << 16))
            if not data:
                raise ConnectionError("truncated chunk")
            remaining -= len(data)
            total += len(data)
        rfile.readline()
    trailers = {}
    while True:
        line = rfile.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode().partition(":")
        trailers[k.strip().lower()] = v.strip()
    return total, trailers


class EchoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body go out in separate writes: without TCP_NODELAY each response waits for the
    # peer's delayed ACK (40 ms), which caps a paced load far below 1000 req/s.
    disable_nagle_algorithm = True
    server_version = "strait-test-app"

    def log_message(self, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ValueError):
            self.close_connection = True

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return read_chunked(self.rfile)
        n = int(self.headers.get("Content-Length", 0))
        remaining = n
        while remaining:
            data = self.rfile.read(min(remaining, 1 << 16))
            if not data:
                break
            remaining -= len(data)
        return n - remaining, {}

    def _json(self, status, obj, extra=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        with self.server.lock:
            self.server.requests += 1
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            return self._websocket()
        received, trailers = self._body()
        with self.server.lock:
            self.server.log.append((self.headers.get("Host"), received))
        # Set by a test on the whole app: answer every request late, or with an error status.
        if self.server.delay_ms:
            time.sleep(self.server.delay_ms / 1000)
        if self.server.fail_with:
            return self._json(self.server.fail_with, {"app": self.server.app_name, "status": self.server.fail_with})
        if self.server.grpc_fail_with:  # a trailers-only gRPC error, as an HTTP/1.1 head
            self.send_response(200)
            self.send_header("Content-Type", "application/grpc")
            self.send_header("grpc-status", str(self.server.grpc_fail_with))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/bytes":
            n = int(params.get("n", "0"))
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = b"x" * (1 << 16)
            while n:
                k = min(n, len(block))
                self.wfile.write(block[:k])
                n -= k
            return
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "x-checksum")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nx-checksum: abc123\r\n\r\n")
            return
        if path == "/slow":
            time.sleep(int(params.get("ms", "500")) / 1000)
        if path == "/status":
            code = int(params.get("code", "200"))
            return self._json(code, {"status": code})
        if path == "/set-cookie":  # an application that sets a cookie of its own
            return self._json(200, {"app": self.server.app_name}, extra=[("Set-Cookie", "app=1; Path=/")])
        self._json(200, {
            "app": self.server.app_name,
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "received": received,
            "trailers": trailers,
        })

    def _websocket(self):
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            frame = ws_read_frame(self.rfile)
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 8:  # close
                self.wfile.write(ws_frame(8, payload, mask=False))
                return
            self.wfile.write(ws_frame(opcode, payload, mask=False))
            self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


def ws_frame(opcode, payload, mask=True):
    head = bytes([0x80 | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([m | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def ws_read_frame(f):
    head = f.read(2)
    if len(head) < 2:
        return None
    opcode = head[0] & 0x0F
    masked = head[1] & 0x80
    n = head[1] & 0x7F
    if n == 126:
        n = int.from_bytes(f.read(2), "big")
    elif n == 127:
        n = int.from_bytes(f.read(8), "big")
    key = f.read(4) if masked else None
    payload = f.read(n)
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return opcode, payload


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a sidecar opening tens of connections to the app at once
    # (h2load's multiplexed streams become HTTP/1.1 connections) then loses SYNs to 1 s, 3 s, 7 s
    # retransmits, which made load tests slow and their timing erratic.
    request_queue_size = 256


class HttpApp:
    """A real HTTP/1.1 server on 127.0.0.1 (threaded), answering as described in EchoHandler."""

    def __init__(self, name="app", port=None):
        self.port = port or free_port()
        self.server = _ThreadingServer(("127.0.0.1", self.port), EchoHandler)
        self.server.app_name = name
        self.server.requests = 0
        self.server.lock = threading.Lock()
        self.server.fail_with = 0  # a status to answer every request with (0: answer normally)
        self.server.delay_ms = 0   # a wait before every answer
        self.server.grpc_fail_with = 0  # a gRPC status to answer every request with
        self.server.log = []  # (Host, body size) of each request
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self):
        return self.server.requests

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# The headers an application forwards from the request it serves to the calls it makes, so that
# the mesh can join its hops into one trace (docs/observability.md says the same to users).
TRACE_HEADERS = ("x-request-id", "traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid",
                 "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags")


class ChainApp:
    """An application that serves each request by calling the next service through its sidecar
    (`proxy`, set once the sidecar runs: its outbound address, as HTTP_PROXY), forwarding the trace
    headers; it answers with the next service's status and a JSON body naming itself and what it
    got."""

    def __init__(self, name, next_url):
        self.port = free_port()
        self.proxy = None
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                forwarded = {k: v for k, v in self.headers.items() if k.lower() in TRACE_HEADERS}
                request = urllib.request.Request(next_url + self.path, headers=forwarded)
                opener = urllib.request.build_opener(
                    urllib.request.ProxyHandler({"http": f"http://{app.proxy}"}))
                try:
                    with opener.open(request, timeout=10) as r:
                        status, upstream = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, upstream = e.code, e.read()
                except OSError as e:
                    status, upstream = 502, str(e).encode()
                with app.lock:
                    app.requests += 1
                body = json.dumps({"app": name, "status": status,
                                   "headers": {k.lower(): v for k, v in self.headers.items()},
                                   "upstream": upstream.decode(errors="replace")}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.lock = threading.Lock()
        self.requests = 0
        self.server = _ThreadingServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class TcpEchoApp:
    """Echoes bytes back; on the client's half-close, sends 'bye' and closes."""

    def __init__(self):
        self.port = free_port()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                while True:
                    data = self.request.recv(65536)
                    if not data:
                        self.request.sendall(b"bye")
                        self.request.shutdown(socket.SHUT_WR)
                        return
                    self.request.sendall(data)

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        del outer

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------
# Raw HTTP/1 client helpers for shapes that curl will not send


def raw_exchange(port, data, timeout=5, read_until_close=True):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
                if not read_until_close:
                    break
        except socket.timeout:
            pass
        return b"".join(chunks)


def curl(*args, env=None, check=True, timeout=60):
    cmd = ["curl", "-sS", "--noproxy", "", *args]
    full_env = dict(os.environ)
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY"):
        full_env.pop(k, None)
    if env:
        full_env.update(env)
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, check=check,
                          timeout=timeout)


def run_cleanups(cleanups, workdir):
    """Runs every cleanup, newest first, going on past failures; then removes workdir (kept when
    STRAIT_KEEP_E2E_DIR is set, for a post-mortem)."""
    for fn in reversed(cleanups):
        try:
            fn()
        except Exception:  # noqa: BLE001 - cleanup must go on
            pass
    if os.environ.get("STRAIT_KEEP_E2E_DIR") is None:
        shutil.rmtree(workdir, ignore_errors=True)


class MeshTestCase(unittest.TestCase):
    """A temporary directory and a PKI per test class; subclasses build topologies."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(PROXY_BIN):
            raise unittest.SkipTest(f"{PROXY_BIN} is not built")
        cls.workdir = tempfile.mkdtemp(prefix="strait-e2e-")
        cls.pki = Pki(os.path.join(cls.workdir, "pki"))
        cls._cleanups = []

    @classmethod
    def tearDownClass(cls):
        run_cleanups(cls._cleanups, cls.workdir)

    @classmethod
    def start_proxy(cls, name, bootstrap, extra_args=()):
        p = Proxy(cls.workdir, name, bootstrap, extra_args)
        cls._cleanups.append(p.stop)
        return p

    @classmethod
    def start_http_app(cls, name="app"):
        app = HttpApp(name)
        cls._cleanups.append(app.stop)
        return app

    @classmethod
    def workload_bootstrap(cls, name, ns, sa, inbound=(), services=(), upstreams=(), limits=None,
                           pki=None, concurrency=2):
        pki = pki or cls.pki
        cert, key = pki.issue(f"{name}-{time.monotonic_ns()}", spiffe(ns, sa))
        b = {
            "workload": {"name": name, "namespace": ns, "serviceAccount": sa,
                         "labels": {"app": name}},
            "listeners": {"outbound": f"127.0.0.1:{free_port()}",
                          "inbound": f"127.0.0.1:{free_port()}",
                          "admin": f"127.0.0.1:{free_port()}"},
            "tls": {"certificateChain": cert, "privateKey": key, "trustBundle": pki.ca_cert},
            "concurrency": concurrency,
        }
        if inbound:
            b["inbound"] = list(inbound)
        if services:
            b["services"] = list(services)
        if upstreams:
            b["upstreams"] = list(upstreams)
        if limits:
            b["limits"] = limits
        return b
