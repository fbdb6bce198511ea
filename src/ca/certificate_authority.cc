#include "ca/certificate_authority.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
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

std::string hex_of(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

std::string subject_key_id(X509* certificate) {
  const ASN1_OCTET_STRING* id = X509_get0_subject_key_id(certificate);
  if (id == nullptr) return {};
  return hex_of(ASN1_STRING_get0_data(id), static_cast<std::size_t>(ASN1_STRING_length(id)));
}

std::string iso8601(const ASN1_TIME* time) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return {};
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

RootInfo root_info(X509* certificate, std::string role) {
  RootInfo info;
  char subject[256] = {};
  X509_NAME_oneline(X509_get_subject_name(certificate), subject, sizeof subject);
  info.subject = subject;
  info.key_id = subject_key_id(certificate);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(certificate, EVP_sha256(), digest, &length) == 1)
    info.sha256 = hex_of(digest, length);
  info.not_after = iso8601(X509_get0_notAfter(certificate));
  info.role = std::move(role);
  return info;
}

}  // namespace

std::string_view name_of(RotationPhase phase) {
  switch (phase) {
    case RotationPhase::kIdle:
      return "idle";
    case RotationPhase::kTrustingNext:
      return "trusting-next-root";
    case RotationPhase::kReissuing:
      return "reissuing";
  }
  return "idle";
}

// A signing certificate with its key, and the chain appended to the leaves it signs.
struct CertificateAuthority::Signer {
  X509Ptr certificate;
  KeyPtr key;
  std::string chain_pem;  // the signing certificate and its intermediates up to the root
  std::string root_pem;   // the last of the chain: what proxies trust
  std::string key_id;     // subject key identifier of `certificate`, hex

  static std::expected<std::shared_ptr<const Signer>, std::string> load(
      const std::string& chain_pem, const std::string& key_pem) {
    auto certificates = read_certificates(chain_pem);
    if (certificates.empty())
      return std::unexpected("the CA certificate file holds no PEM certificate");
    BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!key) return std::unexpected("the CA key is not a readable PEM private key");
    if (X509_check_private_key(certificates.front().get(), key.get()) != 1)
      return std::unexpected("the CA key does not match the CA certificate");
    if (X509_check_ca(certificates.front().get()) == 0)
      return std::unexpected(
          "the CA certificate is not a CA (basicConstraints CA:TRUE is required)");
    if (X509_check_issued(certificates.back().get(), certificates.back().get()) != X509_V_OK)
      return std::unexpected(
          "the CA certificate file must hold the chain up to and including the root");
    auto signer = std::make_shared<Signer>();
    signer->root_pem = to_pem(certificates.back().get());
    signer->key_id = subject_key_id(certificates.front().get());
    signer->certificate = std::move(certificates.front());
    signer->key = std::move(key);
    signer->chain_pem = chain_pem;
    return signer;
  }
};

CertificateAuthority::~CertificateAuthority() = default;

std::expected<std::unique_ptr<CertificateAuthority>, std::string> CertificateAuthority::load_or_create(
    const std::string& data_dir, const std::string& trust_domain, const std::optional<CaFiles>& plugged) {
  const std::filesystem::path dir(data_dir);
  const std::string key_path = (dir / "ca.key").string();
  const std::string chain_path = (dir / "ca-chain.pem").string();
  const std::string next_key_path = (dir / "ca-next.key").string();
  const std::string next_chain_path = (dir / "ca-next-chain.pem").string();
  const std::string retiring_path = (dir / "ca-retiring.pem").string();
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  ca->trust_domain_ = trust_domain;
  ca->data_dir_ = data_dir;
  ca->bundle_path_ = (dir / "ca.crt").string();
  ca->plugged_ = plugged.has_value();
  std::string chain_pem;
  std::string key_pem;
  if (plugged) {
    auto chain = read_file(plugged->certificate);
    if (!chain) return std::unexpected("--ca-cert: " + chain.error());
    auto key = read_file(plugged->private_key);
    if (!key) return std::unexpected("--ca-key: " + key.error());
    chain_pem = std::move(*chain);
    key_pem = std::move(*key);
  } else {
    // A step 2 interrupted after writing ca-retiring.pem: move in what is left of the next root
    // (the chain, then the key; loading checks that they match).
    if (std::filesystem::exists(retiring_path)) {
      std::error_code ec;
      if (std::filesystem::exists(next_chain_path))
        std::filesystem::rename(next_chain_path, chain_path, ec);
      if (!ec && std::filesystem::exists(next_key_path))
        std::filesystem::rename(next_key_path, key_path, ec);
      if (!ec) ec = sync_directory(data_dir);
      if (ec)
        return std::unexpected("cannot finish the interrupted root rotation: " + ec.message());
    }
    if (std::filesystem::exists(key_path)) {
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
      if (auto ok = write_file_atomically(key_path, key_pem, 0600); !ok)
        return std::unexpected(ok.error());
      if (auto ok = write_file_atomically(chain_path, chain_pem, 0644); !ok)
        return std::unexpected(ok.error());
    }
    // Step 1 writes the next root's chain, then its key: the key says the step was taken.
    if (std::filesystem::exists(next_key_path)) {
      auto chain = read_file(next_chain_path);
      auto key = read_file(next_key_path);
      if (!chain || !key)
        return std::unexpected("cannot read the next root (ca-next.key, ca-next-chain.pem)");
      auto next = Signer::load(*chain, *key);
      if (!next) return std::unexpected("ca-next: " + next.error());
      ca->next_ = std::move(*next);
    } else if (std::filesystem::exists(retiring_path)) {
      auto retiring = read_file(retiring_path);
      if (!retiring) return std::unexpected(retiring.error());
      ca->retiring_pem_ = std::move(*retiring);
    }
  }
  auto signer = Signer::load(chain_pem, key_pem);
  if (!signer) return std::unexpected(signer.error());
  ca->signer_ = std::move(*signer);
  std::lock_guard lock(ca->mutex_);
  if (auto ok = ca->write_bundle_locked(); !ok) return std::unexpected(ok.error());
  return ca;
}

std::expected<void, std::string> CertificateAuthority::write_bundle_locked() {
  std::string bundle = signer_->root_pem;
  if (next_) bundle += next_->root_pem;
  bundle += retiring_pem_;
  return write_file_atomically(bundle_path_, bundle, 0644);
}

std::string CertificateAuthority::trust_bundle() const {
  std::lock_guard lock(mutex_);
  return signer_->root_pem + (next_ ? next_->root_pem : std::string()) + retiring_pem_;
}

std::string CertificateAuthority::signer_key_id() const {
  std::lock_guard lock(mutex_);
  return signer_->key_id;
}

RotationPhase CertificateAuthority::phase() const {
  std::lock_guard lock(mutex_);
  if (next_) return RotationPhase::kTrustingNext;
  if (!retiring_pem_.empty()) return RotationPhase::kReissuing;
  return RotationPhase::kIdle;
}

std::vector<RootInfo> CertificateAuthority::roots() const {
  std::lock_guard lock(mutex_);
  std::vector<RootInfo> out;
  for (const auto& c : read_certificates(signer_->root_pem))
    out.push_back(root_info(c.get(), "signing"));
  if (next_) {
    for (const auto& c : read_certificates(next_->root_pem))
      out.push_back(root_info(c.get(), "next"));
  }
  for (const auto& c : read_certificates(retiring_pem_))
    out.push_back(root_info(c.get(), "retiring"));
  return out;
}

std::expected<void, std::string> CertificateAuthority::trust_next_root() {
  if (plugged_)
    return std::unexpected("the CA is plugged in (--ca-cert/--ca-key): its owner rotates it");
  std::lock_guard lock(mutex_);
  if (next_ || !retiring_pem_.empty())
    return std::unexpected("a root rotation is already under way");
  auto root = make_root(trust_domain_);
  if (!root) return std::unexpected(root.error());
  const std::string chain_pem = to_pem(root->first.get());
  const std::string key_pem = key_to_pem(root->second.get());
  auto next = Signer::load(chain_pem, key_pem);
  if (!next) return std::unexpected(next.error());
  const std::filesystem::path dir(data_dir_);
  // The chain first: the key is what says this step was taken (load_or_create).
  if (auto ok = write_file_atomically((dir / "ca-next-chain.pem").string(), chain_pem, 0644); !ok)
    return ok;
  if (auto ok = write_file_atomically((dir / "ca-next.key").string(), key_pem, 0600); !ok)
    return ok;
  next_ = std::move(*next);
  return write_bundle_locked();
}

std::expected<void, std::string> CertificateAuthority::sign_with_next_root() {
  std::lock_guard lock(mutex_);
  if (!next_) return std::unexpected("no next root is trusted yet (step 1 first)");
  const std::filesystem::path dir(data_dir_);
  if (auto ok = write_file_atomically((dir / "ca-retiring.pem").string(), signer_->root_pem, 0644);
      !ok)
    return ok;
  // ca-retiring.pem says this step was taken: load_or_create finishes the renames after a crash.
  std::error_code ec;
  std::filesystem::rename(dir / "ca-next-chain.pem", dir / "ca-chain.pem", ec);
  if (!ec) std::filesystem::rename(dir / "ca-next.key", dir / "ca.key", ec);  // the old key is gone
  if (!ec) ec = sync_directory(data_dir_);
  if (ec) return std::unexpected("cannot move the next root in: " + ec.message());
  retiring_pem_ = signer_->root_pem;
  signer_ = std::move(next_);
  next_.reset();
  return write_bundle_locked();
}

std::expected<void, std::string> CertificateAuthority::retire_previous_root() {
  std::lock_guard lock(mutex_);
  if (retiring_pem_.empty()) return std::unexpected("no root is being retired (step 2 first)");
  // The bundle first: a crash before the removal leaves the old root trusted a while longer (step
  // 3 is taken again after the restart), never a proxy holding a certificate no one trusts.
  std::string retiring = std::move(retiring_pem_);
  retiring_pem_.clear();
  if (auto ok = write_bundle_locked(); !ok) {
    retiring_pem_ = std::move(retiring);
    return ok;
  }
  std::error_code ec;
  std::filesystem::remove(std::filesystem::path(data_dir_) / "ca-retiring.pem", ec);
  if (!ec) ec = sync_directory(data_dir_);
  if (ec) return std::unexpected("cannot remove ca-retiring.pem: " + ec.message());
  return {};
}

std::expected<IssuedCertificate, std::string> CertificateAuthority::sign(const std::string& csr_pem,
                                                                         const tls::SpiffeId& identity,
                                                                         std::chrono::seconds ttl,
                                                                         const std::vector<std::string>& dns_names) const {
  std::shared_ptr<const Signer> signer;
  {
    std::lock_guard lock(mutex_);
    signer = signer_;
  }
  X509* signing_certificate = signer->certificate.get();
  EVP_PKEY* signing_key = signer->key.get();
  const std::string& chain = signer->chain_pem;
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
  X509_set_issuer_name(leaf.get(), X509_get_subject_name(signing_certificate));
  X509_NAME* subject = X509_get_subject_name(leaf.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("strait"), -1, -1, 0);
  X509_set_pubkey(leaf.get(), public_key);
  std::string san = "critical,URI:" + identity.uri();  // the subject is empty: SAN is critical
  for (const auto& dns : dns_names) san += ",DNS:" + dns;
  if (!add_extension(leaf.get(), signing_certificate, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(leaf.get(), signing_certificate, NID_key_usage, "critical,digitalSignature") ||
      !add_extension(leaf.get(), signing_certificate, NID_ext_key_usage, "serverAuth,clientAuth") ||
      !add_extension(leaf.get(), signing_certificate, NID_subject_alt_name, san.c_str()) ||
      !add_extension(leaf.get(), signing_certificate, NID_authority_key_identifier,
                     "keyid:always") ||
      X509_sign(leaf.get(), signing_key, EVP_sha256()) == 0) {
    return std::unexpected("cannot sign the certificate");
  }
  issued.chain_pem = to_pem(leaf.get()) + chain;
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
