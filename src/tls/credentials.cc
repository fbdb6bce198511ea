#include "tls/credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <asio/ssl/context.hpp>
#include <cstring>

namespace strait::tls {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, [](BIO* b) { BIO_free(b); }>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;

std::string openssl_error(std::string_view what) {
  std::string out(what);
  if (const unsigned long code = ERR_get_error(); code != 0) {
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    out.append(": ").append(text.data());
  }
  ERR_clear_error();
  return out;
}

BioPtr memory_bio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::vector<X509Ptr> read_certificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  auto bio = memory_bio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(cert);
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  return out;
}

// The server picks the first protocol of ours that the client offers.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  for (const std::string_view ours : {kAlpnH2, kAlpnHttp11, kAlpnTcp}) {
    unsigned int i = 0;
    while (i < inlen) {
      const unsigned int len = in[i];
      if (i + 1 + len > inlen) break;
      if (len == ours.size() && std::memcmp(in + i + 1, ours.data(), len) == 0) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

std::expected<void, std::string> install_credentials(SSL_CTX* ctx, const Credentials& creds,
                                                     const std::vector<X509Ptr>& chain,
                                                     const std::vector<X509Ptr>& roots) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
    return std::unexpected(openssl_error("cannot require TLS 1.3"));
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1)
    return std::unexpected(openssl_error("certificate rejected"));
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1)
      return std::unexpected(openssl_error("intermediate certificate rejected"));
  }
  auto key_bio = memory_bio(creds.private_key_pem);
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) return std::unexpected(openssl_error("private key is not readable PEM"));
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return std::unexpected(openssl_error("private key does not match the certificate"));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& root : roots) {
    if (X509_STORE_add_cert(store, root.get()) != 1)
      return std::unexpected(openssl_error("trust bundle certificate rejected"));
  }
  // Session tickets buy nothing on pooled, long-lived sidecar connections.
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(ctx, 4);
  return {};
}

}  // namespace

std::optional<std::string> spiffe_uri_of(X509* certificate) {
  if (certificate == nullptr) return std::nullopt;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return std::nullopt;
  std::optional<std::string> found;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const auto* uri = name->d.uniformResourceIdentifier;
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<std::size_t>(ASN1_STRING_length(uri)));
    if (value.starts_with("spiffe://")) found = std::move(value);
  }
  GENERAL_NAMES_free(names);
  return found;
}

std::optional<std::string> verified_peer_spiffe_id(SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  X509* peer = SSL_get0_peer_certificate(ssl);
  return spiffe_uri_of(peer);
}

std::string_view negotiated_alpn(SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  if (data == nullptr) return {};
  return {reinterpret_cast<const char*>(data), len};
}

bool prepare_client(SSL* ssl, const std::string& sni, std::string_view alpn) {
  std::array<unsigned char, 32> wire{};
  if (alpn.size() + 1 > wire.size()) return false;
  wire[0] = static_cast<unsigned char>(alpn.size());
  std::memcpy(wire.data() + 1, alpn.data(), alpn.size());
  // SSL_set_alpn_protos returns 0 on success (unlike most of OpenSSL).
  if (SSL_set_alpn_protos(ssl, wire.data(), static_cast<unsigned int>(alpn.size() + 1)) != 0)
    return false;
  return SSL_set_tlsext_host_name(ssl, sni.c_str()) == 1;
}

namespace {

std::string authority_key_id(X509* certificate) {
  const ASN1_OCTET_STRING* id = X509_get0_authority_key_id(certificate);
  if (id == nullptr) return {};
  static constexpr char kDigits[] = "0123456789abcdef";
  const unsigned char* data = ASN1_STRING_get0_data(id);
  std::string out;
  for (int i = 0; i < ASN1_STRING_length(id); ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string issuer_key_id_of(const std::string& chain_pem) {
  const auto chain = read_certificates(chain_pem);
  return chain.empty() ? std::string() : authority_key_id(chain.front().get());
}

std::expected<TlsContexts, std::string> build_contexts(const Credentials& creds) {
  const auto chain = read_certificates(creds.certificate_chain_pem);
  if (chain.empty()) return std::unexpected("certificate chain has no PEM certificate");
  const auto roots = read_certificates(creds.trust_bundle_pem);
  if (roots.empty()) return std::unexpected("trust bundle has no PEM certificate");
  auto id = spiffe_uri_of(chain.front().get());
  if (!id || !parse_spiffe_id(*id))
    return std::unexpected("certificate has no spiffe://<td>/ns/<ns>/sa/<sa> URI SAN");

  TlsContexts out;
  out.server = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  out.client = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  for (auto* ctx : {out.server->native_handle(), out.client->native_handle()}) {
    if (auto installed = install_credentials(ctx, creds, chain, roots); !installed)
      return std::unexpected(installed.error());
  }
  SSL_CTX_set_alpn_select_cb(out.server->native_handle(), select_alpn, nullptr);

  X509* leaf = chain.front().get();
  out.certificate.spiffe_id = *id;
  out.certificate.issuer_key_id = authority_key_id(leaf);
  const ASN1_TIME* not_after = X509_get0_notAfter(leaf);
  struct tm tm_after {};
  if (ASN1_TIME_to_tm(not_after, &tm_after) == 1) {
    out.certificate.not_after = std::chrono::system_clock::from_time_t(timegm(&tm_after));
  }
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      out.certificate.serial_hex = hex;
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  return out;
}

}  // namespace strait::tls
