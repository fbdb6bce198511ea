#include "tls/credentials.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <asio/ssl/context.hpp>
#include <chrono>
#include <string>

#include "support/test_pki.h"

namespace strait::tls {
namespace {

using testing::CertSpec;
using testing::TestCert;

constexpr const char* kWebId = "spiffe://cluster.local/ns/shop/sa/web";
constexpr const char* kApiId = "spiffe://cluster.local/ns/shop/sa/api";

TestCert leaf(const TestCert& issuer, const std::string& spiffe_id, std::uint64_t serial = 7) {
  CertSpec spec;
  spec.common_name = "leaf";
  spec.uri_sans = {spiffe_id};
  spec.serial = serial;
  return testing::issue(issuer, spec);
}

Credentials credentials_for(const TestCert& cert, const TestCert& root) {
  return Credentials{cert.cert_pem, cert.key_pem, root.cert_pem};
}

testing::X509Ptr with_sans(const TestCert& issuer, std::vector<std::string> uris,
                           std::vector<std::string> dns) {
  CertSpec spec;
  spec.uri_sans = std::move(uris);
  spec.dns_sans = std::move(dns);
  TestCert cert = testing::issue(issuer, spec);
  return std::move(cert.cert);
}

// The error message of a build that must fail.
std::string failure_of(const Credentials& creds) {
  auto built = build_contexts(creds);
  if (built) return "(built)";
  return built.error();
}

class CredentialsTest : public ::testing::Test {
 protected:
  TestCert root_ = testing::make_ca("strait test root");
};

TEST_F(CredentialsTest, BuildsContextsAndDescribesTheCertificate) {
  CertSpec spec;
  spec.uri_sans = {kWebId};
  spec.dns_sans = {"web.shop.svc"};
  spec.serial = 0x1234ABCD;
  spec.not_after = 2'000'000'000;  // 2033-05-18T03:33:20Z
  const TestCert cert = testing::issue(root_, spec);

  auto built = build_contexts(credentials_for(cert, root_));
  ASSERT_TRUE(built) << built.error();
  EXPECT_NE(built->server, nullptr);
  EXPECT_NE(built->client, nullptr);
  EXPECT_EQ(built->certificate.spiffe_id, kWebId);
  EXPECT_EQ(built->certificate.serial_hex, "1234ABCD");
  EXPECT_EQ(built->certificate.not_after, std::chrono::system_clock::from_time_t(2'000'000'000));
  // TLS 1.3 only, and a client certificate is required.
  for (SSL_CTX* ctx : {built->server->native_handle(), built->client->native_handle()}) {
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
    EXPECT_EQ(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  }
}

TEST_F(CredentialsTest, AcceptsAChainWithAnIntermediate) {
  CertSpec intermediate_spec;
  intermediate_spec.common_name = "intermediate";
  intermediate_spec.is_ca = true;
  intermediate_spec.serial = 2;
  const TestCert intermediate = testing::issue(root_, intermediate_spec);
  const TestCert cert = leaf(intermediate, kWebId, 0xFF);
  const Credentials creds{cert.cert_pem + intermediate.cert_pem, cert.key_pem, root_.cert_pem};
  auto built = build_contexts(creds);
  ASSERT_TRUE(built) << built.error();
  EXPECT_EQ(built->certificate.spiffe_id, kWebId);  // the leaf's, not the intermediate's
  EXPECT_EQ(built->certificate.serial_hex, "FF");
}

TEST_F(CredentialsTest, EmptyChainIsRefused) {
  const TestCert cert = leaf(root_, kWebId);
  Credentials creds = credentials_for(cert, root_);
  creds.certificate_chain_pem.clear();
  EXPECT_EQ(failure_of(creds), "certificate chain has no PEM certificate");
  creds.certificate_chain_pem =
      "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(failure_of(creds), "certificate chain has no PEM certificate");
  creds.certificate_chain_pem = cert.key_pem;  // a key where the chain should be
  EXPECT_EQ(failure_of(creds), "certificate chain has no PEM certificate");
}

TEST_F(CredentialsTest, EmptyBundleIsRefused) {
  const TestCert cert = leaf(root_, kWebId);
  Credentials creds = credentials_for(cert, root_);
  creds.trust_bundle_pem.clear();
  EXPECT_EQ(failure_of(creds), "trust bundle has no PEM certificate");
  creds.trust_bundle_pem = "garbage";
  EXPECT_EQ(failure_of(creds), "trust bundle has no PEM certificate");
}

TEST_F(CredentialsTest, KeyNotMatchingTheCertificateIsRefused) {
  const TestCert cert = leaf(root_, kWebId);
  const TestCert other = leaf(root_, kApiId);
  Credentials creds = credentials_for(cert, root_);
  creds.private_key_pem = other.key_pem;
  const std::string error = failure_of(creds);
  EXPECT_TRUE(error.starts_with("private key does not match the certificate")) << error;
  // The OpenSSL error queue is left clean for the next caller.
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST_F(CredentialsTest, UnreadableKeyIsRefused) {
  const TestCert cert = leaf(root_, kWebId);
  Credentials creds = credentials_for(cert, root_);
  creds.private_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  const std::string error = failure_of(creds);
  EXPECT_TRUE(error.starts_with("private key is not readable PEM")) << error;
  creds.private_key_pem.clear();
  EXPECT_TRUE(failure_of(creds).starts_with("private key is not readable PEM"));
}

TEST_F(CredentialsTest, LeafWithoutSpiffeUriIsRefused) {
  CertSpec dns_only;
  dns_only.dns_sans = {"web.shop.svc.cluster.local"};
  const TestCert cert = testing::issue(root_, dns_only);
  const std::string expected = "certificate has no spiffe://<td>/ns/<ns>/sa/<sa> URI SAN";
  EXPECT_EQ(failure_of(credentials_for(cert, root_)), expected);

  // A spiffe:// URI that is not the mesh shape does not count either.
  const TestCert other_shape = leaf(root_, "spiffe://cluster.local/workload/web");
  EXPECT_EQ(failure_of(credentials_for(other_shape, root_)), expected);

  // Only the leaf counts: an intermediate's identity does not stand in for it.
  CertSpec no_sans;
  const TestCert bare = testing::issue(root_, no_sans);
  const Credentials creds{bare.cert_pem + leaf(root_, kWebId).cert_pem, bare.key_pem,
                          root_.cert_pem};
  EXPECT_EQ(failure_of(creds), expected);
}

TEST_F(CredentialsTest, SpiffeUriOfReadsTheFirstSpiffeUri) {
  const auto dns_only = with_sans(root_, {}, {"web.shop.svc"});
  EXPECT_EQ(spiffe_uri_of(dns_only.get()), std::nullopt);

  const auto no_san = with_sans(root_, {}, {});
  EXPECT_EQ(spiffe_uri_of(no_san.get()), std::nullopt);
  EXPECT_EQ(spiffe_uri_of(nullptr), std::nullopt);

  const auto mixed = with_sans(root_, {"https://example.org/x", kWebId, kApiId}, {"web.shop.svc"});
  EXPECT_EQ(spiffe_uri_of(mixed.get()), kWebId);

  const auto other_uri = with_sans(root_, {"urn:uuid:1234"}, {});
  EXPECT_EQ(spiffe_uri_of(other_uri.get()), std::nullopt);

  // Through PEM, as build_contexts reads it.
  const auto parsed = testing::parse_pem_certificate(testing::to_pem(mixed.get()));
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(spiffe_uri_of(parsed.get()), kWebId);
}

TEST_F(CredentialsTest, PrepareClientBoundsTheAlpnProtocol) {
  const TestCert cert = leaf(root_, kWebId);
  auto built = build_contexts(credentials_for(cert, root_));
  ASSERT_TRUE(built) << built.error();
  SSL* ssl = SSL_new(built->client->native_handle());
  ASSERT_NE(ssl, nullptr);
  EXPECT_TRUE(prepare_client(ssl, "p9080.web.shop.svc.cluster.local", kAlpnH2));
  EXPECT_EQ(negotiated_alpn(ssl), "");  // nothing negotiated before a handshake
  EXPECT_EQ(verified_peer_spiffe_id(ssl), std::nullopt);
  EXPECT_FALSE(prepare_client(ssl, "sni", std::string(40, 'x')));
  SSL_free(ssl);
  EXPECT_EQ(verified_peer_spiffe_id(nullptr), std::nullopt);
}

// A client and a server SSL joined by a memory BIO pair: a whole handshake without sockets.
class MemoryHandshake {
 public:
  MemoryHandshake(const TlsContexts& client, const TlsContexts& server)
      : client_(SSL_new(client.client->native_handle())),
        server_(SSL_new(server.server->native_handle())) {
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client_, client_bio, client_bio);
    SSL_set_bio(server_, server_bio, server_bio);
    SSL_set_connect_state(client_);
    SSL_set_accept_state(server_);
  }
  ~MemoryHandshake() {
    SSL_free(client_);
    SSL_free(server_);
    ERR_clear_error();
  }
  MemoryHandshake(const MemoryHandshake&) = delete;
  MemoryHandshake& operator=(const MemoryHandshake&) = delete;

  // Steps both sides until both finish or one fails; true when both finished.
  bool run() {
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
      if (!client_done && !step(client_, client_done)) return false;
      if (!server_done && !step(server_, server_done)) return false;
    }
    return client_done && server_done;
  }

  SSL* client() { return client_; }
  SSL* server() { return server_; }

 private:
  static bool step(SSL* ssl, bool& done) {
    const int rv = SSL_do_handshake(ssl);
    if (rv == 1) {
      done = true;
      return true;
    }
    const int error = SSL_get_error(ssl, rv);
    return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
  }

  SSL* client_;
  SSL* server_;
};

TEST_F(CredentialsTest, ContextsCompleteAMutualHandshake) {
  auto web = build_contexts(credentials_for(leaf(root_, kWebId), root_));
  auto api = build_contexts(credentials_for(leaf(root_, kApiId), root_));
  ASSERT_TRUE(web) << web.error();
  ASSERT_TRUE(api) << api.error();

  for (const std::string_view alpn : {kAlpnH2, kAlpnHttp11, kAlpnTcp}) {
    MemoryHandshake handshake(*web, *api);
    ASSERT_TRUE(prepare_client(handshake.client(), "p9080.api.shop.svc.cluster.local", alpn));
    ASSERT_TRUE(handshake.run()) << alpn;
    EXPECT_EQ(negotiated_alpn(handshake.client()), alpn);
    EXPECT_EQ(negotiated_alpn(handshake.server()), alpn);
    EXPECT_EQ(SSL_version(handshake.client()), TLS1_3_VERSION);
    // Each side sees the other's verified identity.
    EXPECT_EQ(verified_peer_spiffe_id(handshake.server()), kWebId);
    EXPECT_EQ(verified_peer_spiffe_id(handshake.client()), kApiId);
  }
}

TEST_F(CredentialsTest, HandshakeFailsAcrossTrustDomains) {
  const TestCert other_root = testing::make_ca("another root");
  auto web = build_contexts(credentials_for(leaf(root_, kWebId), root_));
  auto stranger =
      build_contexts(credentials_for(leaf(other_root, "spiffe://other.org/ns/x/sa/y"), other_root));
  ASSERT_TRUE(web) << web.error();
  ASSERT_TRUE(stranger) << stranger.error();
  MemoryHandshake handshake(*stranger, *web);
  ASSERT_TRUE(prepare_client(handshake.client(), "p80.web.shop.svc.cluster.local", kAlpnH2));
  EXPECT_FALSE(handshake.run());
  EXPECT_EQ(verified_peer_spiffe_id(handshake.server()), std::nullopt);
}

TEST_F(CredentialsTest, ServerRefusesAnUnknownAlpnProtocol) {
  auto web = build_contexts(credentials_for(leaf(root_, kWebId), root_));
  ASSERT_TRUE(web) << web.error();
  MemoryHandshake handshake(*web, *web);
  ASSERT_TRUE(prepare_client(handshake.client(), "p80.web.shop.svc.cluster.local", "spdy/3"));
  EXPECT_FALSE(handshake.run());
}

}  // namespace
}  // namespace strait::tls
