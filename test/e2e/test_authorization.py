"""AuthorizationPolicy through real sidecars configured by straitd (issue: zero-trust policy): a
table-driven conformance suite. Each case applies a set of policies, waits until the callee's
sidecars hold them, and sends requests (HTTP/1.1 through bound ports, HTTP/2 and gRPC with curl)
and TCP connections from callers with different identities; every probe's outcome is checked:
allowed (the app answers), or denied (403 rbac_denied naming the policy; a TCP connection closed
before any byte reaches the app).

Topology: straitd; reviews (HTTP, 9080) and db (TCP, 5432), each an app and its sidecar; callers
web (shop/sa/web), batch (shop/sa/batch) and ops (ops/sa/admin), each binding local ports to
reviews:9080 and db:5432."""

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import free_port
from mesh import Mesh, start_policy_callees
from test_straitd import STRAITD

ALLOW, DENY = "allow", "deny"


def policy(name, spec, ns="shop", dry_run=False):
    annotations = '\n  annotations: {istio.io/dry-run: "true"}' if dry_run else ""
    return f"""apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: {name}
  namespace: {ns}{annotations}
spec:
{spec}
"""


def reviews_policy(name, body, action="ALLOW", **kw):
    return policy(name, f"  selector: {{matchLabels: {{app: reviews}}}}\n  action: {action}\n{body}", **kw)


def db_policy(name, body, action="ALLOW", **kw):
    return policy(name, f"  selector: {{matchLabels: {{app: db}}}}\n  action: {action}\n{body}", **kw)


# (name, policies (YAML documents), probes). A probe: (caller, kind, request, expected), kind
# "http" (method, path, headers), "h2" or "grpc" (path) or "tcp" (None); expected ALLOW or
# (DENY, policy name or "" when no ALLOW policy matched).
CASES = [
    ("no policy allows everything", [], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("ops", "http", ("POST", "/admin", {}), ALLOW),
        ("batch", "tcp", None, ALLOW),
    ]),
    ("an ALLOW policy with no rules denies everything", [reviews_policy("nothing", "")], [
        ("web", "http", ("GET", "/", {}), (DENY, "")),
        ("ops", "http", ("GET", "/", {}), (DENY, "")),
        ("web", "tcp", None, ALLOW),  # it selects reviews only
    ]),
    ("rules: [{}] allows everything", [reviews_policy("everything", "  rules: [{}]")], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("ops", "http", ("DELETE", "/x", {}), ALLOW),
    ]),
    ("principals exact", [reviews_policy("web", '  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("batch", "http", ("GET", "/", {}), (DENY, "")),
        ("ops", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("principals suffix and prefix", [reviews_policy("accounts", '  rules: [{from: [{source: {principals: ["*/sa/batch", "cluster.local/ns/ops/*"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), (DENY, "")),
        ("batch", "http", ("GET", "/", {}), ALLOW),
        ("ops", "http", ("GET", "/", {}), ALLOW),
    ]),
    ("notPrincipals", [reviews_policy("not-web", '  rules: [{from: [{source: {notPrincipals: ["*/sa/web"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), (DENY, "")),
        ("batch", "http", ("GET", "/", {}), ALLOW),
    ]),
    ("namespaces", [reviews_policy("shop-only", "  rules: [{from: [{source: {namespaces: [shop]}}]}]")], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("batch", "http", ("GET", "/", {}), ALLOW),
        ("ops", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("notNamespaces in a DENY policy", [reviews_policy("outsiders", "  rules: [{from: [{source: {notNamespaces: [shop]}}]}]", "DENY")], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("ops", "http", ("GET", "/", {}), (DENY, "shop/outsiders")),
    ]),
    ("paths exact, prefix and suffix", [reviews_policy("paths", '  rules: [{to: [{operation: {paths: ["/exact", "/api/*", "*.png"]}}]}]')], [
        ("web", "http", ("GET", "/exact", {}), ALLOW),
        ("web", "http", ("GET", "/exact/more", {}), (DENY, "")),
        ("web", "http", ("GET", "/api/v1/items?page=2", {}), ALLOW),
        ("web", "http", ("GET", "/exact?page=2", {}), ALLOW),  # the query is not part of the path
        ("web", "http", ("GET", "/img/logo.png", {}), ALLOW),
        ("web", "http", ("GET", "/other", {}), (DENY, "")),
    ]),
    ("paths are normalized before matching", [reviews_policy("no-admin", '  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]', "DENY")], [
        ("web", "http", ("GET", "/public/../admin", {}), (DENY, "shop/no-admin")),
        ("web", "http", ("GET", "/%61dmin", {}), (DENY, "shop/no-admin")),
        ("web", "http", ("GET", "//admin", {}), (DENY, "shop/no-admin")),
        ("web", "http", ("GET", "/api//../admin", {}), (DENY, "shop/no-admin")),
        ("web", "http", ("GET", "/public", {}), ALLOW),
    ]),
    ("notPaths", [reviews_policy("not-internal", '  rules: [{to: [{operation: {notPaths: ["/internal/*"]}}]}]')], [
        ("web", "http", ("GET", "/internal/x", {}), (DENY, "")),
        ("web", "http", ("GET", "/public", {}), ALLOW),
    ]),
    ("methods and notMethods", [reviews_policy("read-only", "  rules: [{to: [{operation: {methods: [GET, HEAD]}}]}]"),
                                reviews_policy("no-delete", "  rules: [{to: [{operation: {methods: [DELETE]}}]}]", "DENY")], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("web", "http", ("POST", "/", {}), (DENY, "")),
        ("web", "http", ("DELETE", "/", {}), (DENY, "shop/no-delete")),
    ]),
    # A binding sends the service it reached as the Host (reviews.shop.svc.cluster.local:9080).
    ("hosts (case-insensitive, with or without the port) and ports", [reviews_policy("host", '  rules: [{to: [{operation: {hosts: ["REVIEWS.shop.svc.cluster.local"], ports: ["9080"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("ops", "tcp", None, ALLOW),  # it selects reviews only
    ]),
    ("hosts with the port", [reviews_policy("host-port", '  rules: [{to: [{operation: {hosts: ["reviews.shop.svc.cluster.local:9080"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), ALLOW),
    ]),
    ("hosts that are not the request's", [reviews_policy("other-host", '  rules: [{to: [{operation: {hosts: ["ratings*", "*.example.com"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), (DENY, "")),
        ("batch", "h2", "/", (DENY, "")),
    ]),
    ("notPorts", [reviews_policy("port", '  rules: [{to: [{operation: {notPorts: ["9080"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("ports that are not the request's", [reviews_policy("other-port", '  rules: [{to: [{operation: {ports: ["80"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("notMethods", [reviews_policy("no-post", "  rules: [{to: [{operation: {notMethods: [POST]}}]}]")], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("web", "http", ("POST", "/", {}), (DENY, "")),
    ]),
    ("methods are compared without case", [reviews_policy("no-delete-any-case", "  rules: [{to: [{operation: {methods: [DELETE]}}]}]", "DENY")], [
        ("web", "http", ("delete", "/", {}), (DENY, "shop/no-delete-any-case")),
        ("web", "http", ("GET", "/", {}), ALLOW),
    ]),
    ("serviceAccounts", [reviews_policy("accounts-by-name", "  rules: [{from: [{source: {serviceAccounts: [web, ops/admin]}}]}]")], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("ops", "http", ("GET", "/", {}), ALLOW),
        ("batch", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("notServiceAccounts", [reviews_policy("not-batch-account", "  rules: [{from: [{source: {notServiceAccounts: [batch]}}]}]")], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("batch", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("from AND to within a rule", [reviews_policy("web-reads", '  rules: [{from: [{source: {principals: ["*/sa/web"]}}], to: [{operation: {methods: [GET]}}]}]')], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("web", "http", ("PUT", "/", {}), (DENY, "")),
        ("batch", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("rules OR'd", [reviews_policy("either", '  rules:\n  - from: [{source: {principals: ["*/sa/web"]}}]\n  - to: [{operation: {paths: ["/health"]}}]')], [
        ("web", "http", ("GET", "/any", {}), ALLOW),
        ("batch", "http", ("GET", "/health", {}), ALLOW),
        ("batch", "http", ("GET", "/any", {}), (DENY, "")),
    ]),
    ("when request.headers", [reviews_policy("team", '  rules: [{when: [{key: "request.headers[x-team]", values: ["pay*"]}]}]')], [
        ("web", "http", ("GET", "/", {"x-team": "payments"}), ALLOW),
        ("web", "http", ("GET", "/", {"x-team": "search"}), (DENY, "")),
        ("web", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("when notValues", [reviews_policy("not-debug", '  rules: [{when: [{key: "request.headers[x-debug]", notValues: ["*"]}]}]')], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("web", "http", ("GET", "/", {"x-debug": "1"}), (DENY, "")),
        ("web", "http", ("GET", "/", {"x-debug": ""}), (DENY, "")),  # present, if empty
    ]),
    ("a repeated header is seen whole", [reviews_policy("no-admin-user", '  rules: [{when: [{key: "request.headers[x-user]", values: ["*admin"]}]}]', "DENY")], [
        ("web", "http", ("GET", "/", [("x-user", "guest"), ("x-user", "admin")]), (DENY, "shop/no-admin-user")),
        ("web", "http", ("GET", "/", [("x-user", "guest")]), ALLOW),
    ]),
    ("an h2c upgrade is not honoured", [reviews_policy("no-admin-h2c", '  rules: [{to: [{operation: {paths: ["/admin"]}}]}]', "DENY")], [
        ("web", "http", ("GET", "/", [("connection", "Upgrade, HTTP2-Settings"), ("upgrade", "h2c"),
                                      ("http2-settings", "AAMAAABkAAQAoAAAAAIAAAAA")]), ALLOW),
        ("web", "http", ("GET", "/admin", [("connection", "Upgrade, HTTP2-Settings"), ("upgrade", "h2c"),
                                           ("http2-settings", "AAMAAABkAAQAoAAAAAIAAAAA")]), (DENY, "shop/no-admin-h2c")),
    ]),
    ("when source.namespace and source.principal", [reviews_policy("cond", '  rules: [{when: [{key: source.namespace, values: [shop]}, {key: source.principal, notValues: ["*/sa/batch"]}]}]')], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("batch", "http", ("GET", "/", {}), (DENY, "")),
        ("ops", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("when source.ip and destination.port", [reviews_policy("net", '  rules: [{when: [{key: source.ip, values: ["127.0.0.0/8"]}, {key: destination.port, values: ["9080"]}]}]')], [
        ("web", "http", ("GET", "/", {}), ALLOW),
    ]),
    ("when destination.port that is not the request's", [reviews_policy("net-80", '  rules: [{when: [{key: destination.port, values: ["80"]}]}]')], [
        ("web", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("ipBlocks that hold the caller", [reviews_policy("loopback", '  rules: [{from: [{source: {ipBlocks: ["127.0.0.0/8"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), ALLOW),
    ]),
    ("ipBlocks that do not hold the caller", [reviews_policy("elsewhere", '  rules: [{from: [{source: {ipBlocks: ["10.0.0.0/8"]}}]}]')], [
        ("web", "http", ("GET", "/", {}), (DENY, "")),
    ]),
    ("DENY beats ALLOW", [reviews_policy("all", "  rules: [{}]"),
                          reviews_policy("no-batch", '  rules: [{from: [{source: {principals: ["*/sa/batch"]}}]}]', "DENY")], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("batch", "http", ("GET", "/", {}), (DENY, "shop/no-batch")),
    ]),
    ("a mesh-wide DENY from the root namespace", [policy("no-ops", '  action: DENY\n  rules: [{from: [{source: {namespaces: [ops]}}]}]', ns="strait-system")], [
        ("ops", "http", ("GET", "/", {}), (DENY, "strait-system/no-ops")),
        ("ops", "tcp", None, DENY),
        ("web", "http", ("GET", "/", {}), ALLOW),
    ]),
    ("a namespace-wide ALLOW (no selector)", [policy("shop-callers", "  rules: [{from: [{source: {namespaces: [shop]}}]}]")], [
        ("web", "http", ("GET", "/", {}), ALLOW),
        ("ops", "http", ("GET", "/", {}), (DENY, "")),
        ("ops", "tcp", None, DENY),
        ("batch", "tcp", None, ALLOW),
    ]),
    ("HTTP/2 and gRPC callers", [reviews_policy("no-admin", '  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]', "DENY")], [
        ("web", "h2", "/admin", (DENY, "shop/no-admin")),
        ("web", "h2", "/public", ALLOW),
        ("web", "grpc", "/admin.Service/Method", (DENY, "shop/no-admin")),
    ]),
    ("TCP: principals", [db_policy("web-db", '  rules: [{from: [{source: {principals: ["*/sa/web"]}}]}]')], [
        ("web", "tcp", None, ALLOW),
        ("batch", "tcp", None, DENY),
    ]),
    ("TCP: an ALLOW rule with an HTTP-only field never matches", [db_policy("get-db", "  rules: [{to: [{operation: {methods: [GET]}}]}]")], [
        ("web", "tcp", None, DENY),
    ]),
    ("TCP: a DENY rule with an HTTP-only field still matches", [db_policy("db-all", "  rules: [{}]"),
                                                                db_policy("no-admin-db", '  rules: [{to: [{operation: {paths: ["/admin"]}}]}]', "DENY")], [
        ("web", "tcp", None, DENY),
    ]),
    ("TCP: ports", [db_policy("db-port", '  rules: [{to: [{operation: {ports: ["5432"]}}]}]')], [
        ("web", "tcp", None, ALLOW),
        ("ops", "tcp", None, ALLOW),
    ]),
    ("TCP: ports that are not the connection's", [db_policy("db-other-port", '  rules: [{to: [{operation: {ports: ["5433"]}}]}]')], [
        ("web", "tcp", None, DENY),
    ]),
    ("TCP: a DENY by namespace", [db_policy("db-no-ops", "  rules: [{from: [{source: {namespaces: [ops]}}]}]", "DENY")], [
        ("ops", "tcp", None, DENY),
        ("batch", "tcp", None, ALLOW),
    ]),
    ("a dry-run DENY only reports", [reviews_policy("maybe-no-admin", '  rules: [{to: [{operation: {paths: ["/admin"]}}]}]', "DENY", dry_run=True)], [
        ("web", "http", ("GET", "/admin", {}), ALLOW),
    ]),
    ("AUDIT never decides", [reviews_policy("audit", '  rules: [{to: [{operation: {paths: ["/admin"]}}]}]', "AUDIT")], [
        ("web", "http", ("GET", "/admin", {}), ALLOW),
    ]),
]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class JwtIssuer:
    """An RSA key made with openssl, its JWKS, and tokens signed with it (RS256)."""

    def __init__(self, workdir, name, kid=None):
        self.key = os.path.join(workdir, f"{name}.key")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", self.key], check=True, capture_output=True)
        modulus = subprocess.run(["openssl", "rsa", "-in", self.key, "-noout", "-modulus"], check=True,
                                 capture_output=True, text=True).stdout.strip().split("=", 1)[1]
        self.kid = kid or name
        self.jwks = json.dumps({"keys": [{"kty": "RSA", "alg": "RS256", "kid": self.kid,
                                          "n": b64url(bytes.fromhex(modulus)), "e": "AQAB"}]})

    def token(self, claims):
        signed = b64url(json.dumps({"alg": "RS256", "kid": self.kid, "typ": "JWT"}).encode()) + "." + \
            b64url(json.dumps(claims).encode())
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=signed.encode(),
                                   check=True, capture_output=True).stdout
        return signed + "." + b64url(signature)


@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
class AuthorizationConformance(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="strait-authz-")
        cls.mesh = Mesh(cls.tmp)
        cls.http_app, cls.tcp_app, cls.reviews, cls.db = start_policy_callees(cls.mesh)
        cls.callers = {}
        for name, ns, sa in (("web", "shop", "web"), ("batch", "shop", "batch"), ("ops", "ops", "admin")):
            http_port, tcp_port = free_port(), free_port()
            cls.mesh.proxy(f"{name}-1", ns, sa, labels={"app": name},
                           upstreams=[f"127.0.0.1:{http_port}=reviews.shop.svc.cluster.local:9080",
                                      f"127.0.0.1:{tcp_port}=db.shop.svc.cluster.local:5432"])
            cls.callers[name] = (http_port, tcp_port)
        cls.mesh.wait_synced(5)
        cls.applied = []
        cls.case_number = 0

    @classmethod
    def tearDownClass(cls):
        cls.mesh.stop()
        cls.http_app.stop()
        cls.tcp_app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def apply_case(self, documents):
        """Replaces the previous case's policies with these, and waits until both callees hold
        them: a marker policy (AUDIT, no rules: it matches nothing) goes with each case, and
        straitd pushes views in order, so a callee whose config_dump lists this case's marker has
        every earlier delete and this case's policies."""
        # Class state: the policies of the previous case, whichever test applied them.
        for kind, name, ns in type(self).applied:
            self.mesh.ctl("delete", kind, name, "-n", ns)
        type(self).case_number += 1
        marker = f"case-{self.case_number}"
        documents = documents + [policy(marker, "  action: AUDIT")]
        self.mesh.apply("---\n".join(documents))
        type(self).applied = []
        for doc in documents:
            kind = doc.split("kind: ", 1)[1].split("\n", 1)[0].strip()
            name = doc.split("name: ", 1)[1].split("\n", 1)[0].strip()
            ns = doc.split("namespace: ", 1)[1].split("\n", 1)[0].strip()
            type(self).applied.append((kind, name, ns))
        deadline = time.monotonic() + 15
        for callee in (self.reviews, self.db):
            while True:
                names = {p["name"] for p in callee.config_dump()["authorization_policies"]}
                if f"shop/{marker}" in names:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{callee.id} did not get {marker}: {names}")
                time.sleep(0.01)

    def http_probe(self, caller, method, path, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.callers[caller][0], timeout=10)
        fields = list(headers.items()) if isinstance(headers, dict) else list(headers)
        try:
            conn.putrequest(method, path, skip_host=any(k == "host" for k, _ in fields))
            for k, v in fields:
                conn.putheader(k, v)
            conn.endheaders()
            r = conn.getresponse()
            body = r.read()
            return r.status, r.getheader("x-strait-reason"), r.getheader("x-strait-policy"), body
        finally:
            conn.close()

    def curl_probe_with(self, caller, path, extra):
        r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--http2-prior-knowledge", *extra,
                            f"http://127.0.0.1:{self.callers[caller][0]}{path}"],
                           capture_output=True, text=True, timeout=30)
        return r.stdout.lower()

    def curl_probe(self, caller, path, grpc):
        args = ["curl", "-s", "-D", "-", "-o", "/dev/null", "--http2-prior-knowledge"]
        if grpc:
            # No body: curl 7.88 can hang on an answer that comes before its request body is sent
            # (the sidecar answers a denied call at once).
            args += ["-X", "POST", "-H", "content-type: application/grpc"]
        r = subprocess.run(args + [f"http://127.0.0.1:{self.callers[caller][0]}{path}"],
                           capture_output=True, text=True, timeout=30)
        head = r.stdout.lower()
        return head

    def tcp_probe(self, caller):
        """True when the bytes went through to the app and came back."""
        with socket.create_connection(("127.0.0.1", self.callers[caller][1]), timeout=10) as s:
            try:
                s.sendall(b"ping")
                return s.recv(65536) == b"ping"
            except OSError:
                return False

    def check(self, case, caller, kind, request, expected):
        where = f"{case}: {caller} {kind} {request}"
        if kind == "tcp":
            self.assertEqual(self.tcp_probe(caller), expected == ALLOW, where)
            return
        if kind in ("h2", "grpc"):
            head = self.curl_probe(caller, request, kind == "grpc")
            if expected == ALLOW:
                self.assertIn("http/2 200", head, where)
                self.assertNotIn("x-strait-reason", head, where)
            elif kind == "grpc":
                self.assertIn("grpc-status: 7", head, where)  # PERMISSION_DENIED
                self.assertIn(f"x-strait-policy: {expected[1] or 'no allow policy matched'}", head, where)
            else:
                self.assertIn("http/2 403", head, where)
                self.assertIn("x-strait-reason: rbac_denied", head, where)
                self.assertIn(f"x-strait-policy: {expected[1] or 'no allow policy matched'}", head, where)
            return
        status, reason, denied_by, body = self.http_probe(caller, *request)
        if expected == ALLOW:
            self.assertEqual(status, 200, f"{where}: {body[:200]!r}")
            return
        self.assertEqual((status, reason), (403, "rbac_denied"), f"{where}: {body[:200]!r}")
        self.assertEqual(denied_by, expected[1] or "no ALLOW policy matched", where)

    def test_conformance(self):
        probes = 0
        for case, documents, case_probes in CASES:
            with self.subTest(case=case):
                self.apply_case(documents)
                for caller, kind, request, expected in case_probes:
                    self.check(case, caller, kind, request, expected)
                    probes += 1
        print(f"\n  authorization conformance: {len(CASES)} policy sets, {probes} probes")
        self.assertGreaterEqual(probes, 60)

    def counted(self, before, metric):
        return self.reviews.stats().get(metric, 0) - before.get(metric, 0)

    def test_denials_and_dry_run_and_audit_verdicts_are_counted(self):
        self.apply_case([reviews_policy("maybe", '  rules: [{to: [{operation: {paths: ["/admin"]}}]}]', "DENY",
                                        dry_run=True),
                         reviews_policy("really", '  rules: [{to: [{operation: {paths: ["/secret"]}}]}]', "DENY"),
                         reviews_policy("watch", '  rules: [{to: [{operation: {paths: ["/watched"]}}]}]', "AUDIT")])
        before = self.reviews.stats()
        for _ in range(3):
            self.assertEqual(self.http_probe("web", "GET", "/admin", {})[0], 200)
        self.assertEqual(self.http_probe("web", "GET", "/secret", {})[0], 403)
        self.assertEqual(self.http_probe("web", "GET", "/watched", {})[0], 200)
        self.assertEqual(self.counted(before, "strait_rbac_dry_run_denied_total"), 3)
        self.assertEqual(self.counted(before, "strait_rbac_denied_total"), 1)
        self.assertEqual(self.counted(before, "strait_rbac_audited_total"), 1)
        dump = self.reviews.config_dump()["authorization_policies"]
        self.assertIn({"name": "shop/maybe", "action": "DENY", "dry_run": True, "rules": 1}, dump)
        # A dry-run ALLOW for batch only: web's calls would be denied, and still pass.
        self.apply_case([reviews_policy("batch-only", '  rules: [{from: [{source: {principals: ["*/sa/batch"]}}]}]',
                                        dry_run=True)])
        before = self.reviews.stats()
        self.assertEqual(self.http_probe("web", "GET", "/", {})[0], 200)
        self.assertEqual(self.http_probe("batch", "GET", "/", {})[0], 200)
        self.assertEqual(self.counted(before, "strait_rbac_dry_run_denied_total"), 1)
        self.assertEqual(self.counted(before, "strait_rbac_denied_total"), 0)

    def test_jwt_principals_and_claims(self):
        issuer = JwtIssuer(self.tmp, "issuer-key")
        stranger = JwtIssuer(self.tmp, "stranger-key", kid="issuer-key")  # same kid, other key
        now = int(time.time())
        jwks = json.dumps(issuer.jwks)
        self.apply_case([
            policy("jwt", f"""  selector: {{matchLabels: {{app: reviews}}}}
  jwtRules:
  - issuer: https://issuer.example
    audiences: [reviews]
    jwks: {jwks}""").replace("kind: AuthorizationPolicy", "kind: RequestAuthentication"),
            reviews_policy("by-token", """  rules:
  - to: [{operation: {paths: [/public]}}]
  - from: [{source: {requestPrincipals: ["https://issuer.example/*"]}}]
    to: [{operation: {paths: [/private]}}]
  - when: [{key: "request.auth.claims[groups]", values: [admin]}, {key: request.auth.audiences, values: [reviews]}]
    to: [{operation: {paths: [/admin]}}]"""),
        ])

        def claims(sub, groups, **extra):
            c = {"iss": "https://issuer.example", "sub": sub, "aud": "reviews", "exp": now + 3600, "groups": groups}
            c.update(extra)
            return c

        alice = issuer.token(claims("alice", ["dev"]))
        bob = issuer.token(claims("bob", ["admin"]))
        bearer = lambda token: {"authorization": f"Bearer {token}"}
        probe = lambda path, headers=None: self.http_probe("web", "GET", path, headers or {})
        self.assertEqual(probe("/public")[0], 200)  # no token: unauthenticated, allowed here
        self.assertEqual(probe("/private")[:2], (403, "rbac_denied"))  # ... but not here
        self.assertEqual(probe("/private", bearer(alice))[0], 200)
        self.assertEqual(probe(f"/private?access_token={alice}")[0], 200)  # the default query parameter
        self.assertEqual(probe("/admin", bearer(alice))[:2], (403, "rbac_denied"))  # groups: [dev]
        self.assertEqual(probe("/admin", bearer(bob))[0], 200)  # groups: [admin]
        for bad, why in ((issuer.token(claims("alice", ["dev"], exp=now - 3600)), b"the token has expired"),
                         (stranger.token(claims("alice", ["dev"])), b"the signature does not verify"),
                         (issuer.token(dict(claims("alice", ["dev"]), iss="https://evil.example")),
                          b"issuer 'https://evil.example' is not accepted"),
                         (issuer.token(dict(claims("alice", ["dev"]), aud="ratings")), b"no accepted audience"),
                         ("not.a.token", b"")):
            status, reason, _, body = probe("/public", bearer(bad))
            self.assertEqual((status, reason), (401, "jwt_invalid"), body)
            self.assertIn(why, body)
        head = self.curl_probe_with("web", "/public", ["-X", "POST", "-H", "content-type: application/grpc",
                                                       "-H", f"authorization: Bearer {stranger.token(claims('a', []))}"])
        self.assertIn("grpc-status: 16", head)  # UNAUTHENTICATED
        self.assertGreaterEqual(self.reviews.stats()["strait_jwt_refused_total"], 6)


if __name__ == "__main__":
    unittest.main()
