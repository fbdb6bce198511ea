"""PeerAuthentication through real sidecars configured by straitd (issue: zero-trust policy): the
mTLS rollout path a platform team follows, PERMISSIVE -> a dry-run AuthorizationPolicy -> STRICT
with the policy enforced, under steady mTLS traffic that must never fail; auto-mTLS toward a port
whose mode is DISABLE; and `straitctl describe workload` / `straitctl check mtls` agreeing with
what the sidecars do.

Topology: straitd; reviews (HTTP 9080) and db (TCP 5432), each an app with its sidecar; web, a
caller with a sidecar binding local ports to both; and "external" callers without a sidecar, which
connect straight to the callees' inbound addresses in plaintext (curl and sockets)."""

import http.client
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
from mesh import Mesh, start_policy_callees

MESH_STRICT = """apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: strait-system}
spec: {mtls: {mode: STRICT}}
"""

MESH_PERMISSIVE = """apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: strait-system}
spec: {mtls: {mode: PERMISSIVE}}
"""


def web_only(dry_run):
    annotations = '\n  annotations: {istio.io/dry-run: "true"}' if dry_run else ""
    return f"""apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: web-only
  namespace: shop{annotations}
spec:
  selector: {{matchLabels: {{app: reviews}}}}
  rules: [{{from: [{{source: {{principals: ["cluster.local/ns/shop/sa/web"]}}}}]}}]
"""


class TlsEchoApp:
    """An application that speaks TLS itself (a self-signed certificate made with openssl) and
    echoes what it reads."""

    def __init__(self, workdir):
        self.port = free_port()
        cert, key = os.path.join(workdir, "app.crt"), os.path.join(workdir, "app.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=vault.example", "-days", "1"],
                       check=True, capture_output=True, timeout=30)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    with context.wrap_socket(self.request, server_side=True) as tls:
                        data = tls.recv(65536)
                        if data:
                            tls.sendall(b"tls:" + data)
                except (OSError, ssl.SSLError):
                    pass

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class SteadyTraffic:
    """mTLS calls from web through its sidecar, HTTP (keep-alive) and TCP, until stopped; every
    failure is kept."""

    def __init__(self, http_port, tcp_port):
        self.http_port, self.tcp_port = http_port, tcp_port
        self.failures = []
        self.http_ok = 0
        self.tcp_ok = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.http_loop, daemon=True),
                        threading.Thread(target=self.tcp_loop, daemon=True)]
        for t in self.threads:
            t.start()

    def http_loop(self):
        conn = None
        while not self.stopping.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
                conn.request("GET", "/steady")
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    self.failures.append(f"http {r.status} {r.getheader('x-strait-reason')}: {body[:200]!r}")
                else:
                    self.http_ok += 1
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                self.failures.append(f"http: {e!r}")
                conn = None
            time.sleep(0.002)
        if conn is not None:
            conn.close()

    def tcp_loop(self):
        while not self.stopping.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.tcp_port), timeout=10) as s:
                    s.sendall(b"ping")
                    got = s.recv(64)
                    if got != b"ping":
                        self.failures.append(f"tcp: got {got!r}")
                    else:
                        self.tcp_ok += 1
            except OSError as e:
                self.failures.append(f"tcp: {e!r}")
            time.sleep(0.01)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=15)


class PeerAuthenticationE2E(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="strait-peerauthn-")
        cls.mesh = Mesh(cls.tmp)
        cls.http_app, cls.tcp_app, cls.reviews, cls.db = start_policy_callees(cls.mesh)
        cls.tls_app = TlsEchoApp(cls.tmp)
        cls.vault = cls.mesh.proxy("vault-v1", "shop", "vault", services=["vault:8443:tls"],
                                   app_port=cls.tls_app.port, labels={"app": "vault"})
        cls.web_http, cls.web_tcp = free_port(), free_port()
        cls.web = cls.mesh.proxy("web-1", "shop", "web", labels={"app": "web"},
                                 upstreams=[f"127.0.0.1:{cls.web_http}=reviews.shop.svc.cluster.local:9080",
                                            f"127.0.0.1:{cls.web_tcp}=db.shop.svc.cluster.local:5432"])
        cls.mesh.wait_synced(4)

    @classmethod
    def tearDownClass(cls):
        cls.mesh.stop()
        cls.http_app.stop()
        cls.tcp_app.stop()
        cls.tls_app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        for kind, name, ns in (("PeerAuthentication", "default", "strait-system"),
                               ("PeerAuthentication", "reviews-legacy-port", "shop"),
                               ("AuthorizationPolicy", "web-only", "shop")):
            self.mesh.ctl("delete", kind, name, "-n", ns, check=False)
        # Every proxy back on the defaults before the next test.
        self.wait_mode(self.reviews, "PERMISSIVE")
        self.wait_mode(self.db, "PERMISSIVE")
        self.wait_for("web to call reviews with mTLS again", lambda: not any(
            e["plaintext_ports"]
            for s in self.web.config_dump()["services"] if s["host"] == "reviews.shop.svc.cluster.local"
            for e in s["endpoints"]))
        self.wait_for("reviews to drop web-only", lambda: not any(
            p["name"] == "shop/web-only" for p in self.reviews.config_dump()["authorization_policies"]))

    # -- helpers ---------------------------------------------------------------------------------

    def wait_for(self, what, condition, timeout=15):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.01)

    def wait_mode(self, proxy, mode, port=None):
        def holds():
            dump = proxy.config_dump()["peer_authentication"]
            if port is not None:
                return dump["ports"].get(str(port), {}).get("mode") == mode
            return dump["mode"] == mode
        self.wait_for(f"{proxy.id} to hold {mode}", holds)

    def wait_policy(self, name, dry_run):
        self.wait_for(f"reviews to hold {name} (dry run {dry_run})", lambda: any(
            p["name"] == name and p["dry_run"] == dry_run
            for p in self.reviews.config_dump()["authorization_policies"]))

    def external_http(self, host="reviews:9080", path="/from-outside", headers=None):
        """A plaintext request straight to the reviews sidecar's inbound address: (status, reason, body)."""
        host_ip, port = self.reviews.inbound.rsplit(":", 1)
        conn = http.client.HTTPConnection(host_ip, int(port), timeout=10)
        try:
            conn.request("GET", path, headers={"Host": host, **(headers or {})})
            r = conn.getresponse()
            return r.status, r.getheader("x-strait-reason"), r.read()
        finally:
            conn.close()

    def external_tcp(self):
        """True when plaintext bytes sent straight to db's inbound address reach the app and back."""
        host_ip, port = self.db.inbound.rsplit(":", 1)
        with socket.create_connection((host_ip, int(port)), timeout=10) as s:
            try:
                s.sendall(b"ping")
                return s.recv(64) == b"ping"
            except OSError:
                return False

    def external_tls(self):
        """A TLS client of vault's own (no sidecar, its own SNI) straight to vault's inbound
        address: what the app echoed, or None when the connection was refused."""
        host_ip, port = self.vault.inbound.rsplit(":", 1)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((host_ip, int(port)), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname="vault.example") as tls:
                    tls.sendall(b"secret")
                    return tls.recv(64)
        except (OSError, ssl.SSLError):
            return None

    def counter(self, proxy, prefix):
        return sum(v for k, v in proxy.stats().items() if k.startswith(prefix))

    def check(self, source, target):
        out = self.mesh.ctl("check", "mtls", source, target, "-n", "shop").stdout
        return out

    # -- tests -----------------------------------------------------------------------------------

    def test_rollout_permissive_then_dry_run_then_strict(self):
        traffic = SteadyTraffic(self.web_http, self.web_tcp)
        try:
            # 1. No PeerAuthentication: PERMISSIVE, as Istio. Plaintext from outside the mesh is
            # served (with no identity), and so is mTLS.
            status, _, body = self.external_http()
            self.assertEqual(status, 200, body)
            self.assertNotIn(b"x-forwarded-client-cert", body)  # no peer identity to vouch for
            # A plaintext caller cannot pass itself off as web: its own XFCC is dropped.
            forged = "By=spiffe://cluster.local/ns/shop/sa/reviews;URI=spiffe://cluster.local/ns/shop/sa/web"
            status, _, body = self.external_http(headers={"x-forwarded-client-cert": forged})
            self.assertEqual(status, 200, body)
            self.assertNotIn(b"sa/web", body)
            self.assertTrue(self.external_tcp())
            # The application's own TLS from a caller without a sidecar is relayed untouched.
            self.assertEqual(self.external_tls(), b"tls:secret")
            self.assertIn("port 9080 (reviews): plaintext", self.check("external", "reviews-v1"))
            self.assertIn("port 9080 (reviews): mTLS", self.check("web-1", "reviews-v1"))
            plaintext_before = self.counter(self.reviews, "strait_plaintext_connections_total")
            self.assertGreater(plaintext_before, 0)

            # 2. The policy in dry run: what it would deny (the external caller) is counted, and
            # still served.
            self.mesh.apply(web_only(dry_run=True))
            self.wait_policy("shop/web-only", True)
            time.sleep(0.3)  # steady traffic across the switch
            dry_before = self.counter(self.reviews, "strait_rbac_dry_run_denied_total")
            status, _, body = self.external_http()
            self.assertEqual(status, 200, body)
            self.assertEqual(self.counter(self.reviews, "strait_rbac_dry_run_denied_total") - dry_before, 1)
            # ... and a forged XFCC does not make the plaintext caller web in the policy's eyes.
            self.external_http(headers={"x-forwarded-client-cert": forged})
            self.assertEqual(self.counter(self.reviews, "strait_rbac_dry_run_denied_total") - dry_before, 2)

            # 3. STRICT mesh-wide, the policy enforced. Plaintext is refused from now on, with the
            # policy named; mTLS callers keep working.
            self.mesh.apply(MESH_STRICT + "---\n" + web_only(dry_run=False))
            self.wait_mode(self.reviews, "STRICT")
            self.wait_mode(self.db, "STRICT")
            self.wait_policy("shop/web-only", False)
            time.sleep(0.3)
            status, reason, body = self.external_http()
            self.assertEqual((status, reason), (403, "mtls_required"), body)
            self.assertIn(b"strait-system/default is STRICT", body)
            refused_before = self.counter(self.db, 'strait_local_replies_total{reason="mtls_required"}')
            self.assertFalse(self.external_tcp())
            self.wait_for("db to count the refused connection", lambda: self.counter(
                self.db, 'strait_local_replies_total{reason="mtls_required"}') == refused_before + 1)
            self.wait_mode(self.vault, "STRICT")
            self.assertIsNone(self.external_tls())  # now it must be the mesh's mTLS
            self.assertIn("port 9080 (reviews): refused", self.check("external", "reviews-v1"))
            self.assertIn("port 5432 (db): refused", self.check("external", "db-v1"))
            self.assertIn("port 9080 (reviews): mTLS", self.check("web-1", "reviews-v1"))
            described = self.mesh.ctl("describe", "workload", "reviews-v1", "-n", "shop").stdout
            self.assertIn("STRICT (strait-system/default)", described)
            self.assertIn("shop/web-only: ALLOW, 1 rules", described)
            time.sleep(0.5)  # traffic on the final config, too
        finally:
            traffic.stop()
        self.assertEqual(traffic.failures, [])
        self.assertGreater(traffic.http_ok, 50)
        self.assertGreater(traffic.tcp_ok, 10)
        print(f"\n  rollout: {traffic.http_ok} HTTP requests and {traffic.tcp_ok} TCP connections over mTLS, "
              f"none failed")

    def test_disable_on_a_port_makes_callers_send_plaintext(self):
        self.mesh.apply(MESH_STRICT + f"""---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{name: reviews-legacy-port, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: reviews}}}}
  portLevelMtls: {{{self.http_app.port}: {{mode: DISABLE}}}}
""")
        self.wait_mode(self.reviews, "DISABLE", port=self.http_app.port)
        self.wait_for("web to call reviews:9080 in plaintext", lambda: any(
            9080 in e["plaintext_ports"]
            for s in self.web.config_dump()["services"] if s["host"] == "reviews.shop.svc.cluster.local"
            for e in s["endpoints"]))
        before = self.counter(self.reviews, "strait_plaintext_connections_total")
        conn = http.client.HTTPConnection("127.0.0.1", self.web_http, timeout=10)
        conn.request("GET", "/via-plaintext")
        r = conn.getresponse()
        body = r.read()
        conn.close()
        self.assertEqual(r.status, 200, body)
        self.assertNotIn(b"x-forwarded-client-cert", body)  # it came without a peer identity
        self.assertGreater(self.counter(self.reviews, "strait_plaintext_connections_total"), before)
        # db (not selected) stays STRICT: web's TCP calls to it are mTLS.
        with socket.create_connection(("127.0.0.1", self.web_tcp), timeout=10) as s:
            s.sendall(b"ping")
            self.assertEqual(s.recv(64), b"ping")
        self.assertIn("port 9080 (reviews): plaintext", self.check("web-1", "reviews-v1"))
        self.assertIn("DISABLE", self.check("web-1", "reviews-v1"))
        self.assertIn("port 5432 (db): mTLS", self.check("web-1.shop", "db-v1.shop"))

    def test_check_and_describe_name_their_mistakes(self):
        missing = self.mesh.ctl("check", "mtls", "ghost", "reviews-v1", "-n", "shop", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no workload ghost in namespace shop is registered", missing.stderr)
        port = self.mesh.ctl("check", "mtls", "external", "reviews-v1.shop", "--port", "1234", check=False)
        self.assertEqual(port.returncode, 1)
        self.assertIn("reviews-v1 serves no port 1234", port.stderr)
        unknown = self.mesh.ctl("describe", "workload", "ghost", "-n", "shop", check=False)
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("no workload ghost in namespace shop", unknown.stderr)
        # portLevelMtls without a selector is refused at apply, with its field path.
        bad = self.mesh.ctl("apply", "-f", "-", check=False, input="""apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ports-for-all, namespace: shop}
spec:
  portLevelMtls: {9080: {mode: DISABLE}}
""")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("spec.portLevelMtls", bad.stderr)

    def test_permissive_mesh_with_a_strict_namespace_default(self):
        self.mesh.apply(MESH_PERMISSIVE + """---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
""")
        try:
            self.wait_mode(self.reviews, "STRICT")
            status, reason, _ = self.external_http(host="reviews")  # the only port of reviews here
            self.assertEqual((status, reason), (403, "mtls_required"))
            out = self.mesh.ctl("describe", "workload", "reviews-v1", "-n", "shop").stdout
            self.assertIn("shop/default (namespace): STRICT", out)
            self.assertIn("strait-system/default (mesh): PERMISSIVE", out)
        finally:
            self.mesh.ctl("delete", "PeerAuthentication", "default", "-n", "shop", check=False)


if __name__ == "__main__":
    unittest.main()
