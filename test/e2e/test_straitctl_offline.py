"""straitctl without straitd: local validation, usage and credential errors, an unreachable server,
and the REST contract against a small fake straitd written here (bearer token, query, framing)."""

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

from harness import BIN_DIR, free_port

CTL_BIN = os.path.join(BIN_DIR, "straitctl")
TOKEN = "s3cret-admin-token"

VALID = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - timeout: 5s
    route:
    - destination: {host: reviews, subset: v1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
  namespace: other
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
"""

INVALID = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: fine
spec:
  hosts: [reviews]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - timeout: 5x
    route:
    - destination: {host: reviews}
"""


def resource(kind, ns, name, rv, generation=1, labels=None):
    return {"apiVersion": "networking.istio.io/v1", "kind": kind,
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}, "annotations": {},
                         "resourceVersion": str(rv), "generation": generation,
                         "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"hosts": [name]}}


class FakeStraitd:
    """Implements the part of straitd's REST API straitctl uses, over an in-memory store."""

    def __init__(self):
        self.requests = []  # (method, path, query dict, headers dict, body)
        self.store = {}  # (kind, ns, name) -> resource
        self.revision = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, obj, framing="length"):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if framing == "chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(body), 7):
                        piece = body[i:i + 7]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                elif framing == "close":
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def handle_any(self, method):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                fake.requests.append((method, url.path, query, dict(self.headers), body))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.reply(401, {"error": "invalid or expired token"})
                parts = url.path.split("/")
                if method == "POST" and url.path == "/api/v1/apply":
                    return self.reply(200, fake.apply(body, query.get("namespace", "default")))
                if method == "GET" and url.path == "/api/v1/version":
                    return self.reply(200, {"version": "0.1.0", "revision": fake.revision}, "close")
                if method == "GET" and url.path == "/api/v1/resources":
                    items = [r for (k, ns, _), r in sorted(fake.store.items())
                             if k == query.get("kind", k) and ns == query.get("namespace", ns)]
                    return self.reply(200, {"items": items}, "chunked")
                if url.path.startswith("/api/v1/resources/") and len(parts) == 7:
                    key = tuple(urllib.parse.unquote(p) for p in parts[4:7])
                    if key not in fake.store:
                        return self.reply(404, {"error": f"{key[0]} {key[1]}/{key[2]} not found"})
                    if method == "GET":
                        return self.reply(200, fake.store[key])
                    if method == "DELETE":
                        del fake.store[key]
                        fake.revision += 1
                        return self.reply(200, {"revision": fake.revision})
                return self.reply(404, {"error": f"no route for {method} {url.path}"})

            def do_GET(self):
                self.handle_any("GET")

            def do_POST(self):
                self.handle_any("POST")

            def do_DELETE(self):
                self.handle_any("DELETE")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def apply(self, body, default_ns):
        """Reads kind/name/namespace from the documents with line matching (enough for the tests)."""
        results = []
        self.revision += 1
        for doc in body.split("\n---\n"):
            fields = {}
            for line in doc.splitlines():
                stripped = line.strip()
                for key in ("kind", "name", "namespace"):
                    if stripped.startswith(key + ":") and key not in fields:
                        fields[key] = stripped.split(":", 1)[1].strip()
            key = (fields["kind"], fields.get("namespace", default_ns), fields["name"])
            action = "configured" if key in self.store else "created"
            rv = self.revision
            self.store[key] = resource(key[0], key[1], key[2], rv)
            results.append({"kind": key[0], "namespace": key[1], "name": key[2],
                            "resourceVersion": str(rv), "generation": 1, "action": action})
        return {"revision": self.revision, "results": results}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class StraitctlTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="straitctl-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STRAIT_")}
        self.env["NO_COLOR"] = "1"
        self.closed_url = f"http://127.0.0.1:{free_port()}"

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def ctl(self, *args, token=TOKEN, stdin=None, env=None):
        run_env = dict(self.env)
        if token is not None:
            run_env["STRAIT_TOKEN"] = token
        run_env.update(env or {})
        return subprocess.run([CTL_BIN, *args], capture_output=True, text=True, input=stdin,
                              env=run_env, timeout=30)

    def fake(self):
        server = FakeStraitd()
        self.addCleanup(server.stop)
        return server


class OfflineTest(StraitctlTestCase):
    def test_invalid_file_fails_locally_with_file_document_path_and_line(self):
        bad = self.write("bad.yaml", INVALID)
        r = self.ctl("--server", self.closed_url, "apply", "-f", bad)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.strip(),
                         f"straitctl: {bad}: document 2: spec.http[0].timeout: unknown unit 'x' in '5x' "
                         "(line 15, column 14)")

    def test_invalid_file_in_directory_is_named_and_nothing_is_sent(self):
        fake = self.fake()
        d = os.path.join(self.dir, "manifests")
        os.mkdir(d)
        with open(os.path.join(d, "a.yaml"), "w") as f:
            f.write(VALID)
        with open(os.path.join(d, "b.yml"), "w") as f:
            f.write(INVALID)
        with open(os.path.join(d, "ignored.txt"), "w") as f:
            f.write("not yaml: [")
        r = self.ctl("--server", fake.url, "apply", "-f", d)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(os.path.join(d, "b.yml") + ": document 2: spec.http[0].timeout", r.stderr)
        self.assertEqual(fake.requests, [])  # a.yaml was valid but nothing went out

    def test_invalid_stdin_is_named_stdin(self):
        r = self.ctl("--server", self.closed_url, "apply", "-f", "-", stdin=INVALID)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("straitctl: stdin: document 2: spec.http[0].timeout"), r.stderr)

    def test_semantic_errors_fail_locally(self):
        bad = self.write("regex.yaml", VALID.replace("- timeout: 5s", "- match: [{uri: {regex: \"(oops\"}}]\n    timeout: 5s"))
        r = self.ctl("--server", self.closed_url, "apply", "-f", bad)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertTrue(r.stderr.startswith(f"straitctl: {bad}: document 1: spec.http[0].match[0].uri.regex: "
                                            "invalid RE2 regex: missing )"), r.stderr)

    def test_missing_file(self):
        r = self.ctl("--server", self.closed_url, "apply", "-f", os.path.join(self.dir, "nope.yaml"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("nope.yaml: no such file or directory", r.stderr)

    def test_unknown_kind(self):
        r = self.ctl("--server", self.closed_url, "get", "pods")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("straitctl: unknown kind 'pods' (accepted: virtualservices (vs),"),
                        r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1)

    def test_missing_credential(self):
        r = self.ctl("--server", self.closed_url, "get", "vs", token=None)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "straitctl: no credential: set STRAIT_TOKEN or pass --token-file "
                                   "(straitd writes DATA_DIR/admin.token)\n")

    def test_version_with_straitd_unreachable(self):
        r = self.ctl("--server", self.closed_url, "version")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "straitctl 0.1.0\n")
        self.assertEqual(r.stderr, f"straitctl: cannot reach straitd at {self.closed_url}: connection refused "
                                   "(is straitd running?)\n")

    def test_server_from_environment_and_https_refused(self):
        r = self.ctl("get", "vs", env={"STRAIT_SERVER": self.closed_url})
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"cannot reach straitd at {self.closed_url}", r.stderr)
        r = self.ctl("--server", "https://127.0.0.1:15014", "get", "vs")
        self.assertEqual(r.returncode, 1)
        self.assertIn("https is not supported yet", r.stderr)

    def test_usage_errors_exit_2(self):
        self.assertEqual(self.ctl().returncode, 2)
        self.assertEqual(self.ctl("get").returncode, 2)
        self.assertEqual(self.ctl("frobnicate").returncode, 2)
        self.assertEqual(self.ctl("apply").returncode, 2)


class FakeServerTest(StraitctlTestCase):
    def test_apply_prints_results_and_sends_the_contract(self):
        fake = self.fake()
        path = self.write("app.yaml", VALID)
        r = self.ctl("--server", fake.url, "apply", "-f", path, "-n", "prod")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "virtualservice.networking.istio.io/reviews created\n"
                                   "destinationrule.networking.istio.io/reviews created\n")
        self.assertEqual(len(fake.requests), 1)
        method, url_path, query, headers, body = fake.requests[0]
        self.assertEqual((method, url_path), ("POST", "/api/v1/apply"))
        self.assertEqual(query, {"namespace": "prod", "source": path})
        self.assertEqual(headers["Authorization"], f"Bearer {TOKEN}")
        self.assertEqual(headers["Content-Type"], "application/yaml")
        self.assertEqual(body, VALID)
        # Again: configured; and from stdin, with the default namespace.
        r = self.ctl("--server", fake.url, "apply", "-f", "-", stdin=VALID)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(fake.requests[-1][2], {"namespace": "default", "source": "stdin"})

    def test_token_file_and_bad_token(self):
        fake = self.fake()
        path = self.write("app.yaml", VALID)
        token_file = self.write("admin.token", f"  {TOKEN}\n")
        r = self.ctl("--server", fake.url, "--token-file", token_file, "apply", "-f", path, token=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("--server", fake.url, "apply", "-f", path, token=None, env={"STRAIT_TOKEN_FILE": token_file})
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("--server", fake.url, "apply", "-f", path, token="wrong")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "straitctl: unauthenticated: invalid or expired token\n")

    def test_get_delete_and_version(self):
        fake = self.fake()
        fake.store[("VirtualService", "prod", "reviews")] = resource("VirtualService", "prod", "reviews", 12, 2,
                                                                    {"app": "reviews"})
        fake.store[("VirtualService", "dev", "ratings")] = resource("VirtualService", "dev", "ratings", 3)
        r = self.ctl("--server", fake.url, "get", "vs", "-n", "prod")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAMESPACE", "NAME", "KIND", "REVISION", "GENERATION", "AGE"])
        self.assertEqual(lines[1].split()[:5], ["prod", "reviews", "VirtualService", "12", "2"])
        self.assertTrue(lines[1].split()[5].endswith("d"))
        self.assertEqual(fake.requests[-1][2], {"kind": "VirtualService", "namespace": "prod"})

        r = self.ctl("--server", fake.url, "get", "virtualservices", "-A", "-o", "wide")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), 3)
        self.assertIn("app=reviews", r.stdout)
        self.assertEqual(fake.requests[-1][2], {"kind": "VirtualService"})

        r = self.ctl("--server", fake.url, "get", "vs", "-A", "-o", "json")
        self.assertEqual(len(json.loads(r.stdout)["items"]), 2)
        r = self.ctl("--server", fake.url, "get", "vs", "reviews", "-n", "prod", "-o", "json")
        self.assertEqual(json.loads(r.stdout)["metadata"]["resourceVersion"], "12")
        r = self.ctl("--server", fake.url, "get", "vs", "reviews", "-n", "prod", "-o", "yaml")
        self.assertIn('resourceVersion: "12"', r.stdout)

        r = self.ctl("--server", fake.url, "get", "dr", "-n", "prod")
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        self.assertEqual(r.stderr, "No resources found in prod namespace.\n")

        r = self.ctl("--server", fake.url, "get", "vs", "nope", "-n", "prod")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "straitctl: VirtualService prod/nope not found\n")

        r = self.ctl("--server", fake.url, "delete", "vs", "reviews", "-n", "prod")
        self.assertEqual((r.returncode, r.stdout), (0, "virtualservice.networking.istio.io/reviews deleted\n"))
        r = self.ctl("--server", fake.url, "delete", "vs", "reviews", "-n", "prod")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)

        path = self.write("app.yaml", VALID)
        self.assertEqual(self.ctl("--server", fake.url, "apply", "-f", path).returncode, 0)
        r = self.ctl("--server", fake.url, "delete", "-f", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "virtualservice.networking.istio.io/reviews deleted\n"
                                   "destinationrule.networking.istio.io/reviews deleted\n")
        self.assertEqual(fake.requests[-1][1], "/api/v1/resources/DestinationRule/other/reviews")

        r = self.ctl("--server", fake.url, "version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"straitctl 0.1.0\nstraitd 0.1.0 (revision {fake.revision})\n")


if __name__ == "__main__":
    unittest.main()
