"""VirtualService tcp[] and tls[] routes through real sidecars configured by straitd (issue: traffic
management): opaque TCP connections split by weight between subsets, TLS passthrough connections
routed by the SNI of the application's own ClientHello (the sidecars never terminate that TLS),
through an upstream binding and through a CONNECT tunnel."""

import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import free_port
from mesh import Mesh
from test_straitd import STRAITD


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default 5 drops SYNs when connections arrive together


class NamedTcpApp:
    """Answers each chunk it receives with '<name>:<chunk>'; over TLS when given a context."""

    def __init__(self, name, tls_context=None):
        self.port = free_port()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                conn = self.request
                try:
                    if tls_context is not None:
                        conn = tls_context.wrap_socket(conn, server_side=True)
                    while True:
                        data = conn.recv(65536)
                        if not data:
                            return
                        conn.sendall(name.encode() + b":" + data)
                except (OSError, ssl.SSLError):
                    return

        self.server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def tcp_call(port, payload=b"hello"):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        return s.recv(65536).decode()


def tls_call(sock, sni):
    """A TLS exchange over `sock` (the server's certificate is self-signed: not verified here,
    the test is about where the connection lands)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with ctx.wrap_socket(sock, server_hostname=sni) as t:
        t.sendall(b"hi")
        return t.recv(65536).decode()


def tls_via_binding(port, sni):
    return tls_call(socket.create_connection(("127.0.0.1", port), timeout=10), sni)


def tls_via_connect(proxy_addr, target, sni):
    host, port = proxy_addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise AssertionError(f"CONNECT: closed after {head!r}")
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        raise AssertionError(f"CONNECT answered {head!r}")
    return tls_call(sock, sni)


def routes(host, routes_yaml):
    """A VirtualService for `host` with these tcp: or tls: routes (indented YAML)."""
    return f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {host}, namespace: shop}}
spec:
  hosts: [{host}]
{routes_yaml}
"""


def subsets(host, traffic_policy="{}"):
    """A DestinationRule for `host`: subsets v1 and v2 by the version label, and a trafficPolicy."""
    return f"""apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {host}, namespace: shop}}
spec:
  host: {host}
  trafficPolicy: {traffic_policy}
  subsets: [{{name: v1, labels: {{version: v1}}}}, {{name: v2, labels: {{version: v2}}}}]
"""


@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
class L4Routes(unittest.TestCase):
    """straitd; db (5432/tcp) and secure (9443/tls), each served by a v1 and a v2 workload; web,
    whose sidecar binds a local port to each and tunnels CONNECT on its outbound listener."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="strait-l4-")
        key, cert = os.path.join(cls.tmp, "app.key"), os.path.join(cls.tmp, "app.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=secure.example"],
                       check=True, capture_output=True)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        cls.mesh = Mesh(cls.tmp)
        cls.apps = []
        for v in ("v1", "v2"):
            db = NamedTcpApp(f"db-{v}")
            secure = NamedTcpApp(f"secure-{v}", server_ctx)
            cls.apps += [db, secure]
            cls.mesh.proxy(f"db-{v}", "shop", "db", services=["db:5432:tcp"], app_port=db.port,
                           labels={"app": "db", "version": v})
            cls.mesh.proxy(f"secure-{v}", "shop", "secure", services=["secure:9443:tls"], app_port=secure.port,
                           labels={"app": "secure", "version": v})
        cls.db_port, cls.secure_port = free_port(), free_port()
        cls.web = cls.mesh.proxy("web-1", "shop", "web", labels={"app": "web"},
                                 upstreams=[f"127.0.0.1:{cls.db_port}=db:5432",
                                            f"127.0.0.1:{cls.secure_port}=secure:9443"])
        cls.mesh.wait_synced(5)
        cls.apply_and_sync(subsets("db") + "---\n" + subsets("secure"))

    @classmethod
    def tearDownClass(cls):
        cls.mesh.stop()
        for app in cls.apps:
            app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def apply_and_sync(cls, yaml_text):
        before = cls.mesh.wait_synced(5)
        cls.mesh.apply(yaml_text)
        cls.mesh.wait_synced(5, newer_than=before)

    def test_tcp_routes_split_connections_by_weight(self):
        self.apply_and_sync(routes("db", """  tcp:
  - match: [{port: 5432}]
    route:
    - {destination: {host: db, subset: v1}, weight: 70}
    - {destination: {host: db, subset: v2}, weight: 30}"""))
        answers = [tcp_call(self.db_port) for _ in range(400)]
        self.assertEqual({a.split(":")[0] for a in answers}, {"db-v1", "db-v2"})
        self.assertTrue(all(a.endswith(":hello") for a in answers), answers[:3])
        v2 = sum(a.startswith("db-v2") for a in answers)
        self.assertTrue(88 <= v2 <= 152, f"{v2} of 400 connections went to v2, expected about 120")
        self.apply_and_sync(routes("db", "  tcp: [{route: [{destination: {host: db, subset: v2}}]}]"))
        self.assertEqual({tcp_call(self.db_port).split(":")[0] for _ in range(30)}, {"db-v2"})
        # Without routes, useSourceIp keeps every connection from this host on one endpoint.
        self.apply_and_sync(routes("db", "  tcp: [{route: [{destination: {host: db}}]}]") + "---\n" +
                            subsets("db", "{loadBalancer: {consistentHash: {useSourceIp: true}}}"))
        self.assertEqual(len({tcp_call(self.db_port).split(":")[0] for _ in range(30)}), 1)

    def test_tls_routes_choose_by_the_apps_sni_through_a_binding_and_a_tunnel(self):
        self.apply_and_sync(routes("secure", """  tls:
  - match: [{sniHosts: [v2.secure.example], port: 9443}]
    route: [{destination: {host: secure, subset: v2}}]
  - match: [{sniHosts: ["*.secure.example"]}]
    route: [{destination: {host: secure, subset: v1}}]"""))
        self.assertEqual({tls_via_binding(self.secure_port, "v2.secure.example") for _ in range(15)}, {"secure-v2:hi"})
        self.assertEqual({tls_via_binding(self.secure_port, "API.secure.example") for _ in range(15)}, {"secure-v1:hi"})
        # A name no route takes goes to the service itself: either version.
        self.assertEqual({tls_via_binding(self.secure_port, "other.example").split(":")[0] for _ in range(30)},
                         {"secure-v1", "secure-v2"})
        # Through CONNECT on the outbound listener (HTTP_PROXY for https): the 200 comes first,
        # then the ClientHello tells where the tunnel goes.
        self.assertEqual({tls_via_connect(self.web.outbound, "secure:9443", "v2.secure.example") for _ in range(10)},
                         {"secure-v2:hi"})
        self.assertEqual({tls_via_connect(self.web.outbound, "secure:9443", "x.secure.example") for _ in range(10)},
                         {"secure-v1:hi"})

    def test_tcp_idle_timeout_and_keepalive_follow_the_cluster(self):
        """connectionPool.tcp.idleTimeout closes an idle TCP connection, tcpKeepalive has the kernel
        probe the sidecar-to-sidecar connection; both for the rule's clusters, not for subset v2,
        whose own connectionPool replaces the rule's whole."""
        self.apply_and_sync(routes("db", "  tcp: [{route: [{destination: {host: db, subset: v1}}]}]") + "---\n" +
                            """apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: shop}
spec:
  host: db
  trafficPolicy:
    connectionPool: {tcp: {idleTimeout: 1s, tcpKeepalive: {time: 30s, interval: 5s, probes: 2}}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}}}
""")
        try:
            self.check_idle_timeout_and_keepalive()
        finally:
            self.apply_and_sync(subsets("db"))  # the class's rule again, for the other tests

    def check_idle_timeout_and_keepalive(self):
        by_name = {p.name: p for p in self.mesh.proxies}
        v1_inbound, v2_inbound = by_name["db-v1"].inbound, by_name["db-v2"].inbound

        def timers(inbound):
            out = subprocess.run(["ss", "-tnoH", "state", "established", "dst", inbound],
                                 capture_output=True, text=True, check=True).stdout
            return out

        with socket.create_connection(("127.0.0.1", self.db_port), timeout=10) as s:
            s.sendall(b"one")
            self.assertEqual(s.recv(65536), b"db-v1:one")
            self.assertIn("timer:(keepalive,", timers(v1_inbound))
            started = time.monotonic()
            self.assertEqual(s.recv(65536), b"")  # closed by the sidecar when idle for 1 s
            self.assertLess(time.monotonic() - started, 5)
        self.apply_and_sync(routes("db", "  tcp: [{route: [{destination: {host: db, subset: v2}}]}]"))
        with socket.create_connection(("127.0.0.1", self.db_port), timeout=10) as s:
            s.sendall(b"two")
            self.assertEqual(s.recv(65536), b"db-v2:two")
            self.assertNotIn("keepalive", timers(v2_inbound))
            time.sleep(1.5)  # past the rule's idle timeout: v2's cluster has the default (1 h)
            s.sendall(b"three")
            self.assertEqual(s.recv(65536), b"db-v2:three")


if __name__ == "__main__":
    unittest.main()
