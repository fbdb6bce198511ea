"""A test receiver for spans: OTLP/HTTP JSON on POST /v1/traces and Zipkin v2 JSON on
POST /api/v2/spans, on a free loopback port, keeping what it received, normalised, for checks."""

import http.server
import json
import socketserver
import threading
import time


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class TraceReceiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.spans = {"otlp": [], "zipkin": []}  # [{trace, span, parent, service, kind, name, tags}]
        self.requests = []  # (path, content type, authorization)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.requests.append((self.path, self.headers.get("content-type"),
                                              self.headers.get("authorization")))
                    if self.path == "/v1/traces":
                        receiver.spans["otlp"] += _from_otlp(json.loads(body))
                    elif self.path == "/api/v2/spans":
                        receiver.spans["zipkin"] += _from_zipkin(json.loads(body))
                    else:
                        self.send_response(404)
                        self.end_headers()
                        return
                self.send_response(200 if self.path == "/v1/traces" else 202)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def otlp_url(self):
        return f"http://127.0.0.1:{self.port}/v1/traces"

    @property
    def zipkin_url(self):
        return f"http://127.0.0.1:{self.port}/api/v2/spans"

    def trace(self, fmt, trace_id):
        with self.lock:
            return [s for s in self.spans[fmt] if s["trace"] == trace_id]

    def wait_trace(self, fmt, trace_id, count, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            spans = self.trace(fmt, trace_id)
            if len(spans) >= count or time.monotonic() > deadline:
                return spans
            time.sleep(0.1)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _from_otlp(body):
    out = []
    for rs in body.get("resourceSpans", []):
        service = next((a["value"].get("stringValue") for a in rs.get("resource", {}).get("attributes", [])
                        if a["key"] == "service.name"), None)
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                tags = {a["key"]: next(iter(a["value"].values())) for a in s.get("attributes", [])}
                out.append({"trace": s["traceId"], "span": s["spanId"], "parent": s.get("parentSpanId", ""),
                            "service": service, "kind": {2: "server", 3: "client"}.get(s.get("kind")),
                            "name": s.get("name"), "tags": tags})
    return out


def _from_zipkin(body):
    return [{"trace": s["traceId"], "span": s["id"], "parent": s.get("parentId", ""),
             "service": s.get("localEndpoint", {}).get("serviceName"), "kind": s.get("kind", "").lower(),
             "name": s.get("name"), "tags": s.get("tags", {})} for s in body]
