"""Bad input and security at the sidecar boundary: malformed and smuggling requests, limits and
timeouts, clients without a mesh certificate, old TLS versions."""

import os
import socket
import ssl
import subprocess
import time
import unittest

from harness import MeshTestCase, Pki, curl, raw_exchange, spiffe


class Hardening(MeshTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.start_http_app("reviews")
        server = cls.workload_bootstrap(
            "reviews-v1", "default", "reviews",
            inbound=[{"name": "reviews", "port": 9080, "targetPort": cls.app.port}],
            limits={"headerReadTimeout": "1s", "maxRequestLine": 1024, "maxHeadSize": 4096})
        cls.server = cls.start_proxy("reviews-v1", server)
        cls.inbound = server["listeners"]["inbound"]
        cls.inbound_port = int(cls.inbound.rsplit(":", 1)[1])
        client = cls.workload_bootstrap(
            "productpage-v1", "default", "productpage",
            services=[{"name": "reviews", "ports": [{"port": 9080}],
                       "endpoints": [{"address": cls.inbound,
                                      "identity": spiffe("default", "reviews")}]}],
            limits={"headerReadTimeout": "1s", "maxRequestLine": 1024, "maxHeadSize": 4096})
        cls.client = cls.start_proxy("productpage-v1", client)
        cls.port = int(client["listeners"]["outbound"].rsplit(":", 1)[1])

    def refused(self, request, status, reason=None):
        r = raw_exchange(self.port, request)
        self.assertTrue(r.startswith(b"HTTP/1.1 %d" % status), r[:300])
        self.assertIn(b"connection: close", r)
        if reason:
            self.assertIn(b"x-strait-reason: " + reason, r)
        return r

    # One test per request-smuggling shape (RFC 9112 6.1, 6.3, 5.2); the parser's unit tests cover
    # each in more depth, these prove the proxy refuses them before anything reaches an app.
    def test_content_length_with_transfer_encoding(self):
        before = self.app.requests
        self.refused(b"POST http://reviews:9080/ HTTP/1.1\r\nHost: reviews:9080\r\nContent-Length: 4\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
                     b"content_length_with_transfer_encoding")
        self.assertEqual(self.app.requests, before)

    def test_differing_content_lengths(self):
        self.refused(b"POST / HTTP/1.1\r\nHost: reviews:9080\r\nContent-Length: 4\r\n"
                     b"Content-Length: 5\r\n\r\nabcde", 400, b"bad_content_length")

    def test_transfer_encoding_not_ending_in_chunked(self):
        self.refused(b"POST / HTTP/1.1\r\nHost: reviews:9080\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
                     400)

    def test_unknown_transfer_coding(self):
        self.refused(b"POST / HTTP/1.1\r\nHost: reviews:9080\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501)

    def test_obs_fold(self):
        self.refused(b"GET / HTTP/1.1\r\nHost: reviews:9080\r\nX-A: 1\r\n  folded\r\n\r\n", 400, b"obs_fold")

    def test_cr_lf_nul_in_names_and_values(self):
        for shape in (b"X-A: a\rb\r\n", b"X-A: a\x00b\r\n", b"X\x00A: 1\r\n", b"X-A: 1\n"):
            self.refused(b"GET / HTTP/1.1\r\nHost: reviews:9080\r\n" + shape + b"\r\n", 400)

    def test_space_before_colon(self):
        self.refused(b"GET / HTTP/1.1\r\nHost: reviews:9080\r\nX-A : 1\r\n\r\n", 400)

    def test_invalid_chunk_size(self):
        r = raw_exchange(self.port, b"POST http://reviews:9080/sink HTTP/1.1\r\nHost: reviews:9080\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 400"), r[:200])
        self.assertIn(b"invalid_chunked_body", r)

    def test_missing_host(self):
        self.refused(b"GET / HTTP/1.1\r\n\r\n", 400, b"missing_host")

    def test_unsupported_version(self):
        self.refused(b"GET / HTTP/1.2\r\nHost: reviews:9080\r\n\r\n", 505)

    def test_long_request_line_and_large_head(self):
        self.refused(b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: reviews\r\n\r\n", 414)
        self.refused(b"GET / HTTP/1.1\r\nHost: reviews\r\n" + b"X-Big: " + b"b" * 5000 + b"\r\n\r\n", 431)

    def test_clients_that_connect_and_leave_are_closed_at_once(self):
        # TCP health probes connect and close without a byte; their sockets must not linger.
        key = 'strait_downstream_connections_active{listener="outbound"}'
        before = self.client.stats()[key]
        for delay in (0, 0.01, 0.02):
            for _ in range(3):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                time.sleep(delay)
                s.close()
        deadline = time.time() + 3
        while self.client.stats()[key] > before and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.client.stats()[key], before)

    def test_http2_rapid_reset_is_cut_off_with_goaway(self):
        # CVE-2023-44487: open and reset streams as fast as possible on one h2c connection.
        def frame(kind, flags, stream, payload=b""):
            return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload

        def literal(name, value):  # HPACK literal field without indexing, new name, no Huffman
            return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value

        block = (literal(b":method", b"GET") + literal(b":scheme", b"http") +
                 literal(b":path", b"/") + literal(b":authority", b"reviews:9080"))
        burst = b"".join(frame(1, 0x5, sid, block) + frame(3, 0, sid, (8).to_bytes(4, "big"))
                         for sid in range(1, 2 * 3000, 2))
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0))
            try:
                s.sendall(burst)
            except OSError:
                pass  # the proxy may close before the whole burst is written
            received = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    received += chunk
            except (socket.timeout, ConnectionResetError):
                pass
        kinds = []
        goaway_error = None
        offset = 0
        while offset + 9 <= len(received):
            length = int.from_bytes(received[offset:offset + 3], "big")
            kinds.append(received[offset + 3])
            if received[offset + 3] == 7:
                goaway_error = int.from_bytes(received[offset + 13:offset + 17], "big")
            offset += 9 + length
        self.assertIn(7, kinds, "no GOAWAY after 3000 rapid resets")
        self.assertEqual(goaway_error, 2)  # nghttp2's reset rate limit answers INTERNAL_ERROR
        # The proxy is still healthy.
        r = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: reviews:9080",
                 "--http2-prior-knowledge", f"http://127.0.0.1:{self.port}/after-flood")
        self.assertEqual(r.stdout, "200")

    def test_slow_header_gets_408(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: rev")
            start = time.monotonic()
            data = s.recv(4096)
            self.assertTrue(data.startswith(b"HTTP/1.1 408"), data)
            self.assertLess(time.monotonic() - start, 4)

    def test_client_without_certificate_is_refused_and_counted(self):
        before = self.server.stats()['strait_tls_handshake_failures_total{listener="inbound"}']
        ctx = ssl.create_default_context(cafile=self.pki.ca_cert)
        ctx.check_hostname = False
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            with socket.create_connection(("127.0.0.1", self.inbound_port), timeout=5) as s:
                with ctx.wrap_socket(s) as t:
                    t.sendall(b"GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
                    if not t.recv(100):
                        raise ConnectionError("closed")
        after = self.server.stats()['strait_tls_handshake_failures_total{listener="inbound"}']
        self.assertGreater(after, before)

    def test_client_from_another_ca_is_refused(self):
        other = Pki(os.path.join(self.workdir, "other"), name="other")
        cert, key = other.issue("intruder", spiffe("default", "productpage"))
        r = curl("-k", "--cert", cert, "--key", key, f"https://{self.inbound}/", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_client_of_another_trust_domain_is_refused(self):
        cert, key = self.pki.issue("foreign", "spiffe://other.example/ns/default/sa/productpage")
        r = curl("-k", "--cert", cert, "--key", key, f"https://{self.inbound}/", check=False)
        self.assertNotIn("HTTP", r.stdout)
        self.assertNotEqual(r.returncode, 0)

    def test_connect_to_an_undeclared_port_is_refused(self):
        r = raw_exchange(self.port, b"CONNECT reviews:22 HTTP/1.1\r\nHost: reviews:22\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 404"), r[:200])
        self.assertIn(b"has no port 22", r)

    def test_router_refusals_name_the_reason_in_the_header(self):
        r = raw_exchange(self.port, b"GET / HTTP/1.1\r\nHost: \r\n\r\n")
        self.assertIn(b"x-strait-reason: malformed_request\r\n", r)

    def test_mesh_certificate_is_accepted_and_identity_forwarded(self):
        cert, key = self.pki.issue("tester", spiffe("qa", "tester"))
        r = curl("-k", "--cert", cert, "--key", key, "--tlsv1.3", f"https://{self.inbound}/who")
        self.assertIn(spiffe("qa", "tester"), r.stdout)

    def test_tls12_is_refused_on_the_mtls_port(self):
        cert, key = self.pki.issue("old", spiffe("default", "old"))
        r = curl("-k", "--cert", cert, "--key", key, "--tlsv1.2", "--tls-max", "1.2",
                 f"https://{self.inbound}/", check=False)
        self.assertNotEqual(r.returncode, 0)
        r = subprocess.run(["openssl", "s_client", "-connect", self.inbound, "-tls1_2",
                            "-cert", cert, "-key", key], input="", capture_output=True, text=True,
                           timeout=10)
        self.assertIn("Cipher is (NONE)", r.stdout)

    def test_plaintext_on_the_mtls_port_is_refused(self):
        r = raw_exchange(self.inbound_port, b"GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
        self.assertNotIn(b"HTTP/1.1 200", r)


if __name__ == "__main__":
    unittest.main()
