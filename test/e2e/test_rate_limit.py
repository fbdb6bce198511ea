"""Rate limiting through real sidecars configured by straitd (issue: traffic management): a
RateLimitPolicy (strait.dev/v1alpha1) holds its rate within 5% across the proxy's workers, a refused
request gets 429 with rate_limited, retry-after and the rate-limit fields (gRPC: RESOURCE_EXHAUSTED),
perSource: PRINCIPAL gives each caller its own bucket, a match limits one route only, and every refusal
is counted in the proxy's stats. Invalid policies are refused at apply with the field path."""

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import HttpApp, free_port
from mesh import Mesh
from test_straitd import STRAITD

VS_TO_V1 = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}], retries: {attempts: 0}}]
"""


def policy(limits_yaml, name="reviews-limits"):
    return f"""apiVersion: strait.dev/v1alpha1
kind: RateLimitPolicy
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: reviews}}}}
  limits:
{limits_yaml}
"""


def get(port, path="/", conn=None):
    """One GET through a caller's bound port: (status, lower-case headers, body)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        if own:
            conn.close()


@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
class RateLimits(unittest.TestCase):
    """straitd; reviews (an app and its sidecar with two workers); two callers, web and batch, with
    different service accounts, each binding a local port to reviews:9080."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="strait-ratelimit-")
        cls.mesh = Mesh(cls.tmp)
        cls.app = HttpApp(name="reviews-v1")
        cls.reviews = cls.mesh.proxy("reviews-v1", "shop", "reviews", services=["reviews:9080"], app_port=cls.app.port,
                                     labels={"app": "reviews", "version": "v1"}, concurrency=2)
        cls.web_port, cls.batch_port = free_port(), free_port()
        cls.mesh.proxy("web-1", "shop", "web", labels={"app": "web"},
                       upstreams=[f"127.0.0.1:{cls.web_port}=reviews:9080"])
        cls.mesh.proxy("batch-1", "shop", "batch", labels={"app": "batch"},
                       upstreams=[f"127.0.0.1:{cls.batch_port}=reviews:9080"])
        cls.mesh.wait_synced(3)
        cls.apply_and_sync(VS_TO_V1)

    @classmethod
    def tearDownClass(cls):
        cls.mesh.stop()
        cls.app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def apply_and_sync(cls, yaml_text):
        """Applies and waits until the reviews sidecar holds the change (a RateLimitPolicy reaches
        only the workloads it selects; the callers' views do not change)."""
        before = cls.mesh.acked_version(cls.reviews.id)
        cls.mesh.apply(yaml_text)
        cls.mesh.wait_proxy_acked(cls.reviews.id, 3, newer_than=before)

    def limited_count(self, limit):
        return self.reviews.stats().get(f'strait_rate_limited_total{{limit="shop/reviews-limits/{limit}"}}', 0)

    def test_the_limit_holds_its_rate_within_five_percent(self):
        # 50 requests a second with a burst of 20, driven well past the limit by four callers'
        # connections for six seconds; the proxy has two workers taking from one bucket.
        self.apply_and_sync(policy("""  - name: steady
    tokenBucket: {maxTokens: 20, tokensPerFill: 50, fillInterval: 1s}"""))
        counts = {"ok": 0, "limited": 0, "other": 0}
        lock = threading.Lock()
        stop_at = time.monotonic() + 6.0
        first_sent = []

        def drive():
            conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=10)
            while True:
                now = time.monotonic()
                if now >= stop_at:
                    break
                with lock:
                    if not first_sent:
                        first_sent.append(now)
                status, _, _ = get(self.web_port, "/steady", conn)
                with lock:
                    counts["ok" if status == 200 else "limited" if status == 429 else "other"] += 1
            conn.close()

        threads = [threading.Thread(target=drive) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - first_sent[0]
        expected = 20 + 50 * elapsed
        self.assertEqual(counts["other"], 0, counts)
        self.assertGreater(counts["limited"], counts["ok"], f"the load did not exceed the limit: {counts}")
        self.assertLess(abs(counts["ok"] - expected) / expected, 0.05,
                        f"{counts['ok']} allowed in {elapsed:.2f}s, expected {expected:.0f}: {counts}")
        self.assertEqual(self.limited_count("steady"), counts["limited"])
        print(f"\nrate limit: {counts['ok']} allowed, {counts['limited']} refused in {elapsed:.2f}s; "
              f"expected {expected:.1f} allowed ({(counts['ok'] - expected) / expected:+.2%})")

    def test_a_refused_request_says_which_limit_and_when_to_come_back(self):
        self.apply_and_sync(policy("""  - name: tiny
    tokenBucket: {maxTokens: 2, tokensPerFill: 1, fillInterval: 10s}"""))
        before = self.app.requests
        statuses = [get(self.web_port, "/tiny")[0] for _ in range(2)]
        self.assertEqual(statuses, [200, 200])
        status, headers, body = get(self.web_port, "/tiny")
        self.assertEqual(status, 429)
        self.assertEqual(headers["x-strait-reason"], "rate_limited")
        self.assertEqual(headers["x-strait-rate-limit"], "shop/reviews-limits/tiny")
        self.assertTrue(1 <= int(headers["retry-after"]) <= 10, headers)
        self.assertEqual(headers["x-ratelimit-limit"], "2")
        self.assertEqual(headers["x-ratelimit-remaining"], "0")
        self.assertIn(b"shop/reviews-limits/tiny", body)
        self.assertEqual(self.app.requests - before, 2)  # the refused request never reached the app
        # Over HTTP/2 (h2c from the caller, h2 between the sidecars) and for a gRPC call.
        r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--http2-prior-knowledge",
                            f"http://127.0.0.1:{self.web_port}/tiny"], capture_output=True, text=True, timeout=30)
        self.assertIn("HTTP/2 429", r.stdout)
        self.assertIn("retry-after:", r.stdout)
        r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--http2-prior-knowledge",
                            "-H", "content-type: application/grpc", "-d", "",
                            f"http://127.0.0.1:{self.web_port}/pkg.Service/Method"],
                           capture_output=True, text=True, timeout=30)
        self.assertIn("HTTP/2 200", r.stdout)
        self.assertIn("grpc-status: 8", r.stdout)  # RESOURCE_EXHAUSTED
        self.assertIn("x-strait-reason: rate_limited", r.stdout)
        self.assertIn("x-strait-rate-limit: shop/reviews-limits/tiny", r.stdout)
        self.assertIn("retry-after:", r.stdout)
        self.assertEqual(self.limited_count("tiny"), 3)

    def test_a_refused_request_with_a_body_still_gets_its_429(self):
        self.apply_and_sync(policy("""  - name: empty
    tokenBucket: {maxTokens: 1, tokensPerFill: 1, fillInterval: 60s}"""))
        self.assertEqual(get(self.web_port, "/empty")[0], 200)  # the one token

        def post(conn, size):
            conn.request("POST", "/empty", body=b"x" * size, headers={"content-type": "application/octet-stream"})
            r = conn.getresponse()
            r.read()
            return r.status, r.getheader("x-strait-reason")

        inbound = 'strait_downstream_connections_total{listener="inbound"}'
        before = self.reviews.stats()[inbound]
        conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=10)
        # Small bodies are read and dropped: the connection between the sidecars stays open.
        self.assertEqual({post(conn, 1000) for _ in range(10)}, {(429, "rate_limited")})
        conn.close()
        self.assertLessEqual(self.reviews.stats()[inbound] - before, 1)
        # Large ones close it, but only after the answer is read: 429, never a reset (502).
        for size in (200_000, 2_000_000, 8_000_000):
            conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=20)
            self.assertEqual(post(conn, size), (429, "rate_limited"), size)
            conn.close()
        # Over HTTP/2 from the caller (h2 between the sidecars), with a body still coming.
        body = os.path.join(self.tmp, "big-body")
        with open(body, "wb") as f:
            f.write(b"x" * 1_000_000)
        r = subprocess.run(["nghttp", "-v", "-d", body, f"http://127.0.0.1:{self.web_port}/empty"],
                           capture_output=True, text=True, timeout=30)
        self.assertIn(":status: 429", r.stdout)
        self.assertIn("x-strait-reason: rate_limited", r.stdout)

    def test_per_source_buckets_and_a_limit_on_one_route(self):
        self.apply_and_sync(policy("""  - name: per-caller
    match: [{uri: {prefix: /api/}}]
    perSource: PRINCIPAL
    tokenBucket: {maxTokens: 5, tokensPerFill: 1, fillInterval: 60s}"""))
        web = [get(self.web_port, "/api/items")[0] for _ in range(7)]
        batch = [get(self.batch_port, "/api/items")[0] for _ in range(7)]
        self.assertEqual(web, [200] * 5 + [429] * 2)
        self.assertEqual(batch, [200] * 5 + [429] * 2)  # its own bucket: web's use took nothing from it
        self.assertEqual({get(self.web_port, "/other")[0] for _ in range(20)}, {200})  # not matched: not limited
        stats = self.reviews.stats()
        self.assertEqual(stats['strait_rate_limit_sources{limit="shop/reviews-limits/per-caller"}'], 2)
        self.assertEqual(self.limited_count("per-caller"), 4)

    def test_a_push_keeps_the_buckets_and_a_deleted_policy_lifts_the_limit(self):
        limit = """  - name: kept
    tokenBucket: {maxTokens: 3, tokensPerFill: 1, fillInterval: 60s}"""
        self.apply_and_sync(policy(limit))
        self.assertEqual([get(self.web_port, "/kept")[0] for _ in range(4)], [200, 200, 200, 429])
        # An unrelated change reaches every proxy: the emptied bucket stays empty.
        self.apply_and_sync(VS_TO_V1.replace("attempts: 0", "attempts: 0, perTryTimeout: 5s"))
        self.assertEqual(get(self.web_port, "/kept")[0], 429)
        before = self.mesh.acked_version(self.reviews.id)
        self.mesh.ctl("delete", "ratelimitpolicy", "reviews-limits", "-n", "shop")
        self.mesh.wait_proxy_acked(self.reviews.id, 3, newer_than=before)
        self.assertEqual({get(self.web_port, "/kept")[0] for _ in range(10)}, {200})
        dump = json.loads(self.reviews.get("/config_dump")[1])
        self.assertEqual(dump["rate_limits"], [])

    def test_a_policy_that_cannot_work_is_refused_at_apply(self):
        cases = {
            "match: [{sourceLabels: {app: web}}]\n    tokenBucket: {maxTokens: 1, fillInterval: 1s}":
                "spec.limits[0].match[0].sourceLabels: is not available to a rate limit",
            "tokenBucket: {maxTokens: 0, fillInterval: 1s}": "spec.limits[0].tokenBucket.maxTokens: must be at least 1",
            "tokenBucket: {maxTokens: 5, fillInterval: 0s}": "spec.limits[0].tokenBucket.fillInterval: must be at least 1ms",
            "match: [{uri: {regex: '(['}}]\n    tokenBucket: {maxTokens: 1, fillInterval: 1s}":
                "spec.limits[0].match[0].uri.regex: invalid RE2 regex",
        }
        for body, expected in cases.items():
            done = self.mesh.ctl("apply", "-f", "-", input=policy(f"  - name: broken\n    {body}", name="bad"), check=False)
            self.assertNotEqual(done.returncode, 0, body)
            self.assertIn(expected, done.stderr)
        self.assertNotIn("bad", self.mesh.ctl("get", "ratelimitpolicy", "-n", "shop").stdout)

if __name__ == "__main__":
    unittest.main()
