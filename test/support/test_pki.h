// Test-only certificate minting: P-256 keys and X.509 certificates made in-process with the OpenSSL
// 3 API, so that TLS tests need no files and no openssl command line.
//
//   TestCert root = make_ca("test root");
//   TestCert leaf = issue(root, {.uri_sans = {"spiffe://cluster.local/ns/default/sa/web"}});
//   creds.certificate_chain_pem = leaf.cert_pem;  // and leaf.key_pem, root.cert_pem
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace strait::testing {

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

// What a minted certificate says about itself.
struct CertSpec {
  std::string common_name = "strait test";
  std::vector<std::string> uri_sans;  // e.g. "spiffe://cluster.local/ns/default/sa/web"
  std::vector<std::string> dns_sans;  // e.g. "web.default.svc"
  bool is_ca = false;
  std::uint64_t serial = 1;
  // Validity: from an hour ago until `not_after` (default: a day from now).
  std::optional<std::time_t> not_after;
};

// A certificate with its own private key, as objects and as PEM.
struct TestCert {
  X509Ptr cert;
  KeyPtr key;
  std::string cert_pem;
  std::string key_pem;
};

// A fresh P-256 key pair (EVP_EC_gen). Aborts the test run on failure.
[[nodiscard]] KeyPtr make_key();

// A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign).
[[nodiscard]] TestCert make_ca(const std::string& common_name, std::uint64_t serial = 1);

// A certificate described by `spec`, with a new key, signed by `issuer`: an intermediate CA when
// spec.is_ca, else a leaf (CA:FALSE, digitalSignature, serverAuth + clientAuth).
[[nodiscard]] TestCert issue(const TestCert& issuer, const CertSpec& spec);

[[nodiscard]] std::string to_pem(X509* cert);
[[nodiscard]] std::string to_pem(EVP_PKEY* key);
// The first certificate of a PEM text (nullptr when there is none).
[[nodiscard]] X509Ptr parse_pem_certificate(const std::string& pem);

}  // namespace strait::testing
