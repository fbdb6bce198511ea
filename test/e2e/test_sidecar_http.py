"""Two sidecars from bootstrap files and real apps behind them: HTTP/1.1 through the mesh."""

import json
import os
import socket
import subprocess
import threading
import time
import unittest

from harness import (MeshTestCase, TcpEchoApp, curl, free_port, raw_exchange, spiffe, ws_frame,
                     ws_read_frame)


class SidecarPair(MeshTestCase):
    """client app -> sidecar A (productpage) -> mTLS -> sidecar B (reviews) -> reviews app."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.start_http_app("reviews")
        cls.tcp_app = TcpEchoApp()
        cls._cleanups.append(cls.tcp_app.stop)
        server = cls.workload_bootstrap(
            "reviews-v1", "default", "reviews",
            inbound=[{"name": "reviews", "port": 9080, "protocol": "http", "targetPort": cls.app.port},
                     {"name": "echo", "port": 9000, "protocol": "tcp", "targetPort": cls.tcp_app.port}],
            limits={"headerReadTimeout": "1s"})
        cls.server = cls.start_proxy("reviews-v1", server)
        inbound = server["listeners"]["inbound"]
        dead_port = free_port()
        reviews_id = spiffe("default", "reviews")
        cls.echo_port = free_port()
        client = cls.workload_bootstrap(
            "productpage-v1", "default", "productpage",
            services=[
                {"name": "reviews", "ports": [{"port": 9080, "protocol": "http"}],
                 "endpoints": [{"address": inbound, "identity": reviews_id}]},
                {"name": "echo", "ports": [{"port": 9000, "protocol": "tcp"}],
                 "endpoints": [{"address": inbound, "identity": reviews_id}]},
                # Served by the reviews sidecar, but only "ratings" may serve it: must be refused.
                {"name": "impostor", "ports": [{"port": 9080, "protocol": "http"}],
                 "endpoints": [{"address": inbound, "identity": spiffe("default", "ratings")}]},
                {"name": "dead", "ports": [{"port": 9080, "protocol": "http"}],
                 "endpoints": [{"address": f"127.0.0.1:{dead_port}", "identity": reviews_id}]},
            ],
            upstreams=[{"listen": f"127.0.0.1:{cls.echo_port}", "service": "echo:9000"}],
            limits={"headerReadTimeout": "1s"})
        cls.client = cls.start_proxy("productpage-v1", client)
        cls.outbound = client["listeners"]["outbound"]
        cls.outbound_port = int(cls.outbound.rsplit(":", 1)[1])
        cls.proxy_env = {"http_proxy": f"http://{cls.outbound}"}

    def get_json(self, url, *args):
        r = curl(*args, url, env=self.proxy_env)
        return json.loads(r.stdout)

    def test_get_through_http_proxy_reaches_the_app_with_mesh_headers(self):
        body = self.get_json("http://reviews:9080/hello?x=1")
        self.assertEqual(body["app"], "reviews")
        self.assertEqual(body["path"], "/hello?x=1")
        headers = body["headers"]
        self.assertEqual(headers["host"], "reviews:9080")
        self.assertIn(f"URI={spiffe('default', 'productpage')}", headers["x-forwarded-client-cert"])
        self.assertIn(f"By={spiffe('default', 'reviews')}", headers["x-forwarded-client-cert"])
        self.assertRegex(headers["x-request-id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-")
        self.assertEqual(headers["x-forwarded-proto"], "http")
        self.assertNotIn("proxy-connection", headers)

    def test_fqdn_and_namespace_forms_resolve_to_the_same_service(self):
        for host in ("reviews.default", "reviews.default.svc.cluster.local", "REVIEWS"):
            self.assertEqual(self.get_json(f"http://{host}:9080/")["app"], "reviews", host)

    def test_request_id_is_kept_and_forged_client_cert_is_replaced(self):
        body = self.get_json("http://reviews:9080/", "-H", "x-request-id: abc-123",
                             "-H", "x-forwarded-client-cert: URI=spiffe://evil/ns/x/sa/y")
        self.assertEqual(body["headers"]["x-request-id"], "abc-123")
        self.assertNotIn("evil", body["headers"]["x-forwarded-client-cert"])

    def test_origin_form_with_host_header(self):
        r = raw_exchange(self.outbound_port,
                         b"GET /origin HTTP/1.1\r\nHost: reviews:9080\r\nConnection: close\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 200"), r[:200])
        self.assertIn(b'"path": "/origin"', r)

    def test_post_content_length_and_chunked_bodies(self):
        body = self.get_json("http://reviews:9080/sink", "--data-binary", "x" * 100000)
        self.assertEqual(body["received"], 100000)
        body = self.get_json("http://reviews:9080/sink", "-H", "Transfer-Encoding: chunked",
                             "--data-binary", "y" * 70000)
        self.assertEqual(body["received"], 70000)

    def test_expect_100_continue(self):
        path = os.path.join(self.workdir, "expect.bin")
        with open(path, "wb") as f:
            f.write(b"z" * 300000)
        # curl would give up waiting for 100 after 30 s and send anyway: the proxy must answer first.
        start = time.monotonic()
        body = self.get_json("http://reviews:9080/sink", "-H", "Expect: 100-continue",
                             "--expect100-timeout", "30", "--data-binary", "@" + path)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(body["received"], 300000)

    def test_chunked_response_with_trailers_is_forwarded_verbatim(self):
        r = raw_exchange(self.outbound_port, b"GET http://reviews:9080/chunked HTTP/1.1\r\n"
                         b"Host: reviews:9080\r\nTE: trailers\r\nConnection: close\r\n\r\n")
        self.assertIn(b"transfer-encoding: chunked", r.lower())
        self.assertIn(b"x-checksum: abc123", r)
        self.assertIn(b"hello ", r)

    def test_http10_client_gets_a_dechunked_body(self):
        r = raw_exchange(self.outbound_port, b"GET http://reviews:9080/chunked HTTP/1.0\r\n\r\n")
        head, _, body = r.partition(b"\r\n\r\n")
        self.assertNotIn(b"chunked", head.lower())
        self.assertEqual(body, b"hello chunked world")

    def test_keep_alive_reuses_the_downstream_connection(self):
        r = curl("-v", "http://reviews:9080/a", "http://reviews:9080/b", env=self.proxy_env)
        self.assertIn("Re-using existing connection", r.stderr)
        self.assertEqual(r.stdout.count('"app": "reviews"'), 2)

    def test_pipelined_requests_are_answered_in_order(self):
        req = b"".join(b"GET http://reviews:9080/p%d HTTP/1.1\r\nHost: reviews:9080\r\n\r\n" % i
                       for i in range(3))
        req = req[:-2] + b"Connection: close\r\n\r\n"
        r = raw_exchange(self.outbound_port, req)
        self.assertEqual(r.count(b"HTTP/1.1 200"), 3)
        self.assertLess(r.index(b"/p0"), r.index(b"/p1"))
        self.assertLess(r.index(b"/p1"), r.index(b"/p2"))

    def test_upstream_status_codes_pass_through(self):
        r = curl("-o", "/dev/null", "-w", "%{http_code}", "http://reviews:9080/status?code=418",
                 env=self.proxy_env)
        self.assertEqual(r.stdout, "418")

    def test_unknown_host_says_why(self):
        r = curl("-i", "http://nosuch:9080/", env=self.proxy_env)
        self.assertIn("HTTP/1.1 404", r.stdout)
        self.assertIn("x-strait-reason: no_route", r.stdout)

    def test_dead_endpoint_says_why(self):
        r = curl("-i", "http://dead:9080/", env=self.proxy_env)
        self.assertIn("HTTP/1.1 503", r.stdout)
        self.assertIn("x-strait-reason: upstream_connect_failed", r.stdout)

    def test_server_with_the_wrong_identity_is_refused(self):
        before = self.client.stats()["strait_upstream_identity_mismatches_total"]
        r = curl("-i", "http://impostor:9080/", env=self.proxy_env)
        self.assertIn("HTTP/1.1 503", r.stdout)
        self.assertIn("x-strait-reason: upstream_identity_mismatch", r.stdout)
        self.assertGreater(self.client.stats()["strait_upstream_identity_mismatches_total"], before)

    def test_connect_tunnel_to_a_tcp_service(self):
        with socket.create_connection(("127.0.0.1", self.outbound_port), timeout=5) as s:
            s.sendall(b"CONNECT echo:9000 HTTP/1.1\r\nHost: echo:9000\r\n\r\n")
            head = s.recv(4096)
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            s.sendall(b"ping through connect")
            self.assertEqual(s.recv(4096), b"ping through connect")

    def test_connect_tunnel_carrying_http(self):
        r = curl("-p", "http://reviews:9080/tunnelled", env=self.proxy_env)
        self.assertEqual(json.loads(r.stdout)["path"], "/tunnelled")

    def test_tcp_through_an_upstream_binding_with_half_close(self):
        with socket.create_connection(("127.0.0.1", self.echo_port), timeout=5) as s:
            s.sendall(b"hello tcp")
            self.assertEqual(s.recv(4096), b"hello tcp")
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
            self.assertEqual(data, b"bye")

    def test_websocket_echo(self):
        with socket.create_connection(("127.0.0.1", self.outbound_port), timeout=5) as s:
            s.sendall(b"GET http://reviews:9080/ws HTTP/1.1\r\nHost: reviews:9080\r\n"
                      b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            f = s.makefile("rb")
            status = f.readline()
            self.assertIn(b"101", status)
            headers = b""
            while True:
                line = f.readline()
                if line == b"\r\n":
                    break
                headers += line
            self.assertIn(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", headers)
            for message in (b"hello websocket", b"x" * 70000):
                s.sendall(ws_frame(1, message))
                self.assertEqual(ws_read_frame(f), (1, message))
            s.sendall(ws_frame(8, b""))
            self.assertEqual(ws_read_frame(f)[0], 8)

    def test_h2c_prior_knowledge_is_carried_over_h2_and_translated_for_an_http1_app(self):
        r = curl("--http2-prior-knowledge", "-i", "-H", "Host: reviews:9080",
                 f"http://{self.outbound}/over-h2?q=1")
        self.assertTrue(r.stdout.startswith("HTTP/2 200"), r.stdout[:200])
        body = json.loads(r.stdout.split("\n\n", 1)[1])
        self.assertEqual(body["path"], "/over-h2?q=1")
        self.assertEqual(body["headers"]["host"], "reviews:9080")
        self.assertIn(f"URI={spiffe('default', 'productpage')}", body["headers"]["x-forwarded-client-cert"])
        path = os.path.join(self.workdir, "h2body.bin")
        with open(path, "wb") as f:
            f.write(b"q" * 500000)
        r = curl("--http2-prior-knowledge", "-H", "Host: reviews:9080", "--data-binary", "@" + path,
                 "-H", "Expect: 100-continue", "--expect100-timeout", "30", f"http://{self.outbound}/sink")
        self.assertEqual(json.loads(r.stdout)["received"], 500000)
        r = curl("--http2-prior-knowledge", "-H", "Host: reviews:9080", "-o", "/dev/null",
                 "-w", "%{size_download}", f"http://{self.outbound}/chunked")
        self.assertEqual(r.stdout, str(len("hello chunked world")))
        # The app's chunked trailers reach the HTTP/2 caller as HTTP/2 trailers (curl prints them
        # after the body).
        r = curl("--http2-prior-knowledge", "-i", "-H", "Host: reviews:9080", f"http://{self.outbound}/chunked")
        self.assertIn("hello chunked worldx-checksum: abc123", r.stdout)

    def test_h2c_errors_say_why(self):
        r = curl("--http2-prior-knowledge", "-i", "-H", "Host: nosuch:9080", f"http://{self.outbound}/")
        self.assertTrue(r.stdout.startswith("HTTP/2 404"), r.stdout[:200])
        self.assertIn("x-strait-reason: no_route", r.stdout)
        r = curl("--http2-prior-knowledge", "-i", "-H", "Host: dead:9080", f"http://{self.outbound}/")
        self.assertTrue(r.stdout.startswith("HTTP/2 503"), r.stdout[:200])
        self.assertIn("x-strait-reason: upstream_connect_failed", r.stdout)

    def test_admin_endpoints(self):
        status, text = self.client.get("/ready")
        self.assertEqual((status, text.strip()), (200, "LIVE"))
        dump = self.client.config_dump()
        self.assertEqual(dump["workload"]["spiffe_id"], spiffe("default", "productpage"))
        self.assertEqual(dump["certificate"]["spiffe_id"], spiffe("default", "productpage"))
        self.assertIn("reviews.default.svc.cluster.local", [s["host"] for s in dump["services"]])
        self.assertTrue(dump["listeners"]["admin"].startswith("127.0.0.1:"))
        self.get_json("http://reviews:9080/counted")
        stats = self.client.stats()
        self.assertGreater(stats['strait_downstream_requests_total{listener="outbound"}'], 0)
        self.assertGreater(self.server.stats()['strait_downstream_requests_total{listener="inbound"}'], 0)


if __name__ == "__main__":
    unittest.main()
