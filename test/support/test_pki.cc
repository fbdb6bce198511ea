#include "support/test_pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>

namespace strait::testing {
namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "test_pki: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) die(what);
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string drain(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  require(ext != nullptr, "X509V3_EXT_conf_nid");
  require(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

std::string subject_alt_names(const CertSpec& spec) {
  std::string out;
  auto add = [&out](const char* kind, const std::string& value) {
    if (!out.empty()) out += ",";
    out.append(kind).append(":").append(value);
  };
  for (const auto& uri : spec.uri_sans) add("URI", uri);
  for (const auto& dns : spec.dns_sans) add("DNS", dns);
  return out;
}

// Builds and signs a certificate for `key`; a null issuer means self-signed.
X509Ptr build(const CertSpec& spec, EVP_PKEY* key, X509* issuer_cert, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  require(cert != nullptr, "X509_new");
  require(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
  require(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), spec.serial) == 1,
          "ASN1_INTEGER_set_uint64");
  require(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
  if (spec.not_after) {
    require(ASN1_TIME_set(X509_getm_notAfter(cert.get()), *spec.not_after) != nullptr, "notAfter");
  } else {
    require(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "notAfter");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  require(X509_NAME_add_entry_by_txt(
              name, "CN", MBSTRING_UTF8,
              reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0) == 1,
          "X509_NAME_add_entry_by_txt");
  X509* issuer = issuer_cert != nullptr ? issuer_cert : cert.get();
  require(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) == 1,
          "X509_set_issuer_name");
  require(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");

  if (spec.is_ca) {
    add_extension(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  add_extension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (const std::string sans = subject_alt_names(spec); !sans.empty()) {
    add_extension(cert.get(), issuer, NID_subject_alt_name, sans);
  }
  require(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
          "X509_sign");
  return cert;
}

TestCert finish(X509Ptr cert, KeyPtr key) {
  TestCert out;
  out.cert_pem = to_pem(cert.get());
  out.key_pem = to_pem(key.get());
  out.cert = std::move(cert);
  out.key = std::move(key);
  return out;
}

}  // namespace

KeyPtr make_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  require(key != nullptr, "EVP_EC_gen");
  return key;
}

TestCert make_ca(const std::string& common_name, std::uint64_t serial) {
  CertSpec spec;
  spec.common_name = common_name;
  spec.is_ca = true;
  spec.serial = serial;
  KeyPtr key = make_key();
  X509Ptr cert = build(spec, key.get(), nullptr, nullptr);
  return finish(std::move(cert), std::move(key));
}

TestCert issue(const TestCert& issuer, const CertSpec& spec) {
  KeyPtr key = make_key();
  X509Ptr cert = build(spec, key.get(), issuer.cert.get(), issuer.key.get());
  return finish(std::move(cert), std::move(key));
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  require(bio != nullptr && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  return drain(bio.get());
}

std::string to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  require(bio != nullptr &&
              PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PrivateKey");
  return drain(bio.get());
}

X509Ptr parse_pem_certificate(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  require(bio != nullptr, "BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

}  // namespace strait::testing
