#include "tls/key_and_csr.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace strait::tls {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace

std::expected<KeyAndCsr, std::string> make_key_and_csr(std::string_view spiffe_uri) {
  std::unique_ptr<EVP_PKEY, Free> key(EVP_EC_gen("P-256"));
  if (!key) return std::unexpected("cannot generate an ECDSA P-256 key");
  std::unique_ptr<X509_REQ, Free> request(X509_REQ_new());
  if (!request || X509_REQ_set_version(request.get(), 0) != 1 ||
      X509_REQ_set_pubkey(request.get(), key.get()) != 1)
    return std::unexpected("cannot build the certificate request");
  const std::string san = "URI:" + std::string(spiffe_uri);
  STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  const bool added = extension != nullptr && sk_X509_EXTENSION_push(extensions, extension) > 0 &&
                     X509_REQ_add_extensions(request.get(), extensions) == 1;
  if (extension != nullptr && !added && sk_X509_EXTENSION_num(extensions) == 0) X509_EXTENSION_free(extension);
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  if (!added || X509_REQ_sign(request.get(), key.get(), EVP_sha256()) == 0)
    return std::unexpected("cannot sign the certificate request");

  KeyAndCsr out;
  std::unique_ptr<BIO, Free> key_bio(BIO_new(BIO_s_mem()));
  std::unique_ptr<BIO, Free> csr_bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509_REQ(csr_bio.get(), request.get()) != 1)
    return std::unexpected("cannot encode the key or the request");
  out.private_key_pem = bio_text(key_bio.get());
  out.csr_pem = bio_text(csr_bio.get());
  return out;
}

}  // namespace strait::tls
