"""Traffic management through real sidecars configured by straitd (issue: traffic management):
route answers of the proxy's own (directResponse, redirect), fault injection (abort by HTTP or gRPC
status, delay) with measured shares, retries (the policy, the retry budget's bound on amplification,
bodies that cannot be sent again), timeouts, outlier detection, connection-pool limits and mirroring."""

import http.client
import json
import os
import threading
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import HttpApp
from test_mesh import Shop
from test_straitd import STRAITD

DR = """apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
"""


def reviews_traffic_policy(policy_yaml):
    """A DestinationRule for reviews with this trafficPolicy (a YAML flow mapping)."""
    return f"""apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: reviews, namespace: shop}}
spec:
  host: reviews
  trafficPolicy: {policy_yaml}
"""


def all_to_reviews(policy_yaml):
    """One route to every reviews endpoint, and a DestinationRule with this trafficPolicy."""
    return f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: shop}}
spec:
  hosts: [reviews]
  http: [{{route: [{{destination: {{host: reviews}}}}]}}]
---
{reviews_traffic_policy(policy_yaml)}"""


def virtual_service(http_yaml):
    return f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: shop}}
spec:
  hosts: [reviews]
  http:
{http_yaml}
---
{DR}"""


class ShopTestCase(unittest.TestCase):
    """A mesh of its own per test class: straitd, reviews v1 and v2 (apps and sidecars), and web,
    whose sidecar binds a local port to reviews:9080 (test_mesh.Shop)."""

    proxies = 3

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="strait-traffic-")
        cls.shop = Shop(cls.tmp)
        cls.mesh = cls.shop.mesh
        cls.v1, cls.v2 = cls.shop.apps["v1"], cls.shop.apps["v2"]

    @classmethod
    def tearDownClass(cls):
        cls.shop.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def apply_and_sync(self, yaml_text):
        """Applies resources and waits until every sidecar holds them."""
        before = self.mesh.wait_synced(self.proxies)
        self.mesh.apply(yaml_text)
        self.mesh.wait_synced(self.proxies, newer_than=before)


@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
class RouteActionsAndFaults(ShopTestCase):

    def apply(self, http_yaml):
        self.apply_and_sync(virtual_service(http_yaml))

    def request(self, conn, path="/", headers=None):
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.shop.binding, timeout=10)

    def test_direct_response_and_redirect_are_answered_by_the_proxy(self):
        self.apply("""  - match: [{uri: {prefix: /maintenance}}]
    directResponse: {status: 503, body: {string: "down for maintenance"}}
    headers: {response: {set: {content-type: application/json, retry-after: "120"}}}
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, redirectCode: 302}
  - match: [{method: {exact: HEAD}}]
    directResponse: {status: 200, body: {string: "for GET only"}}
  - match: [{uri: {exact: /elsewhere}}]
    redirect: {authority: reviews.example.com, scheme: https}
  - route: [{destination: {host: reviews, subset: v1}}]""")
        before = self.shop.apps["v1"].requests + self.shop.apps["v2"].requests
        conn = self.connect()
        status, headers, body = self.request(conn, "/maintenance/now")
        self.assertEqual((status, body), (503, b"down for maintenance"))
        self.assertEqual(headers["x-strait-reason"], "direct_response")
        self.assertEqual(headers["content-type"], "application/json")  # the route's response edits
        self.assertEqual(headers["retry-after"], "120")
        status, headers, _ = self.request(conn, "/old")  # the same keep-alive connection
        self.assertEqual(status, 302)
        self.assertTrue(headers["location"].startswith("http://"), headers)
        self.assertTrue(headers["location"].endswith("/new"), headers)
        conn.request("HEAD", "/probe")  # a HEAD answer has no body: the connection stays in step
        head = conn.getresponse()
        self.assertEqual((head.status, head.read(), head.getheader("content-length")), (200, b"", "12"))
        status, headers, _ = self.request(conn, "/elsewhere?x=1")
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "https://reviews.example.com/elsewhere?x=1")
        status, _, body = self.request(conn, "/api")
        self.assertEqual(status, 200)
        self.assertIn(b"reviews-v1", body)
        conn.close()
        # Only the last request reached an application.
        self.assertEqual(self.shop.apps["v1"].requests + self.shop.apps["v2"].requests, before + 1)

    def test_abort_percentage_lands_within_two_points(self):
        self.apply("""  - fault: {abort: {httpStatus: 503, percentage: {value: 30}}}
    route: [{destination: {host: reviews, subset: v1}}]""")
        key = 'strait_local_replies_total{reason="fault_abort"}'
        before = self.shop.web.stats().get(key, 0)
        conn = self.connect()
        aborted = 0
        total = 10000
        for _ in range(total):
            status, headers, _ = self.request(conn)
            if status == 503:
                self.assertEqual(headers["x-strait-reason"], "fault_abort")
                aborted += 1
            else:
                self.assertEqual(status, 200)
        conn.close()
        self.assertTrue(0.28 * total <= aborted <= 0.32 * total, f"{aborted} of {total} aborted, expected 30%")
        self.assertEqual(self.shop.web.stats()[key], before + aborted)

    def test_a_90_10_split_lands_within_two_points_over_10000_requests(self):
        self.apply("""  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}""")
        conn = self.connect()
        total = 10000
        v2 = 0
        for _ in range(total):
            status, _, body = self.request(conn)
            self.assertEqual(status, 200)
            v2 += json.loads(body)["app"] == "reviews-v2"
        conn.close()
        print(f"\n  90/10 split: {v2} of {total} to v2")
        self.assertTrue(0.08 * total <= v2 <= 0.12 * total, f"{v2} of {total} went to v2, expected 10% +- 2")

    def test_cors_preflights_are_answered_and_allowed_origins_get_their_fields(self):
        self.apply("""  - corsPolicy:
      allowOrigins: [{exact: "https://shop.example"}]
      allowMethods: [GET, POST]
      allowHeaders: [x-user]
      exposeHeaders: [x-trace]
      maxAge: 10m
    route: [{destination: {host: reviews, subset: v1}}]""")
        before = self.shop.apps["v1"].requests
        conn = self.connect()
        conn.request("OPTIONS", "/cart", headers={"Origin": "https://shop.example",
                                                  "Access-Control-Request-Method": "POST"})
        r = conn.getresponse()
        r.read()
        status, headers = r.status, {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        self.assertEqual(status, 200)
        self.assertEqual(headers["x-strait-reason"], "cors_preflight")
        self.assertEqual(headers["access-control-allow-origin"], "https://shop.example")
        self.assertEqual(headers["access-control-allow-methods"], "GET, POST")
        self.assertEqual(headers["access-control-max-age"], "600")
        self.assertEqual(self.shop.apps["v1"].requests, before)  # answered by the sidecar
        conn = self.connect()
        status, headers, _ = self.request(conn, "/cart", {"Origin": "https://shop.example"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["access-control-allow-origin"], "https://shop.example")
        self.assertEqual(headers["access-control-expose-headers"], "x-trace")
        status, headers, _ = self.request(conn, "/cart", {"Origin": "https://evil.example"})
        conn.close()
        self.assertEqual(status, 200)
        self.assertNotIn("access-control-allow-origin", headers)
        r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--http2-prior-knowledge", "-X", "OPTIONS",
                            "-H", "origin: https://shop.example", "-H", "access-control-request-method: GET",
                            f"http://127.0.0.1:{self.shop.binding}/cart"], capture_output=True, text=True, timeout=30)
        self.assertIn("access-control-allow-origin: https://shop.example", r.stdout)
        self.assertIn("x-strait-reason: cors_preflight", r.stdout)

    def test_delay_holds_the_request_back(self):
        self.apply("""  - fault: {delay: {fixedDelay: 300ms, percentage: {value: 100}}}
    route: [{destination: {host: reviews, subset: v1}}]""")
        before = self.shop.web.stats().get("strait_fault_delays_total", 0)
        conn = self.connect()
        started = time.monotonic()
        status, _, _ = self.request(conn)
        elapsed = time.monotonic() - started
        conn.close()
        self.assertEqual(status, 200)
        self.assertGreaterEqual(elapsed, 0.3)
        self.assertEqual(self.shop.web.stats()["strait_fault_delays_total"], before + 1)

    def test_rewrite_and_header_edits_reach_the_app_and_the_caller(self):
        self.apply("""  - match: [{uri: {prefix: /api/}}]
    rewrite: {uri: /v2/, authority: reviews.internal}
    headers:
      request: {set: {x-route: canary, x-request-id: fixed-id}, remove: [x-drop]}
      response: {add: {x-served-by: strait}, remove: [x-checksum-ignored]}
    route:
    - destination: {host: reviews, subset: v1}
      headers: {request: {add: {x-destination: v1}}}
  - match: [{uri: {regex: "/items/([0-9]+)"}}]
    rewrite: {uriRegexRewrite: {match: "/items/([0-9]+)", rewrite: "/item?id=\\\\1"}}
    route: [{destination: {host: reviews, subset: v1}}]""")
        conn = self.connect()
        status, headers, body = self.request(conn, "/api/list?page=2", {"x-route": "original", "x-drop": "1"})
        self.assertEqual(status, 200, body)
        echo = json.loads(body)
        self.assertEqual(echo["path"], "/v2/list?page=2")
        self.assertEqual(echo["headers"]["host"], "reviews.internal")
        self.assertEqual(echo["headers"]["x-route"], "canary")
        self.assertEqual(echo["headers"]["x-request-id"], "fixed-id")  # one value: the edit replaced the proxy's
        self.assertNotIn("x-drop", echo["headers"])
        self.assertEqual(echo["headers"]["x-destination"], "v1")
        self.assertEqual(headers["x-served-by"], "strait")
        status, _, body = self.request(conn, "/items/42")
        self.assertEqual(json.loads(body)["path"], "/item?id=42")
        conn.close()
        # The same through HTTP/2 (h2c from the caller).
        r = subprocess.run(["curl", "-s", "-D", "-", "--http2-prior-knowledge", "-H", "x-drop: 1",
                            f"http://127.0.0.1:{self.shop.binding}/api/h2"], capture_output=True, text=True, timeout=30)
        self.assertIn("x-served-by: strait", r.stdout)
        echo = json.loads(r.stdout[r.stdout.index("{"):])
        self.assertEqual(echo["path"], "/v2/h2")
        self.assertEqual(echo["headers"]["x-route"], "canary")
        self.assertNotIn("x-drop", echo["headers"])

    def test_consistent_hash_keeps_each_user_on_one_endpoint(self):
        self.apply_and_sync(all_to_reviews("{loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65537}}}}"))
        conn = self.connect()
        seen = {}
        for user in range(30):
            answers = set()
            for _ in range(10):
                _, _, body = self.request(conn, "/", {"x-user": f"user-{user}"})
                answers.add(json.loads(body)["app"])
            self.assertEqual(len(answers), 1, f"user-{user} reached {answers}")
            seen[user] = answers.pop()
        conn.close()
        self.assertEqual(set(seen.values()), {"reviews-v1", "reviews-v2"})  # keys spread over both

    def test_a_generated_hash_cookie_and_the_source_ip_keep_callers_on_one_endpoint(self):
        self.apply_and_sync(all_to_reviews(
            "{loadBalancer: {consistentHash: {httpCookie: {name: sticky, path: /, ttl: 600s}, ringHash: {minimumRingSize: 1024}}}}"))
        conn = self.connect()
        first_apps = set()
        for _ in range(20):  # 20 new callers: each is given a cookie, and the cookies spread
            _, headers, body = self.request(conn, "/")
            cookie = headers["set-cookie"]
            self.assertRegex(cookie, r"^sticky=[0-9a-f]{16}; Path=/; Max-Age=600; HttpOnly$")
            app = json.loads(body)["app"]
            first_apps.add(app)
            value = cookie.split(";")[0]
            for _ in range(5):  # the caller comes back with its cookie: same endpoint, no new cookie
                _, again, body = self.request(conn, "/", {"cookie": f"theme=dark; {value}"})
                self.assertNotIn("set-cookie", again)
                self.assertEqual(json.loads(body)["app"], app)
        self.assertEqual(first_apps, {"reviews-v1", "reviews-v2"})
        # The application's own Set-Cookie is kept beside the generated one.
        conn.request("GET", "/set-cookie")
        r = conn.getresponse()
        r.read()
        cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
        self.assertEqual(len(cookies), 2, cookies)
        self.assertIn("app=1; Path=/", cookies)
        conn.close()
        r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--http2-prior-knowledge",
                            f"http://127.0.0.1:{self.shop.binding}/"], capture_output=True, text=True, timeout=30)
        self.assertRegex(r.stdout, r"set-cookie: sticky=[0-9a-f]{16}; Path=/; Max-Age=600; HttpOnly")  # over HTTP/2 too
        self.apply_and_sync(reviews_traffic_policy("{loadBalancer: {consistentHash: {useSourceIp: true}}}"))
        # Every call comes from 127.0.0.1: one endpoint for all of them.
        conn = self.connect()
        apps = {json.loads(self.request(conn, "/")[2])["app"] for _ in range(30)}
        conn.close()
        self.assertEqual(len(apps), 1, apps)

    def test_grpc_abort_is_a_trailers_only_response(self):
        self.apply("""  - fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}
    route: [{destination: {host: reviews, subset: v1}}]""")
        r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--http2-prior-knowledge",
                            "-H", "content-type: application/grpc",
                            f"http://127.0.0.1:{self.shop.binding}/pkg.Service/Method"],
                           capture_output=True, text=True, timeout=30)
        self.assertIn("HTTP/2 200", r.stdout)
        self.assertIn("grpc-status: 14", r.stdout)
        self.assertIn("x-strait-reason: fault_abort", r.stdout)
        # A call whose request body is still coming gets the answer too, then RST_STREAM(NO_ERROR)
        # (RFC 9113 8.1; resetting at once would make nghttp2 drop the answer). nghttp, because
        # curl 7.88 reports such an early answer as an error.
        body = os.path.join(self.tmp, "big-call")
        with open(body, "wb") as f:
            f.write(b"x" * 300000)
        r = subprocess.run(["nghttp", "-v", "-H", "content-type: application/grpc", "-d", body,
                            f"http://127.0.0.1:{self.shop.binding}/pkg.Service/Method"],
                           capture_output=True, text=True, timeout=30)
        self.assertIn("grpc-status: 14", r.stdout)
        self.assertLess(r.stdout.index("grpc-status: 14"), r.stdout.index("recv RST_STREAM"))
        self.assertIn("error_code=NO_ERROR", r.stdout[r.stdout.index("recv RST_STREAM"):])


@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
class Resilience(ShopTestCase):
    """Retries, timeouts and outlier detection: web calls reviews (v1 and v2, round robin); the tests
    make the apps fail or stall."""

    def setUp(self):
        for app in (self.v1, self.v2):
            app.server.fail_with = 0
            app.server.delay_ms = 0
            app.server.grpc_fail_with = 0

    def apply(self, route_yaml):
        """A VirtualService for reviews with one route (fields under `- `) to every endpoint."""
        self.apply_and_sync(f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: shop}}
spec:
  hosts: [reviews]
  http:
  - route: [{{destination: {{host: reviews}}}}]
{route_yaml}""")

    def upstream_requests(self):
        return self.v1.requests + self.v2.requests

    def call(self, path="/", method="GET", body=None, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.shop.binding, timeout=30)
        try:
            conn.request(method, path, body=body)
            r = conn.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            if own:
                conn.close()

    def test_a_failing_endpoint_is_masked_by_retries_and_attempts_zero_turns_them_off(self):
        self.v1.server.fail_with = 503
        # Istio's default policy (no retries field) retries a 503 twice, on another endpoint.
        self.apply("")
        statuses = [self.call()[0] for _ in range(100)]
        self.assertEqual(statuses.count(200), 100, statuses)
        self.assertGreater(self.v1.requests, 0)
        self.assertGreater(self.shop.web.stats()["strait_request_retries_total"], 0)
        self.apply("    retries: {attempts: 0}")
        statuses = [self.call()[0] for _ in range(100)]
        self.assertTrue(30 <= statuses.count(503) <= 70, statuses)  # round robin: about every other
        # retryOn decides: a 500 is not retried by 503 alone, and is by 5xx.
        self.v1.server.fail_with = 500
        self.apply("    retries: {attempts: 2, retryOn: '503'}")
        self.assertIn(500, [self.call()[0] for _ in range(20)])
        self.apply("    retries: {attempts: 2, retryOn: 5xx}")
        self.assertEqual({self.call()[0] for _ in range(40)}, {200})

    def test_grpc_unavailable_is_retried_by_default(self):
        self.v1.server.grpc_fail_with = 14

        def grpc_statuses(count):
            out = []
            for _ in range(count):
                r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--http2-prior-knowledge",
                                    "-H", "content-type: application/grpc", "--data-binary", "call",
                                    f"http://127.0.0.1:{self.shop.binding}/pkg.Service/Method"],
                                   capture_output=True, text=True, timeout=30)
                self.assertIn("HTTP/2 200", r.stdout)
                out.append("grpc-status: 14" in r.stdout)
            return out

        self.apply("")
        before = self.v1.requests
        self.assertEqual(grpc_statuses(20), [False] * 20)  # UNAVAILABLE from v1 retried on v2
        self.assertGreater(self.v1.requests, before)
        self.apply("    retries: {attempts: 0}")
        self.assertIn(True, grpc_statuses(20))

    def apply_traffic_policy(self, policy_yaml):
        self.apply_and_sync(reviews_traffic_policy(policy_yaml))

    def test_a_failing_endpoint_is_ejected_after_five_errors_and_returns_after_the_base_time(self):
        self.apply_traffic_policy("{outlierDetection: {consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 3s,"
                                  " maxEjectionPercent: 100}}")
        try:
            self.apply("    retries: {attempts: 0}")
            ejections = self.shop.web.stats().get("strait_outlier_ejections_total", 0)
            self.v1.server.fail_with = 503
            statuses = [self.call()[0] for _ in range(10)]  # round robin: v1 fails 5 times
            ejected_at = time.monotonic()
            self.assertEqual(statuses.count(503), 5, statuses)
            self.assertEqual(self.shop.web.stats()["strait_outlier_ejections_total"], ejections + 1)
            v1_before = self.v1.requests
            statuses = [self.call()[0] for _ in range(40)]
            self.assertEqual(statuses, [200] * 40)  # every request goes to v2 while v1 is out
            self.assertEqual(self.v1.requests, v1_before)
            self.v1.server.fail_with = 0
            self.assertLess(time.monotonic() - ejected_at, 3.0)  # still within baseEjectionTime
            time.sleep(3.2 - (time.monotonic() - ejected_at))
            answers = {json.loads(self.call()[2])["app"] for _ in range(10)}
            self.assertEqual(answers, {"reviews-v1", "reviews-v2"})  # v1 is back
        finally:
            self.apply_traffic_policy("{}")

    def test_the_retry_budget_bounds_amplification_when_every_endpoint_fails(self):
        self.v1.server.fail_with = self.v2.server.fail_with = 503
        self.apply("    retries: {attempts: 3, retryOn: 5xx}")
        exhausted_before = self.shop.web.stats().get("strait_retry_budget_exhausted_total", 0)
        before = self.upstream_requests()
        # 64 connections keep enough requests in flight that 20% of them exceeds the budget's
        # minimum of 3 concurrent retries.
        sent = 6400
        r = subprocess.run(["h2load", "--h1", "-c", "64", "-n", str(sent), f"http://127.0.0.1:{self.shop.binding}/"],
                           capture_output=True, text=True, timeout=300)
        self.assertIn(f"status codes: 0 2xx, 0 3xx, 0 4xx, {sent} 5xx", r.stdout, r.stdout + r.stderr)
        amplification = (self.upstream_requests() - before) / sent
        print(f"\n  every endpoint failing: {sent} requests, amplification {amplification:.3f}")
        self.assertGreater(amplification, 1.0)   # retries happened
        self.assertLessEqual(amplification, 1.2)  # without the budget: 4.0
        self.assertGreater(self.shop.web.stats()["strait_retry_budget_exhausted_total"], exhausted_before)

    def test_a_budget_interval_bounds_a_caller_that_sends_one_request_at_a_time(self):
        """The in-flight budget lets a lone caller retry every request (one retry in flight is under
        minRetryConcurrency); budgetInterval counts the retries of the last interval instead."""
        self.v1.server.fail_with = self.v2.server.fail_with = 503
        self.apply("    retries: {attempts: 3, retryOn: 5xx}")
        conn = http.client.HTTPConnection("127.0.0.1", self.shop.binding, timeout=30)

        def amplification(sent):
            before = self.upstream_requests()
            started = time.monotonic()
            for _ in range(sent):
                self.assertEqual(self.call(conn=conn)[0], 503)
            return (self.upstream_requests() - before) / sent, time.monotonic() - started

        try:
            self.assertEqual(amplification(30)[0], 4.0)  # every request retried three times
            self.apply_traffic_policy("{retryBudget: {percent: 20, minRetryConcurrency: 3, budgetInterval: 2s}}")
            sent = 400
            ratio, seconds = amplification(sent)
            print(f"\n  budgetInterval 2s, one request at a time: {sent} requests in {seconds:.1f}s, "
                  f"amplification {ratio:.3f}")
            # 20% of the first tries, plus the minimum of 3 per interval.
            self.assertLessEqual(ratio, 1.2 + 3 * (seconds / 2 + 2) / sent)
            self.assertGreater(ratio, 1.0)
        finally:
            conn.close()
            self.apply_traffic_policy("{}")

    def test_a_body_beyond_the_buffer_is_sent_once_and_a_small_one_is_retried(self):
        self.v1.server.fail_with = self.v2.server.fail_with = 503
        self.apply("    retries: {attempts: 2, retryOn: 5xx}")
        before = self.upstream_requests()
        status, _, _ = self.call("/upload", "POST", b"x" * 1024)
        self.assertEqual(status, 503)
        self.assertEqual(self.upstream_requests() - before, 3)  # the first try and two retries
        before = self.upstream_requests()
        status, _, _ = self.call("/upload", "POST", b"x" * (200 * 1024))
        self.assertEqual(status, 503)
        self.assertEqual(self.upstream_requests() - before, 1)  # streamed through: never retried
        # Through HTTP/2 (h2c from the caller, h2 between the sidecars) likewise.
        before = self.upstream_requests()
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge",
                            "--data-binary", "small body", f"http://127.0.0.1:{self.shop.binding}/upload"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.stdout, "503")
        self.assertEqual(self.upstream_requests() - before, 3)

    def test_the_route_timeout_answers_504_and_a_per_try_timeout_moves_to_another_endpoint(self):
        self.v1.server.delay_ms = self.v2.server.delay_ms = 3000
        self.apply("    timeout: 300ms")
        started = time.monotonic()
        status, headers, body = self.call()
        elapsed = time.monotonic() - started
        self.assertEqual(status, 504, body)
        self.assertEqual(headers["x-strait-reason"], "upstream_response_timeout")
        self.assertLess(elapsed, 2.5)
        r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--http2-prior-knowledge",
                            f"http://127.0.0.1:{self.shop.binding}/"], capture_output=True, text=True, timeout=30)
        self.assertIn("HTTP/2 504", r.stdout)
        self.assertIn("x-strait-reason: upstream_response_timeout", r.stdout)
        self.assertGreaterEqual(self.shop.web.stats()["strait_route_timeouts_total"], 2)
        # v1 stalls, v2 answers: each try that lands on v1 is cut at 200 ms and retried on v2.
        self.v2.server.delay_ms = 0
        self.apply("    timeout: 5s\n    retries: {attempts: 2, perTryTimeout: 200ms, retryOn: reset}")
        answers = set()
        for _ in range(6):
            status, _, body = self.call()
            self.assertEqual(status, 200, body)
            answers.add(json.loads(body)["app"])
        self.assertEqual(answers, {"reviews-v2"})
        self.assertGreater(self.shop.web.stats()["strait_per_try_timeouts_total"], 0)


@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
class ConnectionPoolLimits(ShopTestCase):
    """connectionPool limits as circuit breakers: past a limit, 503 upstream_overflow at once. Its own
    mesh, so that no pooled connection from another test counts against maxConnections."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for app in cls.shop.apps.values():
            app.server.delay_ms = 700

    def apply_pool(self, pool_yaml):
        self.apply_and_sync(reviews_traffic_policy(f"{{connectionPool: {pool_yaml}}}") + f"""---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: shop}}
spec:
  hosts: [reviews]
  http: [{{route: [{{destination: {{host: reviews}}}}], retries: {{attempts: 0}}}}]
""")

    def concurrent_calls(self, count, headers=None):
        """`count` requests at once; returns (status, reason, seconds, body) for each."""
        barrier = threading.Barrier(count)
        results = []

        def call():
            conn = http.client.HTTPConnection("127.0.0.1", self.shop.binding, timeout=30)
            barrier.wait()
            started = time.monotonic()
            conn.request("GET", "/", headers=headers or {})
            r = conn.getresponse()
            body = r.read().decode()
            results.append((r.status, r.getheader("x-strait-reason"), time.monotonic() - started, body))
            conn.close()

        threads = [threading.Thread(target=call) for _ in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def check_overflow(self, results, served):
        ok = [r for r in results if r[0] == 200]
        overflow = [r for r in results if r[0] != 200]
        self.assertEqual(len(ok), served, results)
        for status, reason, seconds, _ in overflow:
            self.assertEqual((status, reason), (503, "upstream_overflow"))
            self.assertLess(seconds, 0.5)  # answered at once, not after the app's 700 ms
        return ok

    def test_max_connections_with_one_pending_request(self):
        self.apply_pool("{tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}}")
        key = 'strait_local_replies_total{reason="upstream_overflow"}'
        before = self.shop.web.stats().get(key, 0)
        ok = self.check_overflow(self.concurrent_calls(6), served=2)
        # One went at once, the pending one when the connection closed after it.
        self.assertGreater(max(seconds for _, _, seconds, _ in ok), 1.3)
        self.assertEqual(self.shop.web.stats()[key], before + 4)

    def test_max_requests_in_flight(self):
        self.apply_pool("{http: {http2MaxRequests: 2, maxRequestsPerConnection: 1}}")
        self.check_overflow(self.concurrent_calls(6), served=2)
        # Through HTTP/2 as well.
        procs = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge",
                                   f"http://127.0.0.1:{self.shop.binding}/"], stdout=subprocess.PIPE, text=True)
                 for _ in range(5)]
        codes = sorted(p.communicate(timeout=30)[0] for p in procs)
        self.assertEqual(codes.count("200"), 2, codes)
        self.assertEqual(codes.count("503"), 3, codes)

    def test_each_subset_and_port_has_its_own_limits(self):
        """Istio's layers: the rule's connectionPool for v2; v1's portLevelSettings for 9080 replace
        it for v1 alone. Each cluster counts its own requests in flight."""
        self.apply_and_sync("""apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy:
    connectionPool: {http: {http2MaxRequests: 4, maxRequestsPerConnection: 1}}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 9080}
        connectionPool: {http: {http2MaxRequests: 1, maxRequestsPerConnection: 1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {x-subset: {exact: v1}}}]
    route: [{destination: {host: reviews, subset: v1}}]
    retries: {attempts: 0}
  - route: [{destination: {host: reviews, subset: v2}}]
    retries: {attempts: 0}
""")
        clusters = {c["name"]: c for c in self.shop.web.config_dump()["clusters"]}
        v1 = clusters["outbound|9080|v1|reviews.shop.svc.cluster.local"]
        v2 = clusters["outbound|9080|v2|reviews.shop.svc.cluster.local"]
        self.assertEqual(v1["connection_pool"]["http2_max_requests"], 1)
        self.assertEqual(v2["connection_pool"]["http2_max_requests"], 4)
        self.assertEqual((v1["endpoints"], v2["endpoints"]), (1, 1))
        both = {}

        def run(name, headers):
            both[name] = self.concurrent_calls(6, headers)

        threads = [threading.Thread(target=run, args=("v1", {"x-subset": "v1"})),
                   threading.Thread(target=run, args=("v2", {}))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        served = {name: sum(1 for r in results if r[0] == 200) for name, results in both.items()}
        self.assertEqual(served, {"v1": 1, "v2": 4}, both)
        for status, reason, _, body in both["v1"]:
            if status != 200:
                self.assertEqual((status, reason), (503, "upstream_overflow"))
                self.assertIn("outbound|9080|v1|reviews.shop.svc.cluster.local: "
                              "connectionPool.http.http2MaxRequests (1) reached", body)



@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
class Mirroring(ShopTestCase):
    """reviews is mirrored to shadow (its own app and sidecar), whose answers must not matter."""

    proxies = 4

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shadow = HttpApp(name="shadow")
        cls.mesh.proxy("shadow-1", "shop", "shadow", services=["shadow:9080"], app_port=cls.shadow.port,
                       labels={"app": "shadow"})
        cls.mesh.wait_synced(cls.proxies)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.shadow.stop()

    def wait_for_shadow_log(self, entry):
        """Whether the shadow app logged `entry` (Host, body size) within 10 s: it counts a request
        when it arrives and logs it once its body is read, so the count can come first."""
        deadline = time.monotonic() + 10
        while entry not in self.shadow.server.log and time.monotonic() < deadline:
            time.sleep(0.02)
        return entry in self.shadow.server.log

    def wait_for_shadow(self, count):
        deadline = time.monotonic() + 10
        while self.shadow.requests < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.shadow.requests

    def test_the_mirror_sees_every_request_and_its_answers_are_ignored(self):
        self.apply_and_sync("""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
    mirror: {host: shadow}
    mirrorPercentage: {value: 100}
""")
        self.shadow.server.fail_with = 500   # ignored
        self.shadow.server.delay_ms = 1500   # and never waited for
        start = self.shadow.requests
        conn = http.client.HTTPConnection("127.0.0.1", self.shop.binding, timeout=10)
        started = time.monotonic()
        for _ in range(200):
            conn.request("GET", "/")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(json.loads(r.read())["app"], ("reviews-v1", "reviews-v2"))
        self.assertLess(time.monotonic() - started, 20)  # 200 x 1.5 s would be 300 s
        self.shadow.server.delay_ms = 0
        conn.request("POST", "/upload", body=b"y" * 3000)
        self.assertEqual(conn.getresponse().read() and 200, 200)
        conn.close()
        self.assertEqual(self.wait_for_shadow(start + 201), start + 201)
        self.assertEqual({host for host, _ in self.shadow.server.log}, {"reviews-shadow:9080"})
        self.assertTrue(self.wait_for_shadow_log(("reviews-shadow:9080", 3000)), self.shadow.server.log[-5:])
        # HTTP/2 (h2c from the caller) too.
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge",
                            "--data-binary", "h2 body", f"http://127.0.0.1:{self.shop.binding}/h2"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.stdout, "200")
        self.assertEqual(self.wait_for_shadow(start + 202), start + 202)
        self.assertTrue(self.wait_for_shadow_log(("reviews-shadow:9080", len("h2 body"))), self.shadow.server.log[-5:])
        self.assertGreaterEqual(self.shop.web.stats()["strait_mirror_requests_total"], 202)



@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
class ConsistentHashRemap(unittest.TestCase):
    """Four reviews endpoints behind a maglev hash on a header: one leaves the mesh, and only about
    a quarter of the keys (its own) move."""

    @classmethod
    def setUpClass(cls):
        from harness import free_port
        from mesh import Mesh
        cls.tmp = tempfile.mkdtemp(prefix="strait-remap-")
        cls.mesh = Mesh(cls.tmp)
        cls.apps = [HttpApp(name=f"reviews-{i}") for i in range(4)]
        cls.sidecars = [cls.mesh.proxy(f"reviews-{i}", "shop", "reviews", services=["reviews:9080"],
                                       app_port=app.port, labels={"app": "reviews"})
                        for i, app in enumerate(cls.apps)]
        cls.binding = free_port()
        cls.web = cls.mesh.proxy("web-1", "shop", "web", upstreams=[f"127.0.0.1:{cls.binding}=reviews:9080"])
        cls.mesh.wait_synced(5)

    @classmethod
    def tearDownClass(cls):
        cls.mesh.stop()
        for app in cls.apps:
            app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def endpoints_seen_by_web(self):
        dump = json.loads(self.web.get("/config_dump")[1])
        return next(len(s["endpoints"]) for s in dump["services"] if s["host"].startswith("reviews."))

    def owners(self, keys):
        conn = http.client.HTTPConnection("127.0.0.1", self.binding, timeout=10)
        out = {}
        for key in keys:
            conn.request("GET", "/", headers={"x-user": key})
            r = conn.getresponse()
            out[key] = json.loads(r.read())["app"]
        conn.close()
        return out

    def test_removing_one_of_four_endpoints_moves_about_a_quarter_of_the_keys(self):
        before = self.mesh.wait_synced(5)
        self.mesh.apply(all_to_reviews("{loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {}}}}"))
        self.mesh.wait_synced(5, newer_than=before)
        keys = [f"user-{i}" for i in range(400)]
        first = self.owners(keys)
        self.assertEqual(first, self.owners(keys))  # the same key, the same endpoint
        self.assertEqual(set(first.values()), {f"reviews-{i}" for i in range(4)})
        self.sidecars[2].stop()  # drains, and leaves every view at once
        deadline = time.time() + 10
        while self.endpoints_seen_by_web() != 3:
            self.assertLess(time.time(), deadline, "web still routes to the stopped endpoint")
            time.sleep(0.05)
        second = self.owners(keys)
        removed = [k for k in keys if first[k] == "reviews-2"]
        kept = [k for k in keys if first[k] != "reviews-2"]
        self.assertTrue(all(second[k] != "reviews-2" for k in removed))
        stayed = sum(first[k] == second[k] for k in kept)
        moved = sum(first[k] != second[k] for k in keys)
        print(f"\nremap: {moved} of 400 keys moved ({len(removed)} were on the removed endpoint); "
              f"{stayed} of {len(kept)} others stayed")
        self.assertGreaterEqual(stayed / len(kept), 0.95)
        self.assertTrue(0.15 <= moved / len(keys) <= 0.35, moved)


if __name__ == "__main__":
    unittest.main()
