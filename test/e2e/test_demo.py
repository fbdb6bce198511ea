"""straitctl demo end to end: the whole demo mesh from the built binaries, run for about a minute,
then checked through its sidecars' metrics (the canary share, the ejection of the flaky instance,
the authorization policy, mTLS, gRPC), through straitctl tap, and through the web dashboard in
headless Chromium (Playwright), whose numbers must agree with straitd's API and the sidecars'
metrics; then stopped with Ctrl-C (SIGINT), after which no process it started may be left. The
dashboard's screenshots are kept in build/test-artifacts/dashboard/."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import BIN_DIR
from test_observability import samples

CTL_BIN = os.path.join(BIN_DIR, "straitctl")
TRAFFIC_SECONDS = 55  # with the start, about a minute
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK_DASHBOARD = os.path.join(REPO, "dashboard", "test", "check-dashboard.mjs")
ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(BIN_DIR)), "test-artifacts", "dashboard")


def requests_total(workload):
    with urllib.request.urlopen(f"http://{workload['admin']}/stats/prometheus", timeout=5) as r:
        text = r.read().decode()
    return text, samples(text, "istio_requests_total")


def total(series, **labels):
    return sum(v for l, v in series if all(l.get(k) == want for k, want in labels.items()))


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def processes_mentioning(text):
    """Pids whose command line contains `text` (the demo's directory is in every child's flags)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


class DemoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="strait-demo-e2e-")
        cls.dir = os.path.join(cls.tmp, "demo")
        cls.out = open(os.path.join(cls.tmp, "straitctl.out"), "w")
        # --duration is a safety net only: the test stops it with SIGINT, as Ctrl-C does.
        cls.proc = subprocess.Popen([CTL_BIN, "demo", "--api-port", "0", "--grpc-port", "0", "--dir", cls.dir,
                                     "--duration", "300s"], stdout=cls.out, stderr=subprocess.STDOUT)
        state_path = os.path.join(cls.dir, "demo.json")
        deadline = time.monotonic() + 90
        while not os.path.exists(state_path):
            if cls.proc.poll() is not None or time.monotonic() > deadline:
                cls.stop_demo()
                raise AssertionError("straitctl demo did not start:\n" + cls.output())
            time.sleep(0.2)
        time.sleep(0.2)  # written in one go; let the write finish
        with open(state_path) as f:
            cls.state = json.load(f)
        cls.workloads = {w["name"]: w for w in cls.state["workloads"]}
        cls.started_at = time.monotonic()

    @classmethod
    def output(cls):
        with open(os.path.join(cls.tmp, "straitctl.out")) as f:
            return f.read()

    @classmethod
    def stop_demo(cls):
        if cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGINT)
            try:
                cls.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()
        cls.out.close()

    @classmethod
    def tearDownClass(cls):
        cls.stop_demo()
        for pid in processes_mentioning(cls.dir):  # only after a failure above
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_1_the_mesh_does_what_the_demo_says_then_ctrl_c_leaves_nothing(self):
        banner = self.output()
        self.assertIn("The strait demo is running", banner)
        self.assertIn(self.state["api"], banner)
        remaining = TRAFFIC_SECONDS - (time.monotonic() - self.started_at)
        if remaining > 0:
            time.sleep(remaining)

        _, frontend = requests_total(self.workloads["frontend-v1"])
        # The canary: 80/20 between catalog's subsets, as frontend's sidecar reports it.
        v1 = total(frontend, reporter="source", destination_workload="catalog-v1")
        v2 = total(frontend, reporter="source", destination_workload="catalog-v2")
        self.assertGreater(v1 + v2, 100, frontend)
        self.assertTrue(0.10 <= v2 / (v1 + v2) <= 0.32, (v1, v2))
        self.assertEqual(total(frontend, reporter="source", destination_app="catalog", response_code="200"), v1 + v2)

        # The flaky instance: its 503s are retried (loadgen sees none), and it is ejected.
        text, loadgen = requests_total(self.workloads["loadgen"])
        calls = total(loadgen, reporter="source", destination_workload="frontend-v1")
        self.assertEqual(total(loadgen, reporter="source", destination_workload="frontend-v1", response_code="200"),
                         calls, loadgen)
        _, flaky = requests_total(self.workloads["inventory-2"])
        _, healthy = requests_total(self.workloads["inventory-1"])
        self.assertGreater(total(flaky, reporter="destination", response_code="503"), 0, flaky)
        self.assertGreater(total(healthy, reporter="destination"), total(flaky, reporter="destination"))
        frontend_text, _ = requests_total(self.workloads["frontend-v1"])
        ejections = [float(line.split()[-1]) for line in frontend_text.splitlines()
                     if line.startswith("strait_outlier_ejections_total")]
        self.assertTrue(ejections and ejections[0] >= 1, ejections)

        # The policy: scanner's calls reach catalog's sidecars and are refused there, over mTLS.
        refused = 0
        for name in ("catalog-v1", "catalog-v2"):
            _, catalog = requests_total(self.workloads[name])
            refused += total(catalog, reporter="destination", source_workload="scanner", response_code="403")
            self.assertEqual(total(catalog, reporter="destination", source_workload="scanner", response_code="200"), 0)
            self.assertEqual(total(catalog, reporter="destination", connection_security_policy="mutual_tls"),
                             total(catalog, reporter="destination"))
        self.assertGreater(refused, 10)

        # gRPC: frontend -> reviews, with its status.
        self.assertGreater(total(frontend, reporter="source", destination_app="reviews", request_protocol="grpc",
                                 grpc_response_status="0"), 100)

        # The commands the banner suggests work against the demo, and describe lists a service's
        # own policies only (the selector of catalog-callers picks catalog's workloads).
        env = dict(os.environ, STRAIT_SERVER=self.state["api"], STRAIT_TOKEN_FILE=self.state["token_file"])
        ctl = lambda *args, timeout=30: subprocess.run([CTL_BIN, *args], env=env, capture_output=True, text=True,
                                                       timeout=timeout, check=True).stdout
        self.assertEqual(ctl("proxy-status").count("SYNCED"), len(self.workloads))
        self.assertIn("AuthorizationPolicy demo/catalog-callers", ctl("describe", "service", "catalog", "-n", "demo"))
        inventory = ctl("describe", "service", "inventory", "-n", "demo")
        self.assertNotIn("catalog-callers", inventory)
        self.assertIn("PeerAuthentication strait-system/default", inventory)
        self.assertIn("frontend-v1.demo", ctl("traces", "--service", "frontend-v1.demo", "--limit", "3"))

        # straitd's live traffic view (the proxies' reports on their discovery streams) tells the
        # same story: the rate loadgen drives, the 80/20 split, the refusals, mTLS and gRPC.
        request = urllib.request.Request(self.state["api"] + "/api/v1/traffic?window=30s&namespace=demo")
        with open(self.state["token_file"]) as f:
            request.add_header("Authorization", "Bearer " + f.read().strip())
        with urllib.request.urlopen(request, timeout=10) as r:
            traffic = json.load(r)
        services = {s["service"]: s for s in traffic["services"]}
        catalog = services["catalog.demo.svc.cluster.local"]
        self.assertTrue(2.0 <= services["frontend.demo.svc.cluster.local"]["rps"] <= 6.5, services)  # 5/s asked
        self.assertGreater(catalog["clientErrors"], 0)
        self.assertTrue(catalog["mtls"])
        self.assertTrue(services["reviews.demo.svc.cluster.local"]["grpc"])
        self.assertLess(services["frontend.demo.svc.cluster.local"]["failureShare"], 0.01)
        edges = {(e["source"]["workload"], e["destination"]["workload"]): e for e in traffic["edges"]}
        to_v1, to_v2 = edges[("frontend-v1", "catalog-v1")], edges[("frontend-v1", "catalog-v2")]
        self.assertTrue(0.08 <= to_v2["requests"] / (to_v1["requests"] + to_v2["requests"]) <= 0.35, (to_v1, to_v2))
        self.assertEqual(to_v1["clientErrors"] + to_v2["clientErrors"], 0)
        scanned = [e for (src, _), e in edges.items() if src == "scanner"]
        self.assertTrue(scanned and all(e["clientErrors"] == e["requests"] for e in scanned), scanned)
        self.assertGreater(edges[("frontend-v1", "inventory-2")]["failures"], 0)
        self.assertGreaterEqual(to_v2["p50Ms"], 10)  # catalog-v2 answers 25 ms late, v1 5 ms
        self.assertLess(to_v1["p50Ms"], to_v2["p50Ms"])
        top = ctl("top", "--once", "-n", "demo")
        for service in ("frontend", "catalog", "inventory", "reviews"):
            self.assertIn(f"{service}.demo.svc.cluster.local", top)
        self.assertRegex(top, r"scanner\.demo +catalog-v[12]\.demo \(catalog\.demo\.svc\.cluster\.local\)")

        self.check_tap(ctl)
        self.check_dashboard(ctl, frontend)

        # Ctrl-C stops everything it started.
        pids = [self.state["straitd_pid"]] + [w[k] for w in self.state["workloads"] for k in ("sidecar_pid", "app_pid")]
        self.assertTrue(all(alive(p) for p in pids))
        self.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.proc.wait(timeout=30), 0, self.output())
        self.assertEqual([p for p in pids if alive(p)], [])
        self.assertEqual(processes_mentioning(self.dir), [])
        self.assertIn(f"stopped {len(pids)} processes", self.output())

    def check_tap(self, ctl):
        """straitctl tap: requests through frontend-v1's sidecar from now on, both directions."""
        tapped_at = time.time()
        lines = ctl("tap", "frontend-v1", "-n", "demo", "--count", "60", "--duration", "40s", "-o", "json",
                    timeout=90)
        events = [json.loads(line) for line in lines.splitlines()]
        self.assertEqual(len(events), 60, lines[-2000:])
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(set(seqs)))
        inbound = [e for e in events if e["direction"] == "inbound"]
        outbound = [e for e in events if e["direction"] == "outbound"]
        self.assertTrue(inbound and outbound, events[:3])
        # Inbound: loadgen's calls, over mTLS (its verified identity), all answered 200.
        self.assertEqual({e["peer"] for e in inbound}, {"spiffe://cluster.local/ns/demo/sa/loadgen"})
        self.assertEqual({e["status"] for e in inbound}, {200})
        # Outbound: frontend's calls to the three services it uses.
        called = {e["authority"].split(".")[0].split(":")[0] for e in outbound}
        self.assertTrue(called <= {"catalog", "inventory", "reviews"} and len(called) >= 2, called)
        self.assertTrue(any(e["grpcStatus"] == 0 for e in outbound), outbound[:3])
        self.assertTrue(all(e["durationMs"] > 0 and e["requestId"] for e in events))
        # Only requests from when the tap began (a second's slack for clocks and rounding).
        first = min(e["start"] for e in events)
        self.assertGreaterEqual(first, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(tapped_at - 1)))
        # The text form: a header, then a line per request.
        text = ctl("tap", "frontend-v1.demo", "--count", "3", "--duration", "30s", timeout=90).splitlines()
        self.assertTrue(text[0].startswith("TIME") and "STATUS" in text[0], text)
        self.assertEqual(len(text), 4, text)
        self.assertRegex(text[1], r"^\d\d:\d\d:\d\d\.\d{3}  (in |out)  ")

    def traffic_view(self, window):
        """straitd's traffic view: its edges by (source, destination) workload id, its services."""
        with open(self.state["token_file"]) as f:
            token = f.read().strip()
        request = urllib.request.Request(f'{self.state["api"]}/api/v1/traffic?window={window}')
        request.add_header("Authorization", "Bearer " + token)
        with urllib.request.urlopen(request, timeout=10) as answer:
            view = json.load(answer)
        edges = {(f'{e["source"]["workload"]}.{e["source"]["namespace"]}',
                  f'{e["destination"]["workload"]}.{e["destination"]["namespace"]}'): e for e in view["edges"]}
        return edges, {s["service"] for s in view["services"]}

    def check_dashboard(self, ctl, frontend_series):
        """The dashboard in headless Chromium, signed in with straitctl dashboard's one-time link:
        every workload and edge of the demo, numbers as straitd's API and the sidecars tell them."""
        # The page reads straitd's 5-minute view, which holds the whole run: every count in it only
        # grows until the demo is 5 minutes old. So each number the page shows lies between the
        # API's just before the page was read and just after.
        before, _ = self.traffic_view("5m")
        url = ctl("dashboard").strip()
        self.assertRegex(url, r"^http://127\.0\.0\.1:\d+/login\?code=[0-9a-f]{32}$")
        os.makedirs(ARTIFACTS, exist_ok=True)
        # The 5-minute window holds the whole run: an edge with few requests (inventory-2's,
        # ejected most of the time) stays in it between the page's read and the API's.
        r = subprocess.run(["node", CHECK_DASHBOARD, "--url", url, "--screenshots", ARTIFACTS, "--window", "5m"],
                           capture_output=True, text=True, timeout=180)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        after, after_services = self.traffic_view("5m")
        page = json.loads(r.stdout)
        self.assertEqual(page["consoleErrors"], [])
        # Every workload is a node, every edge of the topology is drawn.
        names = {f"{w}.demo" for w in self.workloads}
        self.assertEqual(set(page["nodes"]) & names, names, page["nodes"])
        edges = {(e["source"], e["destination"]): e for e in page["edges"]}
        for pair in [("loadgen", "frontend-v1"), ("frontend-v1", "catalog-v1"), ("frontend-v1", "catalog-v2"),
                     ("frontend-v1", "inventory-1"), ("frontend-v1", "inventory-2"),
                     ("frontend-v1", "reviews-v1")]:
            self.assertIn((f"{pair[0]}.demo", f"{pair[1]}.demo"), edges, sorted(edges))
        self.assertTrue(any(src == "scanner.demo" for src, _ in edges), sorted(edges))
        self.assertTrue(all(e["mtls"] for e in page["edges"]), page["edges"])
        self.assertEqual(set(page["proxies"]), names)
        self.assertGreater(page["traces"], 0)
        self.assertGreater(page["waterfallSpans"], 1)
        for shot in ("overview.png", "services.png", "proxies.png", "config.png", "traces.png"):
            self.assertGreater(os.path.getsize(os.path.join(ARTIFACTS, shot)), 10_000)

        # The same numbers as the API.
        self.assertTrue(set(before) <= set(edges) <= set(after), (sorted(before), sorted(edges), sorted(after)))
        for key, shown in edges.items():
            low = before[key]["rps"] if key in before else 0.0
            self.assertTrue(low <= shown["rps"] <= after[key]["rps"], (key, low, shown["rps"], after[key]["rps"]))
            self.assertEqual(shown["mtls"], after[key]["mtls"], key)
        self.assertEqual({s["service"] for s in page["services"]}, after_services)
        # And as the sidecars' Prometheus metrics tell it: frontend's catalog calls split 80/20.
        v1 = edges[("frontend-v1.demo", "catalog-v1.demo")]["rps"]
        v2 = edges[("frontend-v1.demo", "catalog-v2.demo")]["rps"]
        prom_v1 = total(frontend_series, reporter="source", destination_workload="catalog-v1")
        prom_v2 = total(frontend_series, reporter="source", destination_workload="catalog-v2")
        self.assertAlmostEqual(v2 / (v1 + v2), prom_v2 / (prom_v1 + prom_v2), delta=0.12)
        # inventory-2's failures (retried by frontend's sidecar) show on its edge, not on loadgen's.
        self.assertGreater(edges[("frontend-v1.demo", "inventory-2.demo")]["failureShare"], 0)
        self.assertLess(edges[("loadgen.demo", "frontend-v1.demo")]["failureShare"], 0.01)

    def test_2_a_taken_port_is_refused_before_anything_starts(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            r = subprocess.run([CTL_BIN, "demo", "--api-port", str(port), "--grpc-port", "0"],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"127.0.0.1:{port} is in use", r.stderr)
        self.assertIn("stopped 0 processes; removed /tmp/strait-demo-", r.stdout)
        removed = r.stdout.rsplit("removed ", 1)[1].strip()
        self.assertFalse(os.path.exists(removed))


if __name__ == "__main__":
    unittest.main()
