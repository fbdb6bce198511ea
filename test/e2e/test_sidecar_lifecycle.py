"""The proxy over time: large streamed bodies with flat memory, certificate rotation without
dropping connections, load with h2load, graceful drain on SIGTERM, and refused bootstrap files."""

import http.client
import json
import os
import shutil
import subprocess
import threading
import time
import unittest

from harness import PROXY_BIN, MeshTestCase, curl, free_port, proxy_is_sanitized, spiffe

GIB = 1 << 30


class Lifecycle(MeshTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.start_http_app("reviews")
        cls.server_bootstrap = cls.workload_bootstrap(
            "reviews-v1", "default", "reviews",
            inbound=[{"name": "reviews", "port": 9080, "targetPort": cls.app.port}])
        cls.server = cls.start_proxy("reviews-v1", cls.server_bootstrap)
        inbound = cls.server_bootstrap["listeners"]["inbound"]
        cls.binding_port = free_port()
        cls.client_bootstrap = cls.workload_bootstrap(
            "productpage-v1", "default", "productpage",
            services=[{"name": "reviews", "ports": [{"port": 9080}],
                       "endpoints": [{"address": inbound, "identity": spiffe("default", "reviews")}]}],
            upstreams=[{"listen": f"127.0.0.1:{cls.binding_port}", "service": "reviews:9080"}])
        cls.client = cls.start_proxy("productpage-v1", cls.client_bootstrap)
        cls.env = {"http_proxy": f"http://{cls.client_bootstrap['listeners']['outbound']}"}

    @unittest.skipIf(proxy_is_sanitized(), "RSS is not meaningful under AddressSanitizer")
    def test_1gib_upload_and_download_keep_memory_flat(self):
        proxies = (self.client, self.server)
        baseline = [p.rss_kib() for p in proxies]
        upload = subprocess.Popen(
            "head -c %d /dev/zero | curl -sS --noproxy '' -x %s -T - http://reviews:9080/sink"
            % (GIB, self.env["http_proxy"]), shell=True, stdout=subprocess.PIPE, text=True)
        peaks = list(baseline)
        while upload.poll() is None:
            peaks = [max(a, p.rss_kib()) for a, p in zip(peaks, proxies)]
            time.sleep(0.05)
        self.assertEqual(json.loads(upload.stdout.read())["received"], GIB)
        r = curl("-o", "/dev/null", "-w", "%{size_download}", f"http://reviews:9080/bytes?n={GIB}",
                 env=self.env, timeout=300)
        self.assertEqual(int(r.stdout), GIB)
        peaks = [max(a, p.rss_kib()) for a, p in zip(peaks, proxies)]
        for before, peak, p in zip(baseline, peaks, proxies):
            # A buffered gigabyte would show as ~1 GB; streaming holds a few buffers.
            self.assertLess(peak - before, 16 * 1024, f"{p.name}: RSS grew from {before} to {peak} KiB")

    @unittest.skipIf(proxy_is_sanitized(), "RSS is not meaningful under AddressSanitizer")
    def test_h2c_512mib_upload_and_download_keep_memory_flat(self):
        # HTTP/2 end to end from the caller's side: flow control must hold each proxy's memory.
        proxies = (self.client, self.server)
        baseline = [p.rss_kib() for p in proxies]
        size = 512 << 20
        upload = subprocess.Popen(
            "head -c %d /dev/zero | curl -sS --http2-prior-knowledge -T - http://127.0.0.1:%d/sink"
            % (size, self.binding_port), shell=True, stdout=subprocess.PIPE, text=True)
        peaks = list(baseline)
        while upload.poll() is None:
            peaks = [max(a, p.rss_kib()) for a, p in zip(peaks, proxies)]
            time.sleep(0.05)
        self.assertEqual(json.loads(upload.stdout.read())["received"], size)
        r = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{size_download}",
                 f"http://127.0.0.1:{self.binding_port}/bytes?n={size}", timeout=300)
        self.assertEqual(int(r.stdout), size)
        peaks = [max(a, p.rss_kib()) for a, p in zip(peaks, proxies)]
        for before, peak, p in zip(baseline, peaks, proxies):
            self.assertLess(peak - before, 16 * 1024, f"{p.name}: RSS grew from {before} to {peak} KiB")

    def test_h2load_http1_through_both_sidecars_without_errors(self):
        r = subprocess.run(["h2load", "--h1", "-n", "5000", "-c", "16", "-m", "1",
                            f"http://127.0.0.1:{self.binding_port}/load"],
                           capture_output=True, text=True, timeout=120)
        self.assertIn("5000 succeeded, 0 failed, 0 errored", r.stdout, r.stdout)
        self.assertIn("status codes: 5000 2xx", r.stdout, r.stdout)

    def test_h2load_h2c_multiplexed_through_both_sidecars_without_errors(self):
        r = subprocess.run(["h2load", "-n", "5000", "-c", "4", "-m", "16",
                            f"http://127.0.0.1:{self.binding_port}/load"],
                           capture_output=True, text=True, timeout=120)
        self.assertIn("Application protocol: h2c", r.stdout, r.stdout)
        self.assertIn("5000 succeeded, 0 failed, 0 errored", r.stdout, r.stdout)

    def test_certificate_rotation_keeps_connections_and_serves_the_new_certificate(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.binding_port, timeout=10)
        conn.request("GET", "/before")
        self.assertEqual(conn.getresponse().read() and 200, 200)
        old_serial = self.server.config_dump()["certificate"]["serial"]
        cert, key = self.pki.issue("reviews-rotated", spiffe("default", "reviews"))
        tls = self.server_bootstrap["tls"]
        # Replace key first then chain, as a cert manager would (each file atomically).
        for src, dst in ((key, tls["privateKey"]), (cert, tls["certificateChain"])):
            shutil.copy(src, dst + ".new")
            os.replace(dst + ".new", dst)
        deadline = time.time() + 10
        while self.server.config_dump()["certificate"]["serial"] == old_serial:
            self.assertLess(time.time(), deadline, "certificate was not reloaded")
            time.sleep(0.2)
        # The pooled mTLS connection made with the old certificate still serves ...
        conn.request("GET", "/after")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        resp.read()
        # ... and a new handshake presents the new certificate.
        out = subprocess.run(["openssl", "s_client", "-connect", self.server_bootstrap["listeners"]["inbound"],
                              "-cert", cert, "-key", key, "-CAfile", self.pki.ca_cert],
                             input="", capture_output=True, text=True, timeout=10).stdout
        new_serial = self.server.config_dump()["certificate"]["serial"]
        self.assertNotEqual(new_serial, old_serial)
        self.assertIn("Verification: OK", out)
        conn.close()

    def test_sigterm_drains_in_flight_requests_then_exits_zero(self):
        b = dict(self.client_bootstrap)
        b["listeners"] = {k: f"127.0.0.1:{free_port()}" for k in ("outbound", "inbound", "admin")}
        b.pop("upstreams")
        proxy = self.start_proxy("drainer", b)
        result = {}

        def slow_request():
            result["r"] = curl("-o", "/dev/null", "-w", "%{http_code}", "http://reviews:9080/slow?ms=1500",
                               env={"http_proxy": f"http://{b['listeners']['outbound']}"}, check=False)

        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.5)
        proxy.proc.send_signal(15)
        time.sleep(0.2)
        # Draining: not ready, no new connections.
        r = curl("-o", "/dev/null", "-w", "%{http_code}", "http://reviews:9080/",
                 env={"http_proxy": f"http://{b['listeners']['outbound']}"}, check=False)
        self.assertNotEqual(r.stdout, "200")
        t.join(10)
        self.assertEqual(result["r"].stdout, "200")
        self.assertEqual(proxy.proc.wait(10), 0)

    def test_invalid_bootstrap_is_refused_with_the_field_path(self):
        path = os.path.join(self.workdir, "bad.yaml")
        cases = {
            "workload: {name: x}\nlistners: {}\n": "listners: unknown field",
            "workload: {name: x}\nservices:\n  - name: a\n    ports: [{port: 70000}]\n":
                "services[0].ports[0].port",
            "workload: {name: x}\nlimits: {idleTimeout: 5 parsecs}\n": "limits.idleTimeout",
            "workload: {name: x\n": "invalid YAML at line",
            "workload: {name: x}\nservices:\n  - name: a\n    ports: [{port: 80}]\n"
            "    endpoints: [{address: 127.0.0.1:1}]\n": "services[0].endpoints[0].identity",
            "workload: {name: x}\ntls: {certificateChain: a, privateKey: b, trustBundle: c}\n"
            "services:\n  - {name: a, ports: [{port: 80}]}\n  - {name: a, ports: [{port: 81}]}\n":
                "service a.default.svc.cluster.local is listed twice",
        }
        for text, expected in cases.items():
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([PROXY_BIN, "--bootstrap", path], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(expected, r.stderr, text)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_certificate_of_another_identity_is_refused_at_start(self):
        from harness import to_yaml
        cert, key = self.pki.issue("wrong-id", spiffe("default", "someone-else"))
        b = dict(self.client_bootstrap, tls=dict(self.client_bootstrap["tls"], certificateChain=cert, privateKey=key))
        path = os.path.join(self.workdir, "wrongid.yaml")
        with open(path, "w") as f:
            f.write(to_yaml(b))
        r = subprocess.run([PROXY_BIN, "--bootstrap", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not this workload's identity", r.stderr)

    def test_binding_presents_the_service_as_host(self):
        r = curl(f"http://127.0.0.1:{self.binding_port}/host")
        self.assertEqual(json.loads(r.stdout)["headers"]["host"], "reviews:9080")
        r = curl("--http2-prior-knowledge", f"http://127.0.0.1:{self.binding_port}/host")
        self.assertEqual(json.loads(r.stdout)["headers"]["host"], "reviews:9080")

    def test_unreadable_certificate_is_refused_at_start(self):
        b = dict(self.client_bootstrap)
        b["tls"] = dict(b["tls"], certificateChain="/nonexistent.crt")
        path = os.path.join(self.workdir, "nocert.yaml")
        from harness import to_yaml
        with open(path, "w") as f:
            f.write(to_yaml(b))
        r = subprocess.run([PROXY_BIN, "--bootstrap", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read /nonexistent.crt", r.stderr)


if __name__ == "__main__":
    unittest.main()
