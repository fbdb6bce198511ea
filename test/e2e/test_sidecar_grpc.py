"""A real gRPC client and server (grpcio) through two sidecars: unary, server, client and
bidirectional streaming, and status codes with their details (carried in HTTP/2 trailers).

The service is declared with protocol grpc and reached through an --upstream binding: the client
sidecar terminates h2c, routes each call as an HTTP/2 stream to the server sidecar over mTLS (ALPN
h2), which forwards it to the app over h2c; trailers and grpc-status cross both hops."""

import os
import unittest
from concurrent import futures

from harness import MeshTestCase, free_port, raw_exchange, spiffe

try:
    import grpc
except ImportError:  # pragma: no cover - install-deps.sh installs python3-grpcio
    grpc = None

SERVICE = "strait.test.Echo"


def identity(x):
    return x


class EchoServicer:
    def unary(self, request, context):
        return b"echo:" + request

    def fail(self, request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing: " + request.decode())

    def server_stream(self, request, context):
        for i in range(int(request)):
            yield b"item-%d" % i

    def client_stream(self, request_iterator, context):
        return b"+".join(request_iterator)

    def bidi(self, request_iterator, context):
        for message in request_iterator:
            yield message.upper()


def start_grpc_server(port):
    servicer = EchoServicer()
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(servicer.unary, identity, identity),
        "Fail": grpc.unary_unary_rpc_method_handler(servicer.fail, identity, identity),
        "ServerStream": grpc.unary_stream_rpc_method_handler(servicer.server_stream, identity, identity),
        "ClientStream": grpc.stream_unary_rpc_method_handler(servicer.client_stream, identity, identity),
        "Bidi": grpc.stream_stream_rpc_method_handler(servicer.bidi, identity, identity),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


@unittest.skipIf(grpc is None, "python3-grpcio is not installed")
class GrpcThroughTheMesh(MeshTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        app_port = free_port()
        cls.grpc_server = start_grpc_server(app_port)
        cls._cleanups.append(lambda: cls.grpc_server.stop(0))
        server = cls.workload_bootstrap(
            "echo-v1", "default", "echo",
            inbound=[{"name": "echo", "port": 50051, "protocol": "grpc", "targetPort": app_port}])
        cls.server = cls.start_proxy("echo-v1", server)
        cls.binding = free_port()
        client = cls.workload_bootstrap(
            "caller", "default", "caller",
            services=[{"name": "echo", "ports": [{"port": 50051, "protocol": "grpc"}],
                       "endpoints": [{"address": server["listeners"]["inbound"],
                                      "identity": spiffe("default", "echo")}]},
                      # The same app reached directly, as a workload without a sidecar.
                      {"name": "echo-direct", "ports": [{"port": 50051, "protocol": "grpc"}],
                       "endpoints": [{"address": f"127.0.0.1:{app_port}", "mtls": False}]}],
            upstreams=[{"listen": f"127.0.0.1:{cls.binding}", "service": "echo:50051"}])
        cls.client = cls.start_proxy("caller", client)
        cls.outbound_port = int(client["listeners"]["outbound"].rsplit(":", 1)[1])
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.binding}")
        cls._cleanups.append(cls.channel.close)

    def method(self, kind, name):
        return getattr(self.channel, kind)(f"/{SERVICE}/{name}", request_serializer=identity,
                                           response_deserializer=identity)

    def test_unary(self):
        key = 'strait_upstream_requests_total'
        before = self.client.stats()[key], self.server.stats()[key]
        self.assertEqual(self.method("unary_unary", "Unary")(b"hi", timeout=10), b"echo:hi")
        after = self.client.stats()[key], self.server.stats()[key]
        # Each call is a request on both sidecars (L7), not an opaque tunnel.
        self.assertEqual((after[0] - before[0], after[1] - before[1]), (1, 1))

    def test_status_and_details_reach_the_caller(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.method("unary_unary", "Fail")(b"widget", timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(caught.exception.details(), "no such thing: widget")

    def test_server_streaming(self):
        items = list(self.method("unary_stream", "ServerStream")(b"50", timeout=10))
        self.assertEqual(items, [b"item-%d" % i for i in range(50)])

    def test_client_streaming(self):
        reply = self.method("stream_unary", "ClientStream")(iter([b"a", b"b", b"c"]), timeout=10)
        self.assertEqual(reply, b"a+b+c")

    def test_bidirectional_streaming(self):
        replies = list(self.method("stream_stream", "Bidi")(iter([b"x", b"yy", b"zzz"] * 20), timeout=10))
        self.assertEqual(replies, [b"X", b"YY", b"ZZZ"] * 20)

    def test_http1_caller_of_an_h2c_only_app_is_translated(self):
        # gRPC's wire format sent by hand over HTTP/1.1: the sidecar next to the app (or, for an
        # endpoint without a sidecar, the caller's) must speak h2c to it and turn the response's
        # HTTP/2 trailers into chunked trailers.
        message = b"over-http1"
        frame = b"\x00" + len(message).to_bytes(4, "big") + message
        for host in (b"echo", b"echo-direct"):
            request = (b"POST http://" + host + b":50051/strait.test.Echo/Unary HTTP/1.1\r\nHost: " + host +
                       b":50051\r\nContent-Type: application/grpc\r\nTE: trailers\r\nConnection: close\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(frame)) + frame
            response = raw_exchange(self.outbound_port, request)
            head, _, body = response.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), (host, head))
            self.assertIn(b"transfer-encoding: chunked", head.lower())
            self.assertIn(b"echo:over-http1", body)
            self.assertIn(b"grpc-status: 0", body)

    def test_large_messages(self):
        big = os.urandom(3 * 1024 * 1024)
        self.assertEqual(self.method("unary_unary", "Unary")(big, timeout=20), b"echo:" + big)


if __name__ == "__main__":
    unittest.main()
