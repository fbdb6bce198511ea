#include "ca/certificate_authority.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/file.h"

namespace strait::ca {
namespace {

constexpr int kRootValidityDays = 3650;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using ReqPtr = std::unique_ptr<X509_REQ, ReqFree>;

// Writes a file that only its owner may read, atomically (temporary file, fsync, rename).
std::expected<void, std::string> write_private(const std::string& path, const std::string& content, mode_t mode) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return std::unexpected("cannot write " + path + ": " + std::strerror(errno));
  const bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                  ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) return std::unexpected("cannot write " + path);
  return {};
}

std::string to_pem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), certificate);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::vector<X509Ptr> read_certificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();
  return out;
}

bool add_extension(X509* certificate, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(certificate, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool set_random_serial(X509* certificate, std::string* hex_out) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) return false;
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate)) == nullptr) return false;
  if (hex_out != nullptr) {
    char* hex = BN_bn2hex(serial.get());
    *hex_out = hex;
    OPENSSL_free(hex);
  }
  return true;
}

std::expected<std::pair<X509Ptr, KeyPtr>, std::string> make_root(const std::string& trust_domain) {
  KeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr root(X509_new());
  if (!key || !root) return std::unexpected("cannot generate the root CA key");
  X509_set_version(root.get(), 2);
  set_random_serial(root.get(), nullptr);
  X509_gmtime_adj(X509_getm_notBefore(root.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(root.get()), 60L * 60 * 24 * kRootValidityDays);
  X509_NAME* name = X509_get_subject_name(root.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("strait"), -1, -1, 0);
  const std::string cn = "strait root CA " + trust_domain;
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(root.get(), name);
  X509_set_pubkey(root.get(), key.get());
  if (!add_extension(root.get(), root.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_extension(root.get(), root.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_extension(root.get(), root.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(root.get(), key.get(), EVP_sha256()) == 0) {
    return std::unexpected("cannot self-sign the root CA");
  }
  return std::pair{std::move(root), std::move(key)};
}

}  // namespace

CertificateAuthority::~CertificateAuthority() {
  X509_free(certificate_);
  EVP_PKEY_free(key_);
}

std::expected<std::unique_ptr<CertificateAuthority>, std::string> CertificateAuthority::load_or_create(
    const std::string& data_dir, const std::string& trust_domain, const std::optional<CaFiles>& plugged) {
  const std::filesystem::path dir(data_dir);
  const std::string key_path = (dir / "ca.key").string();
  const std::string chain_path = (dir / "ca-chain.pem").string();
  const std::string bundle_path = (dir / "ca.crt").string();
  std::string chain_pem;
  std::string key_pem;
  if (plugged) {
    auto chain = read_file(plugged->certificate);
    if (!chain) return std::unexpected("--ca-cert: " + chain.error());
    auto key = read_file(plugged->private_key);
    if (!key) return std::unexpected("--ca-key: " + key.error());
    chain_pem = std::move(*chain);
    key_pem = std::move(*key);
  } else if (std::filesystem::exists(key_path)) {
    auto chain = read_file(chain_path);
    if (!chain) return std::unexpected(chain.error());
    auto key = read_file(key_path);
    if (!key) return std::unexpected(key.error());
    chain_pem = std::move(*chain);
    key_pem = std::move(*key);
  } else {
    auto root = make_root(trust_domain);
    if (!root) return std::unexpected(root.error());
    chain_pem = to_pem(root->first.get());
    key_pem = key_to_pem(root->second.get());
    if (auto ok = write_private(key_path, key_pem, 0600); !ok) return std::unexpected(ok.error());
    if (auto ok = write_private(chain_path, chain_pem, 0644); !ok) return std::unexpected(ok.error());
  }

  auto certificates = read_certificates(chain_pem);
  if (certificates.empty()) return std::unexpected("the CA certificate file holds no PEM certificate");
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) return std::unexpected("the CA key is not a readable PEM private key");
  if (X509_check_private_key(certificates.front().get(), key.get()) != 1)
    return std::unexpected("the CA key does not match the CA certificate");
  if (X509_check_ca(certificates.front().get()) == 0)
    return std::unexpected("the CA certificate is not a CA (basicConstraints CA:TRUE is required)");
  if (X509_check_issued(certificates.back().get(), certificates.back().get()) != X509_V_OK)
    return std::unexpected("the CA certificate file must hold the chain up to and including the root");

  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  // The root, the last certificate of the chain, is what proxies trust.
  ca->bundle_pem_ = to_pem(certificates.back().get());
  ca->trust_domain_ = trust_domain;
  ca->certificate_ = certificates.front().release();
  ca->key_ = key.release();
  ca->chain_pem_ = chain_pem;
  if (auto ok = write_private(bundle_path, ca->bundle_pem_, 0644); !ok) return std::unexpected(ok.error());
  return ca;
}

std::expected<IssuedCertificate, std::string> CertificateAuthority::sign(const std::string& csr_pem,
                                                                         const tls::SpiffeId& identity,
                                                                         std::chrono::seconds ttl,
                                                                         const std::vector<std::string>& dns_names) const {
  if (identity.trust_domain != trust_domain_)
    return std::unexpected("identity " + identity.uri() + " is outside trust domain " + trust_domain_);
  BioPtr bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  ReqPtr request(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!request) return std::unexpected("the CSR is not a PEM certificate request");
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(request.get());
  if (public_key == nullptr || X509_REQ_verify(request.get(), public_key) != 1)
    return std::unexpected("the CSR's signature does not verify");
  char curve[64] = {};
  std::size_t curve_length = 0;
  if (EVP_PKEY_get_base_id(public_key) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(public_key, "group", curve, sizeof curve, &curve_length) != 1 ||
      std::string_view(curve) != "prime256v1") {
    return std::unexpected("the CSR's key must be ECDSA P-256");
  }

  X509Ptr leaf(X509_new());
  IssuedCertificate issued;
  X509_set_version(leaf.get(), 2);
  if (!set_random_serial(leaf.get(), &issued.serial_hex)) return std::unexpected("cannot make a serial number");
  // Valid from a minute ago, so that clocks a little behind accept it at once.
  X509_gmtime_adj(X509_getm_notBefore(leaf.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(leaf.get()), static_cast<long>(ttl.count()));
  X509_set_issuer_name(leaf.get(), X509_get_subject_name(certificate_));
  X509_NAME* subject = X509_get_subject_name(leaf.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("strait"), -1, -1, 0);
  X509_set_pubkey(leaf.get(), public_key);
  std::string san = "critical,URI:" + identity.uri();  // the subject is empty: SAN is critical
  for (const auto& dns : dns_names) san += ",DNS:" + dns;
  if (!add_extension(leaf.get(), certificate_, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(leaf.get(), certificate_, NID_key_usage, "critical,digitalSignature") ||
      !add_extension(leaf.get(), certificate_, NID_ext_key_usage, "serverAuth,clientAuth") ||
      !add_extension(leaf.get(), certificate_, NID_subject_alt_name, san.c_str()) ||
      !add_extension(leaf.get(), certificate_, NID_authority_key_identifier, "keyid:always") ||
      X509_sign(leaf.get(), key_, EVP_sha256()) == 0) {
    return std::unexpected("cannot sign the certificate");
  }
  issued.chain_pem = to_pem(leaf.get()) + chain_pem_;
  const ASN1_TIME* not_after = X509_get0_notAfter(leaf.get());
  struct tm tm_after {};
  if (ASN1_TIME_to_tm(not_after, &tm_after) == 1) {
    issued.not_after = std::chrono::system_clock::from_time_t(timegm(&tm_after));
  }
  return issued;
}

std::optional<std::string> CertificateAuthority::requested_spiffe_id(const std::string& csr_pem) {
  BioPtr bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  ReqPtr request(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!request) return std::nullopt;
  STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(request.get());
  if (extensions == nullptr) return std::nullopt;
  std::optional<std::string> found;
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions) && !found; ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(extension)) != NID_subject_alt_name) continue;
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension));
    if (names == nullptr) continue;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type != GEN_URI) continue;
      const auto* uri = name->d.uniformResourceIdentifier;
      std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                       static_cast<std::size_t>(ASN1_STRING_length(uri)));
      if (text.starts_with("spiffe://")) {
        found = std::move(text);
        break;
      }
    }
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  return found;
}

}  // namespace strait::ca
