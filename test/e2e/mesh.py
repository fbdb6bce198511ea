"""A live mesh for end-to-end tests and the push benchmark: straitd, join tokens, and sidecars that
get their certificate and config from it (strait-proxy --control-plane)."""

import json
import os
import signal
import subprocess
import time

from harness import PROXY_BIN, HttpApp, Proxy, TcpEchoApp, free_port
from test_straitd import Straitd

CTL_BIN = os.path.join(os.path.dirname(PROXY_BIN), "straitctl")


class MeshProxy(Proxy):
    """A sidecar configured by straitd. Its ports are picked free here so that they are known."""

    def __init__(self, mesh, workload, ns, sa, services=(), app_port=None, labels=None, upstreams=(),
                 extra_args=(), wait=True, token_path=None, concurrency=1):
        self.name = workload
        self.id = f"{workload}.{ns}"
        self.admin = f"127.0.0.1:{free_port()}"
        self.outbound = f"127.0.0.1:{free_port()}"
        self.inbound = f"127.0.0.1:{free_port()}"
        self.token_path = token_path
        if token_path is None:
            self.token_path = os.path.join(mesh.workdir, f"{workload}.token")
            with open(self.token_path, "w") as f:
                f.write(mesh.token(ns, sa) + "\n")
        args = [PROXY_BIN, "--control-plane", f"127.0.0.1:{mesh.straitd.grpc_port}",
                "--ca-bundle", os.path.join(mesh.data, "ca.crt"), "--token-file", self.token_path,
                "--namespace", ns, "--service-account", sa, "--workload", workload,
                "--admin-addr", self.admin, "--outbound-addr", self.outbound, "--inbound-addr", self.inbound,
                "--concurrency", str(concurrency)]
        if labels:
            args += ["--labels", ",".join(f"{k}={v}" for k, v in labels.items())]
        for s in services:
            args += ["--service", s]
        if app_port:
            args += ["--app-port", str(app_port)]
        for u in upstreams:
            args += ["--upstream", u]
        self.log_path = os.path.join(mesh.workdir, f"{workload}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([*args, *extra_args], stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()


class Mesh:
    """straitd plus helpers to create tokens, apply config and read proxy status."""

    def __init__(self, workdir, straitd_args=()):
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.straitd_args = straitd_args
        self.straitd = Straitd(self.data, extra_args=straitd_args)
        self.proxies = []

    def restart_straitd(self, sig=signal.SIGKILL):
        self.straitd.stop(sig)
        self.straitd = Straitd(self.data, port=self.straitd.port, grpc_port=self.straitd.grpc_port,
                               extra_args=self.straitd_args)

    def env(self):
        return {**os.environ, "STRAIT_SERVER": f"http://127.0.0.1:{self.straitd.port}",
                "STRAIT_TOKEN": self.straitd.token, "NO_COLOR": "1"}

    def ctl(self, *args, input=None, check=True):
        done = subprocess.run([CTL_BIN, *args], capture_output=True, text=True, env=self.env(), input=input,
                              timeout=30)
        if check and done.returncode != 0:
            raise AssertionError(f"straitctl {' '.join(args)} failed: {done.stderr}")
        return done

    def token(self, ns, sa, ttl="1h"):
        return self.ctl("token", "create", "--namespace", ns, "--service-account", sa, "--ttl", ttl).stdout.strip()

    def apply(self, yaml_text):
        return self.ctl("apply", "-f", "-", input=yaml_text)

    def proxy(self, *args, **kw):
        p = MeshProxy(self, *args, **kw)
        self.proxies.append(p)
        return p

    def status(self):
        code, body = self.straitd.request("GET", "/api/v1/proxies")
        if code != 200:
            raise AssertionError(f"/api/v1/proxies: {code} {body}")
        return json.loads(body)

    def wait_synced(self, count, timeout=15, newer_than=None):
        """Waits until `count` proxies are SYNCED on the same version (other than `newer_than`);
        returns that version."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.status()
            items = last["items"]
            versions = {p["ackedVersion"] for p in items}
            if (len(items) == count and all(p["status"] == "SYNCED" for p in items) and len(versions) == 1
                    and newer_than not in versions):
                return versions.pop()
            time.sleep(0.01)
        raise AssertionError(f"proxies not synced: {json.dumps(last, indent=1)}")

    def acked_version(self, proxy_id):
        return next(p["ackedVersion"] for p in self.status()["items"] if p["id"] == proxy_id)

    def wait_proxy_acked(self, proxy_id, count, newer_than, timeout=15):
        """Waits until `count` proxies are SYNCED and `proxy_id` acknowledged a version other than
        `newer_than` (for a change that reaches only some proxies, such as a RateLimitPolicy)."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.status()
            items = last["items"]
            if (len(items) == count and all(p["status"] == "SYNCED" for p in items)
                    and any(p["id"] == proxy_id and p["ackedVersion"] != newer_than for p in items)):
                return
            time.sleep(0.01)
        raise AssertionError(f"{proxy_id} did not acknowledge a version after {newer_than}: {json.dumps(last, indent=1)}")

    def stop(self):
        for p in self.proxies:
            p.stop()
        self.straitd.stop(signal.SIGKILL)


def start_policy_callees(mesh):
    """The callees the policy suites probe: reviews (HTTP, 9080; app=reviews, version=v1) and db
    (TCP, 5432; app=db), each an app with its sidecar in namespace shop. Returns
    (http_app, tcp_app, reviews_proxy, db_proxy); the caller stops the apps."""
    http_app = HttpApp(name="reviews-v1")
    tcp_app = TcpEchoApp()
    reviews = mesh.proxy("reviews-v1", "shop", "reviews", services=["reviews:9080"], app_port=http_app.port,
                         labels={"app": "reviews", "version": "v1"})
    db = mesh.proxy("db-v1", "shop", "db", services=["db:5432:tcp"], app_port=tcp_app.port, labels={"app": "db"})
    return http_app, tcp_app, reviews, db
