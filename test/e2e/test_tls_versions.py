"""The mTLS port offers TLS 1.3 only (issue: zero-trust policy, hardening): testssl.sh (Debian's
testssl.sh) probes a sidecar's inbound port for every protocol version from SSLv2 to TLS 1.3, and
only TLS 1.3 may be offered. straitd's gRPC port is probed too: it offers TLS 1.3 and 1.2 (Debian's
gRPC 1.51 has no way to raise its minimum version), and nothing older."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import HttpApp
from mesh import Mesh
from test_straitd import STRAITD

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")


def offered_protocols(address):
    """{protocol id: finding} from testssl's protocol check of host:port."""
    with tempfile.TemporaryDirectory(prefix="strait-testssl-") as tmp:
        out = os.path.join(tmp, "protocols.json")
        # --nodns none: no lookup of any name (only loopback here); --protocols: versions only.
        done = subprocess.run([TESTSSL, "--protocols", "--nodns", "none", "--color", "0", "--warnings", "off",
                               "--quiet", "--jsonfile", out, address],
                              capture_output=True, text=True, timeout=300)
        if not os.path.exists(out):
            raise AssertionError(f"testssl wrote no result: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        with open(out) as f:
            findings = json.load(f)
    return {f["id"]: f["finding"] for f in findings
            if f.get("id") in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")}


@unittest.skipUnless(os.path.exists(STRAITD), "straitd is not built")
@unittest.skipUnless(TESTSSL, "testssl.sh is not installed (scripts/install-deps.sh installs it)")
class TlsVersions(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="strait-tls-")
        cls.mesh = Mesh(cls.tmp)
        cls.app = HttpApp(name="reviews-v1")
        cls.reviews = cls.mesh.proxy("reviews-v1", "shop", "reviews", services=["reviews:9080"], app_port=cls.app.port,
                                     labels={"app": "reviews"})
        cls.mesh.wait_synced(1)

    @classmethod
    def tearDownClass(cls):
        cls.mesh.stop()
        cls.app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check_offered(self, address, oldest):
        """Every version from `oldest` on is offered, every older one is not."""
        versions = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"]
        found = offered_protocols(address)
        self.assertEqual(set(found), set(versions), found)
        for i, version in enumerate(versions):
            wanted = "offered" if i >= versions.index(oldest) else "not offered"
            self.assertTrue(found[version].startswith(wanted), f"{version}: {found}")
        print(f"\n  testssl {address}: {found}")

    def test_the_sidecar_mtls_port_offers_tls_1_3_only(self):
        self.check_offered(self.reviews.inbound, "TLS1_3")

    def test_straitd_grpc_port_offers_nothing_older_than_tls_1_2(self):
        self.check_offered(f"127.0.0.1:{self.mesh.straitd.grpc_port}", "TLS1_2")


if __name__ == "__main__":
    unittest.main()
