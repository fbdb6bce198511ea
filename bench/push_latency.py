#!/usr/bin/python3
"""Config push latency: the time from `straitctl apply` returning to every proxy having ACKed the
resulting view, for a mesh of N sidecars (default: 3 and 100), measured by polling straitd's
/api/v1/proxies. Writes bench/results/push-latency.md and prints it.

    ./bench/push_latency.py [N ...]          (after `make build`)

Everything runs on 127.0.0.1 on free ports, in a temporary directory removed at exit; every
process started here is stopped at exit. ROUNDS (default 20) applies are measured per size."""

import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
os.environ.setdefault("STRAIT_BIN_DIR", os.path.join(ROOT, "build", "bin"))

from mesh import Mesh  # noqa: E402

ROUTE = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-0, namespace: bench}
spec:
  hosts: [svc-0]
  http:
  - route:
    - {destination: {host: svc-0}, weight: 100}
    timeout: %ds
"""


def measure(size, rounds, workdir):
    mesh = Mesh(workdir)
    try:
        for i in range(size):
            mesh.proxy(f"w-{i}", "bench", "bench", services=[f"svc-{i % 10}:9080"], app_port=1, wait=False)
        for p in mesh.proxies:
            p.wait_ready(timeout=120)
        version = mesh.wait_synced(size, timeout=120)
        samples = []
        push_to_ack = []
        for r in range(rounds):
            start = time.monotonic()
            mesh.apply(ROUTE % (r + 1))
            version = mesh.wait_synced(size, timeout=30, newer_than=version)
            samples.append((time.monotonic() - start) * 1000)
            push_to_ack.append(max(p["lastPushToAckMs"] for p in mesh.status()["items"]))
        rss = sum(p.rss_kib() for p in mesh.proxies) / len(mesh.proxies) / 1024
        return samples, push_to_ack, rss
    finally:
        mesh.stop()


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [3, 100]
    rounds = int(os.environ.get("ROUNDS", "20"))
    lines = ["# Config push latency", "",
             f"`bench/push_latency.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
             f"{rounds} applies per size. Apply-to-all-ACKed is measured by the client (straitctl apply, then "
             "polling straitd's /api/v1/proxies); it includes straitd's 20 ms debounce and the polling. "
             "Push-to-ACK is straitd's own figure for the slowest proxy of each push.", "",
             "| proxies | apply -> all ACKed p50 | p90 | max | push -> slowest ACK p50 | proxy RSS (MiB, mean) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        workdir = tempfile.mkdtemp(prefix=f"strait-push-{size}-")
        try:
            samples, push_to_ack, rss = measure(size, rounds, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        samples.sort()
        lines.append(f"| {size} | {statistics.median(samples):.0f} ms | {samples[int(len(samples) * 0.9) - 1]:.0f} ms | "
                     f"{samples[-1]:.0f} ms | {statistics.median(push_to_ack):.1f} ms | {rss:.1f} |")
    report = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "push-latency.md"), "w") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    main()
