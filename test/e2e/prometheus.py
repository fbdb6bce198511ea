"""A real Prometheus (Debian's `prometheus`) for end-to-end tests: scrapes the given targets every
second from a throwaway config and data directory on a free loopback port, and answers PromQL."""

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

from harness import free_port


class Prometheus:
    def __init__(self, workdir, jobs, interval="1s"):
        """`jobs`: {job name: (metrics path, [host:port, ...])}."""
        binary = shutil.which("prometheus")
        if binary is None:
            raise AssertionError("prometheus is not installed: run ./scripts/install-deps.sh")
        self.dir = os.path.join(workdir, "prometheus")
        os.makedirs(self.dir, exist_ok=True)
        lines = ["global:", f"  scrape_interval: {interval}", f"  evaluation_interval: {interval}",
                 "scrape_configs:"]
        for job, (path, targets) in jobs.items():
            lines += [f"- job_name: {job}", f"  metrics_path: {path}", "  static_configs:",
                      f"  - targets: {json.dumps(list(targets))}"]
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.port = free_port()
        self.targets = sum(len(t) for _, t in jobs.values())
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
            return r.read()

    def _wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.read_log()}")
            try:
                self._get("/-/ready")
                targets = json.loads(self._get("/api/v1/targets"))["data"]["activeTargets"]
                last = targets
                if len(targets) == self.targets and all(t["health"] == "up" for t in targets):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus targets not up: {json.dumps(last, indent=1)}")

    def query(self, promql):
        """The result vector of an instant query: [(labels, float value)]."""
        body = json.loads(self._get("/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
        if body["status"] != "success":
            raise AssertionError(f"{promql}: {body}")
        return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]

    def wait_for(self, promql, predicate, timeout=30):
        """Queries until `predicate(result)` holds; returns that result."""
        deadline = time.time() + timeout
        result = None
        while time.time() < deadline:
            result = self.query(promql)
            if predicate(result):
                return result
            time.sleep(0.5)
        raise AssertionError(f"{promql}: still {result}")

    def read_log(self):
        with open(os.path.join(self.dir, "prometheus.log")) as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
