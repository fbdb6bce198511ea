"""straitd as a user runs it: the data directory, the admin token, the config API with real HTTP
clients, invalid input, and durability across kill -9."""

import json
import os
import signal
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from harness import BIN_DIR, free_port

STRAITD = os.path.join(BIN_DIR, "straitd")

VIRTUAL_SERVICE = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - match:
    - headers: {end-user: {exact: jason}}
    route:
    - destination: {host: reviews-v2}
  - route:
    - destination: {host: reviews-v1}
      weight: 90
    - destination: {host: reviews-v2}
      weight: 10
    retries: {attempts: 3, perTryTimeout: 250ms}
"""


class Straitd:
    """straitd on free ports. Pass the ports of a previous instance to restart it in place."""

    def __init__(self, data_dir, port=None, grpc_port=None, extra_args=()):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.grpc_port = grpc_port or free_port()
        self.log_path = data_dir + ".log"
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([STRAITD, "--data-dir", data_dir, "--http-addr", f"127.0.0.1:{self.port}",
                                      "--grpc-addr", f"127.0.0.1:{self.grpc_port}", *extra_args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if self.request("GET", "/healthz", auth=False)[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        else:
            self.proc.kill()
            raise RuntimeError("straitd did not start: " + open(self.log_path).read()[-2000:])
        with open(os.path.join(data_dir, "admin.token")) as f:
            self.token = f.read().strip()

    def request(self, method, path, body=None, auth=True, token=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=body.encode() if isinstance(body, str) else body)
        if auth:
            req.add_header("Authorization", f"Bearer {token or self.token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.log.close()
        return self.proc.returncode


@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
class StraitdConfigApi(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="straitd-e2e-")
        self.data = os.path.join(self.tmp, "data")
        self.d = Straitd(self.data)

    def tearDown(self):
        self.d.stop(signal.SIGKILL)
        subprocess.run(["rm", "-rf", self.tmp])

    def test_first_start_makes_a_private_token_and_a_root_ca(self):
        mode = stat.S_IMODE(os.stat(os.path.join(self.data, "admin.token")).st_mode)
        self.assertEqual(mode, 0o600)
        self.assertEqual(len(self.d.token), 64)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.data, "ca.key")).st_mode), 0o600)
        with open(os.path.join(self.data, "ca.crt")) as f:
            bundle = f.read()
        text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=bundle, capture_output=True,
                              text=True, check=True).stdout
        self.assertIn("CA:TRUE", text)
        self.assertIn("ASN1 OID: prime256v1", text)
        # A restart keeps the same root.
        self.d.stop()
        self.d = Straitd(self.data)
        with open(os.path.join(self.data, "ca.crt")) as f:
            self.assertEqual(f.read(), bundle)

    def test_apply_get_list_delete(self):
        status, body = self.d.request("POST", "/api/v1/apply?source=vs.yaml&namespace=bookinfo", VIRTUAL_SERVICE)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["results"][0]["action"], "created")
        status, body = self.d.request("GET", "/api/v1/resources/VirtualService/bookinfo/reviews")
        self.assertEqual(status, 200)
        spec = json.loads(body)["spec"]
        self.assertEqual(spec["http"][1]["retries"]["perTryTimeout"], "250ms")
        self.assertEqual(spec["http"][0]["match"][0]["headers"]["end-user"]["exact"], "jason")
        status, body = self.d.request("GET", "/api/v1/resources?namespace=bookinfo")
        self.assertEqual(len(json.loads(body)["items"]), 1)
        self.assertEqual(self.d.request("DELETE", "/api/v1/resources/VirtualService/bookinfo/reviews")[0], 200)
        self.assertEqual(self.d.request("GET", "/api/v1/resources/VirtualService/bookinfo/reviews")[0], 404)

    def test_bad_input_is_refused_with_a_reason(self):
        status, body = self.d.request("POST", "/api/v1/apply?source=vs.yaml",
                                      VIRTUAL_SERVICE.replace("250ms", "250 parsecs"))
        self.assertEqual(status, 400)
        self.assertIn("vs.yaml: document 1: spec.http[1].retries.perTryTimeout", json.loads(body)["error"])
        self.assertIn("(line 17", json.loads(body)["error"])
        status, body = self.d.request("POST", "/api/v1/apply", "kind: [oops\n")
        self.assertEqual(status, 400)
        self.assertIn("invalid YAML at line", json.loads(body)["error"])
        status, body = self.d.request("POST", "/api/v1/apply", "apiVersion: example.com/v1\nkind: Widget\n"
                                      "metadata: {name: w}\nspec: {}\n")
        self.assertIn("unknown kind 'Widget'", json.loads(body)["error"])

    def test_unauthenticated_calls_get_401(self):
        self.assertEqual(self.d.request("GET", "/api/v1/resources", auth=False)[0], 401)
        self.assertEqual(self.d.request("GET", "/api/v1/resources", token="f" * 64)[0], 401)
        self.assertEqual(self.d.request("POST", "/api/v1/apply", VIRTUAL_SERVICE, auth=False)[0], 401)

    def test_oversized_body_gets_413(self):
        status, _ = self.d.request("POST", "/api/v1/apply", "#" * (5 << 20))
        self.assertEqual(status, 413)

    def test_an_acknowledged_apply_survives_kill_9_and_restart(self):
        self.assertEqual(self.d.request("POST", "/api/v1/apply", VIRTUAL_SERVICE)[0], 200)
        self.d.stop(signal.SIGKILL)
        self.d = Straitd(self.data)
        status, body = self.d.request("GET", "/api/v1/resources/VirtualService/default/reviews")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(self.d.request("GET", "/api/v1/version")[1])["revision"], 1)

    def test_sigterm_stops_cleanly(self):
        self.assertEqual(self.d.stop(signal.SIGTERM), 0)


if __name__ == "__main__":
    unittest.main()
