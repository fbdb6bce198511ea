"""straitctl against a real straitd: apply files and directories, read them back as tables, JSON
and YAML, delete them, and see one-line errors for bad input and bad credentials."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import BIN_DIR
from test_straitd import STRAITD, Straitd

STRAITCTL = os.path.join(BIN_DIR, "straitctl")

REVIEWS = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"""

MTLS = """apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: strait-system
spec:
  mtls: {mode: STRICT}
"""


@unittest.skipUnless(os.path.exists(STRAITD) and os.path.exists(STRAITCTL), "straitd or straitctl is not built")
class StraitctlAgainstStraitd(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="straitctl-e2e-")
        self.d = Straitd(os.path.join(self.tmp, "data"))
        self.env = dict(os.environ, STRAIT_SERVER=f"http://127.0.0.1:{self.d.port}",
                        STRAIT_TOKEN_FILE=os.path.join(self.tmp, "data", "admin.token"))
        self.env.pop("STRAIT_TOKEN", None)
        self.config = os.path.join(self.tmp, "config")
        os.makedirs(self.config)
        with open(os.path.join(self.config, "10-reviews.yaml"), "w") as f:
            f.write(REVIEWS)
        with open(os.path.join(self.config, "20-mtls.yaml"), "w") as f:
            f.write(MTLS)

    def tearDown(self):
        self.d.stop(signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def ctl(self, *args, check=True, stdin=None):
        r = subprocess.run([STRAITCTL, *args], capture_output=True, text=True, env=self.env, input=stdin, timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_apply_a_directory_then_get_and_delete(self):
        r = self.ctl("apply", "-f", self.config, "-n", "bookinfo")
        self.assertEqual(r.stdout.splitlines(), [
            "virtualservice.networking.istio.io/reviews created",
            "destinationrule.networking.istio.io/reviews created",
            "peerauthentication.security.istio.io/default created",
        ])
        self.assertIn("unchanged", self.ctl("apply", "-f", self.config, "-n", "bookinfo").stdout)
        table = self.ctl("get", "vs", "-n", "bookinfo").stdout.splitlines()
        self.assertEqual(table[0].split()[:3], ["NAMESPACE", "NAME", "KIND"])
        self.assertEqual(table[1].split()[:3], ["bookinfo", "reviews", "VirtualService"])
        resource = json.loads(self.ctl("get", "virtualservice", "reviews", "-n", "bookinfo", "-o", "json").stdout)
        self.assertEqual(resource["spec"]["http"][0]["route"][1]["weight"], 10)
        yaml_text = self.ctl("get", "dr", "-n", "bookinfo", "-o", "yaml").stdout
        self.assertIn("subsets:", yaml_text)
        self.assertIn("strait-system", self.ctl("get", "peerauthentication", "-A").stdout)
        self.assertIn("deleted", self.ctl("delete", "vs", "reviews", "-n", "bookinfo").stdout)
        r = self.ctl("get", "vs", "reviews", "-n", "bookinfo", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)

    def test_apply_from_stdin(self):
        r = self.ctl("apply", "-f", "-", stdin=MTLS)
        self.assertEqual(r.stdout.strip(), "peerauthentication.security.istio.io/default created")

    def test_invalid_file_is_refused_in_one_line_and_nothing_lands(self):
        bad = os.path.join(self.tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write(REVIEWS.replace("weight: 10", "wieght: 10"))
        r = self.ctl("apply", "-f", bad, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("document 1: spec.http[0].route[1].wieght: unknown field (line 12", r.stderr)
        self.assertEqual(json.loads(self.d.request("GET", "/api/v1/version")[1])["revision"], 0)

    def test_a_wrong_token_is_refused(self):
        self.env["STRAIT_TOKEN"] = "f" * 64
        r = self.ctl("get", "vs", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("unauthenticated", r.stderr)

    def test_join_tokens_are_created_listed_and_revoked(self):
        token = self.ctl("token", "create", "--namespace", "shop", "--service-account", "web",
                         "--ttl", "30m").stdout.strip()
        self.assertRegex(token, r"^strait-join\.[0-9a-f]{16}\.[0-9a-f]{64}$")
        listing = self.ctl("token", "list").stdout
        token_id = token.split(".")[1]
        self.assertIn(token_id, listing)
        self.assertIn("shop", listing)
        self.assertNotIn(token.split(".")[2], listing)  # the secret is shown once only
        self.assertIn("revoked", self.ctl("token", "revoke", token_id).stdout)
        self.assertNotIn(token_id, self.ctl("token", "list").stdout)
        r = self.ctl("token", "create", "--namespace", "Bad_NS", "--service-account", "web", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a valid namespace", r.stderr)

    def test_version_shows_both_sides(self):
        out = self.ctl("version").stdout
        self.assertIn("straitctl 0.1.0", out)
        self.assertIn("straitd 0.1.0", out)


if __name__ == "__main__":
    unittest.main()
