"""Observability as a user runs it (issue: observability): three services in a mesh, web ->
frontend -> backend, whose applications know nothing of the mesh but forward the trace headers;
backend has a healthy endpoint (v1, 200 ms per answer) and one that fails every request with 503
(v2). A real Prometheus scrapes every sidecar's /stats/prometheus and straitd's /metrics, and
answers the PromQL a platform team's dashboards ask, with Istio's metric and label names. A mesh-wide
Telemetry resource samples every trace and sends spans to straitd's collector and to a test
receiver, over OTLP/HTTP and Zipkin v2 JSON."""

import json
import os
import signal
import socket
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from harness import ChainApp, HttpApp, TcpEchoApp, free_port, run_cleanups, spiffe
from mesh import Mesh
from prometheus import Prometheus
from trace_receiver import TraceReceiver

REQUESTS = 120
# Long enough that the hops' own time (the Python applications on a loaded 2-core machine take tens
# of milliseconds now and then) cannot move the p99 out of the delay's range.
BACKEND_DELAY_MS = 200
# Istio retries a 503 by default; here each caller takes its callee's answer as it is, so that the
# failing endpoint's share shows at every hop.
NO_RETRIES = "---\n".join(f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {service}, namespace: shop}}
spec:
  hosts: [{service}]
  http:
  - route: [{{destination: {{host: {service}}}}}]
    retries: {{attempts: 0}}
""" for service in ("web", "frontend", "backend"))
TRACE_EVERYTHING = """apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: strait-system}
spec:
  tracing:
  - providers: [{name: strait}, {name: otel}, {name: zipkin}]
    randomSamplingPercentage: 100
"""
# Access logs on in both namespaces, off for frontend's workloads alone (a workload's own Telemetry
# overrides its namespace's).
ACCESS_LOGS = "---\n".join(f"""apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {{name: access-logs, namespace: {ns}}}
spec:
  accessLogging: [{{providers: [{{name: envoy}}]}}]
""" for ns in ("shop", "ops")) + """---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: frontend-quiet, namespace: shop}
spec:
  selector: {matchLabels: {app: frontend}}
  accessLogging: [{disabled: true}]
"""
# The sidecars each request crosses, loadgen -> web -> frontend -> backend: (service, kind), in
# the order of the trace's parent links.
TRACE_HOPS = [("loadgen.ops", "client"), ("web-v1.shop", "server"), ("web-v1.shop", "client"),
              ("frontend-v1.shop", "server"), ("frontend-v1.shop", "client"), ("backend", "server")]


def scrape(proxy):
    return proxy.get("/stats/prometheus")[1]


def samples(text, name):
    """[(labels dict, value)] of metric `name` in Prometheus text."""
    out = []
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        labels_text, _, value = line[len(name) + 1:].rpartition("} ")
        labels = {}
        for part in labels_text.split('",'):
            k, _, v = part.partition('="')
            labels[k] = v.rstrip('"')
        out.append((labels, float(value)))
    return out


class ObservabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="strait-e2e-obs-")
        cls.cleanups = []
        try:
            cls._start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        cls.receiver = TraceReceiver()
        cls.cleanups.append(cls.receiver.stop)
        mesh = cls.mesh = Mesh(cls.workdir, straitd_args=["--otel-endpoint", cls.receiver.otlp_url,
                                                          "--zipkin-endpoint", cls.receiver.zipkin_url])
        cls.cleanups.append(mesh.stop)
        cls.backend_v1 = HttpApp(name="backend-v1")
        cls.backend_v1.server.delay_ms = BACKEND_DELAY_MS
        cls.backend_v2 = HttpApp(name="backend-v2")
        cls.backend_v2.server.fail_with = 503
        cls.db = TcpEchoApp()
        for app in (cls.backend_v1, cls.backend_v2, cls.db):
            cls.cleanups.append(app.stop)
        def proxy(name, *args, **kw):  # each sidecar writes its access log to a file of its own
            return mesh.proxy(name, *args, extra_args=["--access-log-file", cls.access_log_path(name)], **kw)

        proxy("backend-v1", "shop", "backend", services=["backend:9080"], app_port=cls.backend_v1.port,
                   labels={"app": "backend", "version": "v1"})
        proxy("backend-v2", "shop", "backend", services=["backend:9080"], app_port=cls.backend_v2.port,
                   labels={"app": "backend", "version": "v2"})
        proxy("db-v1", "shop", "db", services=["db:5432:tcp"], app_port=cls.db.port, labels={"app": "db"})
        # Each chained app calls the next service through its own sidecar's outbound listener.
        cls.frontend_app = ChainApp("frontend", "http://backend.shop:9080")
        cls.cleanups.append(cls.frontend_app.stop)
        cls.frontend_app.proxy = proxy(
            "frontend-v1", "shop", "frontend", services=["frontend:9080"], app_port=cls.frontend_app.port,
            labels={"app": "frontend", "version": "v1"}).outbound
        cls.web_app = ChainApp("web", "http://frontend.shop:9080")
        cls.cleanups.append(cls.web_app.stop)
        cls.web_app.proxy = proxy("web-v1", "shop", "web", services=["web:9080"], app_port=cls.web_app.port,
                                       labels={"app": "web", "version": "v1"}).outbound
        cls.db_port = free_port()
        cls.loadgen = proxy("loadgen", "ops", "loadgen", labels={"app": "loadgen"},
                                 upstreams=[f"127.0.0.1:{cls.db_port}=db.shop:5432"])
        mesh.apply(NO_RETRIES)
        mesh.apply(ACCESS_LOGS)
        cls.synced_version = mesh.wait_synced(len(mesh.proxies))
        cls.proxies = {p.name: p for p in mesh.proxies}
        cls.prometheus = Prometheus(cls.workdir, {
            "strait-proxy": ("/stats/prometheus", [p.admin for p in mesh.proxies]),
            "straitd": ("/metrics", [f"127.0.0.1:{mesh.straitd.port}"]),
        })
        cls.cleanups.append(cls.prometheus.stop)
        cls._generate_traffic()

    @classmethod
    def _generate_traffic(cls):
        """Calls from loadgen to web until both backend endpoints answered (the series exist, and
        Prometheus holds their first values: a rate counts from there), then REQUESTS more, 4 at a
        time; one TCP exchange with db."""
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": f"http://{cls.loadgen.outbound}"}))
        statuses = []
        lock = threading.Lock()

        def get():
            try:
                with opener.open("http://web.shop:9080/items", timeout=10) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code

        warmup = []
        while len(set(warmup)) < 2 and len(warmup) < 50:
            warmup.append(get())
        cls.warmup = len(warmup)
        cls.prometheus.wait_for(
            'count(istio_requests_total{reporter="destination"})', lambda r: r and r[0][1] >= 6)
        time.sleep(5)  # a longer sampled span makes the rates' extrapolation error smaller

        def call(n):
            for _ in range(n):
                status = get()
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=call, args=(REQUESTS // 4,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cls.statuses = statuses
        cls.traced = []  # the tracing tests' calls
        with socket.create_connection(("127.0.0.1", cls.db_port), timeout=5) as s:
            s.sendall(b"x" * 1000)
            got = b""
            while len(got) < 1000:
                got += s.recv(65536)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass

    @classmethod
    def access_log_path(cls, proxy_name):
        return os.path.join(cls.workdir, f"{proxy_name}.access.log")

    def access_log(self, proxy_name, kind, count, timeout=10):
        """The JSON entries of `kind` ("http", "tcp") in a sidecar's access log, once it holds
        `count` of them (the writer flushes every 50 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            entries = []
            if os.path.exists(self.access_log_path(proxy_name)):
                with open(self.access_log_path(proxy_name)) as f:
                    entries = [json.loads(line) for line in f if line.strip()]
            entries = [e for e in entries if e["kind"] == kind]
            if len(entries) >= count or time.monotonic() > deadline:
                return entries
            time.sleep(0.1)

    def test_access_log_a_line_per_request_on_both_sides(self):
        calls = self.warmup + REQUESTS
        client = self.access_log("loadgen", "http", calls)
        self.assertEqual(len(client), calls)
        server = {e["request_id"]: e for e in self.access_log("web-v1", "http", 2 * calls)
                  if e["direction"] == "inbound"}
        self.assertEqual(len(server), calls)
        ok = [e for e in client if e["response_code"] == 200]
        self.assertTrue(ok, client[:3])
        entry = ok[0]
        self.assertEqual(entry["direction"], "outbound")
        self.assertEqual((entry["method"], entry["path"], entry["protocol"]), ("GET", "/items", "HTTP/1.1"))
        self.assertEqual(entry["authority"], "web.shop:9080")
        self.assertEqual(entry["upstream_cluster"], "outbound|9080||web.shop.svc.cluster.local")
        self.assertRegex(entry["upstream_host"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(entry["downstream_peer_principal"], spiffe("ops", "loadgen"))
        self.assertRegex(entry["trace_id"], "^[0-9a-f]{32}$")
        self.assertRegex(entry["start_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertGreaterEqual(entry["duration"], BACKEND_DELAY_MS)
        self.assertIsNotNone(entry["upstream_service_time"])
        self.assertGreater(entry["bytes_sent"], 0)
        self.assertIn("Python-urllib", entry["user_agent"])
        # The server side of the same request: the caller's verified identity, the same ids.
        inbound = server[entry["request_id"]]
        self.assertEqual(inbound["downstream_peer_principal"], spiffe("ops", "loadgen"))
        self.assertEqual(inbound["upstream_cluster"], "inbound|9080||")
        self.assertEqual(inbound["upstream_host"], f"127.0.0.1:{self.web_app.port}")
        self.assertEqual(inbound["trace_id"], entry["trace_id"])
        self.assertEqual(inbound["response_code"], 200)
        # The failing endpoint's answers are in its own sidecar's log.
        failed = self.access_log("backend-v2", "http", 1)
        self.assertTrue(failed and all(e["response_code"] == 503 for e in failed), failed[:3])
        self.assertTrue(all(e["downstream_peer_principal"] == spiffe("shop", "frontend") for e in failed))

    def test_access_log_off_for_one_workload(self):
        self.assertEqual(self.access_log("frontend-v1", "http", 1, timeout=1), [])
        dump = json.loads(self.proxies["frontend-v1"].get("/config_dump")[1])["access_log"]
        self.assertFalse(dump["enabled"])
        self.assertIn("shop/frontend-quiet", dump["decided_by"])
        dump = json.loads(self.proxies["web-v1"].get("/config_dump")[1])["access_log"]
        self.assertTrue(dump["enabled"])
        self.assertEqual(dump["path"], self.access_log_path("web-v1"))

    def test_access_log_a_line_per_tcp_connection(self):
        for proxy, direction, principal in (("loadgen", "outbound", spiffe("ops", "loadgen")),
                                            ("db-v1", "inbound", spiffe("ops", "loadgen"))):
            entries = self.access_log(proxy, "tcp", 1)
            self.assertEqual(len(entries), 1, entries)
            entry = entries[0]
            self.assertEqual(entry["direction"], direction)
            self.assertIsNone(entry["response_code"])
            self.assertEqual(entry["downstream_peer_principal"], principal)
            self.assertEqual((entry["bytes_received"], entry["bytes_sent"]), (1000, 1003))
        self.assertEqual(self.access_log("loadgen", "tcp", 1)[0]["upstream_cluster"],
                         "outbound|5432||db.shop.svc.cluster.local")
        self.assertEqual(self.access_log("db-v1", "tcp", 1)[0]["upstream_cluster"], "inbound|5432||")

    @classmethod
    def tearDownClass(cls):
        run_cleanups(cls.cleanups, cls.workdir)

    def wait_scraped(self):
        """Until Prometheus holds the last count of every service's requests."""
        self.prometheus.wait_for(
            'sum(istio_requests_total{reporter="destination"}) by (destination_service)',
            lambda r: len(r) == 3 and all(v == REQUESTS + self.warmup + len(self.traced) for _, v in r))
        time.sleep(2)  # two more scrapes of the final values

    # ---- tracing ----
    # (Named test_traces_*: unittest runs them last, after the metrics' checks, which count their
    # calls too; the metrics' traffic is traced at the default 1%.)

    @classmethod
    def trace_everything(cls):
        if getattr(cls, "tracing_on", False):
            return
        cls.mesh.apply(TRACE_EVERYTHING)
        cls.mesh.wait_synced(len(cls.mesh.proxies), newer_than=cls.synced_version)
        cls.tracing_on = True
        # What the proxy applies, as its /config_dump shows it (docs/observability.md).
        tracing = json.loads(cls.proxies["web-v1"].get("/config_dump")[1])["tracing"]
        assert tracing["sampling_percent"] == 100, tracing
        assert tracing["decided_by"] == ["strait-system/mesh-default"], tracing
        assert sorted(t["provider"] for t in tracing["targets"]) == ["otel", "strait", "zipkin"], tracing

    def call_with(self, headers):
        self.trace_everything()
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": f"http://{self.loadgen.outbound}"}))
        request = urllib.request.Request("http://web.shop:9080/trace", headers=headers)
        try:
            with opener.open(request, timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        self.traced.append(status)  # the metrics' checks count these calls too
        return status

    def collected(self, trace_id, count, timeout=15):
        """The spans of a trace in straitd's collector, once it holds `count` (or at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            done = self.mesh.ctl("traces", trace_id, "-o", "json", check=False)
            spans = json.loads(done.stdout)["spans"] if done.returncode == 0 else []
            if len(spans) >= count or time.monotonic() > deadline:
                return spans
            time.sleep(0.2)

    def assert_one_chain(self, spans, root_parent):
        """The spans form the chain TRACE_HOPS, each the child of the one before, the first the
        child of `root_parent`."""
        self.assertEqual(len(spans), len(TRACE_HOPS), spans)
        by_parent = {s["parent"]: s for s in spans}
        parent = root_parent
        for service, kind in TRACE_HOPS:
            self.assertIn(parent, by_parent, f"no span under {parent} ({service} {kind}): {spans}")
            span = by_parent[parent]
            self.assertEqual(span["kind"], kind, span)
            if service == "backend":
                self.assertIn(span["service"], ("backend-v1.shop", "backend-v2.shop"), span)
            else:
                self.assertEqual(span["service"], service, span)
            parent = span["span"]

    def test_traces_a_request_crossing_three_services_is_one_trace_with_a_span_from_every_sidecar(self):
        trace_id, caller_span = os.urandom(16).hex(), os.urandom(8).hex()
        self.assertIn(self.call_with({"traceparent": f"00-{trace_id}-{caller_span}-01"}), (200, 503))
        collected = [{"span": s["spanId"], "parent": s["parentSpanId"], "service": s["service"],
                      "kind": s["kind"], "tags": s["attributes"]}
                     for s in self.collected(trace_id, len(TRACE_HOPS))]
        self.assert_one_chain(collected, caller_span)
        # The standard attributes, on the callee side of web.
        web_server = next(s for s in collected if s["service"] == "web-v1.shop" and s["kind"] == "server")
        self.assertEqual(web_server["tags"]["http.method"], "GET")
        self.assertEqual(web_server["tags"]["http.url"], "http://web.shop:9080/trace")
        self.assertIn(web_server["tags"]["http.status_code"], ("200", "503"))
        # The same spans reached the test receiver in both formats.
        for fmt in ("otlp", "zipkin"):
            self.assert_one_chain(self.receiver.wait_trace(fmt, trace_id, len(TRACE_HOPS)), caller_span)
        # straitd's collector takes the proxies' spans with its collector token; the receiver none.
        self.assertTrue(all(auth is None for _, _, auth in self.receiver.requests))
        listed = json.loads(self.mesh.ctl("traces", "--service", "web-v1.shop", "-o", "json").stdout)
        self.assertIn(trace_id, [t["traceId"] for t in listed["traces"]])
        waterfall = self.mesh.ctl("traces", trace_id).stdout
        self.assertIn("frontend-v1.shop", waterfall)

    def test_traces_b3_context_is_continued_and_an_unsampled_decision_honoured(self):
        unsampled = os.urandom(16).hex()
        self.call_with({"traceparent": f"00-{unsampled}-{os.urandom(8).hex()}-00"})
        trace_id, caller_span = os.urandom(16).hex(), os.urandom(8).hex()
        self.call_with({"x-b3-traceid": trace_id, "x-b3-spanid": caller_span, "x-b3-sampled": "1"})
        spans = self.receiver.wait_trace("zipkin", trace_id, len(TRACE_HOPS))
        self.assert_one_chain(spans, caller_span)
        # Each proxy exports in order: the unsampled request's spans would have come first.
        for fmt in ("otlp", "zipkin"):
            self.assertEqual(self.receiver.trace(fmt, unsampled), [])
        self.assertEqual(self.collected(unsampled, 1, timeout=0), [])

    def test_the_traffic_went_through(self):
        self.assertEqual(len(self.statuses), REQUESTS)
        self.assertEqual(set(self.statuses) - {200, 503}, set())
        self.assertGreater(self.statuses.count(503), 0, "the failing endpoint took no request")
        self.assertGreater(self.statuses.count(200), 0, "the healthy endpoint took no request")

    def test_request_rate_by_destination_service(self):
        self.wait_scraped()
        result = self.prometheus.query(
            'sum(rate(istio_requests_total{reporter="destination"}[1m])) by (destination_service)')
        rates = {m["destination_service"]: v for m, v in result}
        self.assertEqual(set(rates), {"web.shop.svc.cluster.local", "frontend.shop.svc.cluster.local",
                                      "backend.shop.svc.cluster.local"})
        # Every call crossed all three services once: the same rate at each.
        for service, rate in rates.items():
            self.assertGreater(rate, 0, service)
            # (Each target is scraped at its own instant: the extrapolation differs by a scrape.)
            self.assertAlmostEqual(rate / rates["web.shop.svc.cluster.local"], 1.0, delta=0.1, msg=service)

    def test_the_share_of_503s_is_the_failing_endpoints(self):
        self.wait_scraped()
        share = self.prometheus.query(
            'sum(rate(istio_requests_total{reporter="destination",destination_service="backend.shop.svc.cluster.local",'
            'response_code="503"}[1m])) / sum(rate(istio_requests_total{reporter="destination",'
            'destination_service="backend.shop.svc.cluster.local"}[1m]))')
        self.assertEqual(len(share), 1)
        everything = self.statuses + self.traced
        expected = everything.count(503) / len(everything)
        self.assertAlmostEqual(share[0][1], expected, delta=0.06)
        # Only v2 answered 503, as the application's answer (no proxy flag); each caller relayed it.
        by_workload = self.prometheus.query(
            'sum(istio_requests_total{reporter="destination",response_code="503"}) by (destination_workload, response_flags)')
        self.assertEqual(sorted((m["destination_workload"], m["response_flags"]) for m, _ in by_workload),
                         [("backend-v2", "-"), ("frontend-v1", "-"), ("web-v1", "-")])

    def test_p99_latency_from_the_duration_histogram(self):
        self.wait_scraped()
        result = self.prometheus.query(
            "histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket[1m])) by (le))")
        self.assertEqual(len(result), 1)
        p99 = result[0][1]
        # The slowest calls wait 200 ms on backend-v1 (plus the hops): about half the calls sit in
        # the (100, 250] bucket, so the interpolated p99 is near its top.
        slow = self.prometheus.query(
            'sum(istio_request_duration_milliseconds_bucket{le="+Inf"}) by (reporter, destination_workload)'
            ' - sum(istio_request_duration_milliseconds_bucket{le="250"}) by (reporter, destination_workload)')
        self.assertGreater(p99, 150, f"calls slower than 250 ms: {slow}")
        self.assertLessEqual(p99, 500, f"calls slower than 250 ms: {slow}")
        # And requests to the failing endpoint are fast.
        fast = self.prometheus.query(
            'histogram_quantile(0.5, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",'
            'destination_workload="backend-v2"}[1m])) by (le))')
        self.assertLess(fast[0][1], 100)

    def test_both_sides_name_caller_and_callee(self):
        self.wait_scraped()
        # The server side: the caller's workload from its peer metadata, its namespace and principal
        # from its certificate.
        dest = self.prometheus.query(
            'sum(istio_requests_total{reporter="destination",destination_service_name="backend"}) by '
            '(source_workload, source_workload_namespace, source_principal, source_app, source_version, '
            'destination_workload, destination_app, destination_version, destination_principal, '
            'destination_service_namespace, connection_security_policy, request_protocol)')
        seen = {(m["destination_workload"], m["destination_version"]): m for m, _ in dest}
        self.assertEqual(set(seen), {("backend-v1", "v1"), ("backend-v2", "v2")})
        for m in seen.values():
            self.assertEqual(m["source_workload"], "frontend-v1")
            self.assertEqual(m["source_workload_namespace"], "shop")
            self.assertEqual(m["source_principal"], spiffe("shop", "frontend"))
            self.assertEqual(m["source_app"], "frontend")
            self.assertEqual(m["source_version"], "v1")
            self.assertEqual(m["destination_app"], "backend")
            self.assertEqual(m["destination_principal"], spiffe("shop", "backend"))
            self.assertEqual(m["destination_service_namespace"], "shop")
            self.assertEqual(m["connection_security_policy"], "mutual_tls")
            self.assertEqual(m["request_protocol"], "http")
        # The client side: the callee's workload from the endpoint it picked; the same counts.
        src = self.prometheus.query(
            'sum(istio_requests_total{reporter="source",source_workload="frontend-v1"}) by '
            '(destination_workload, destination_version, response_code, source_principal, destination_service)')
        counts = {(m["destination_workload"], m["response_code"]): v for m, v in src}
        self.assertEqual(set(counts), {("backend-v1", "200"), ("backend-v2", "503")})
        self.assertEqual(sum(counts.values()), REQUESTS + self.warmup + len(self.traced))
        for m, _ in src:
            self.assertEqual(m["source_principal"], spiffe("shop", "frontend"))
            self.assertEqual(m["destination_service"], "backend.shop.svc.cluster.local")
        # The first hop, from a sidecar with no service of its own, in another namespace.
        first = self.prometheus.query(
            'sum(istio_requests_total{reporter="destination",destination_service_name="web"}) by '
            '(source_workload, source_workload_namespace, source_app, source_version)')
        self.assertEqual([m for m, _ in first], [{"source_workload": "loadgen", "source_workload_namespace": "ops",
                                                  "source_app": "loadgen", "source_version": "unknown"}])

    def test_tcp_connections_and_bytes(self):
        self.prometheus.wait_for('sum(istio_tcp_connections_closed_total) by (reporter)',
                                 lambda r: len(r) == 2 and all(v == 1 for _, v in r))
        for reporter, proxy in (("source", "loadgen"), ("destination", "db-v1")):
            text = scrape(self.proxies[proxy])
            opened = samples(text, "istio_tcp_connections_opened_total")
            self.assertEqual(len(opened), 1, text)
            labels, value = opened[0]
            self.assertEqual(value, 1)
            self.assertEqual(labels["reporter"], reporter)
            self.assertEqual(labels["request_protocol"], "tcp")
            self.assertEqual(labels["source_workload"], "loadgen")  # on the server side: the TCP preamble
            self.assertEqual(labels["source_principal"], spiffe("ops", "loadgen"))
            self.assertEqual(labels["destination_workload"], "db-v1")
            self.assertEqual(labels["destination_service"], "db.shop.svc.cluster.local")
            self.assertNotIn("response_code", labels)
            received = samples(text, "istio_tcp_received_bytes_total")[0][1]
            sent = samples(text, "istio_tcp_sent_bytes_total")[0][1]
            self.assertEqual(received, 1000)
            self.assertEqual(sent, 1003)  # the echo and the app's "bye"

    def test_proxy_and_control_plane_metrics(self):
        text = scrape(self.proxies["frontend-v1"])
        for name in ("strait_upstream_connections_total", "strait_request_retries_total",
                     "strait_outlier_ejections_total", "strait_config_version", "strait_config_age_seconds",
                     "strait_certificate_expiry_timestamp_seconds", "strait_worker_requests_total",
                     "strait_worker_connections_active", "strait_istio_series_dropped_total"):
            self.assertIn(f"\n{name}", text)
        self.assertIn('strait_local_replies_total{reason="upstream_overflow"}', text)
        connected = self.prometheus.query('straitd_proxies_connected{job="straitd"}')
        self.assertEqual(connected[0][1], len(self.mesh.proxies))
        for name in ("straitd_pushes_total", "straitd_nacks_total", "straitd_certificates_issued_total"):
            self.assertEqual(len(self.prometheus.query(name)), 1, name)
        issued = self.prometheus.query("straitd_certificates_issued_total")[0][1]
        self.assertGreaterEqual(issued, len(self.mesh.proxies))
        latency = self.prometheus.query('straitd_push_ack_latency_ms{quantile="0.99"}')
        self.assertEqual(len(latency), 1)
        # No label grows with the traffic: no paths, hosts or ids in any series.
        for proxy in self.mesh.proxies:
            self.assertNotIn("/items", scrape(proxy))


if __name__ == "__main__":
    unittest.main()
