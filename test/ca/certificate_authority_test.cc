// The certificate authority: a root made once and kept, CSRs signed for the authorized identity
// only, plugged-in intermediates, and leaves that the proxy's TLS layer accepts.
#include "ca/certificate_authority.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/test_pki.h"
#include "tls/credentials.h"

namespace strait::ca {
namespace {

using strait::testing::KeyPtr;

// A CSR for `key` that asks for `requested_uri` (which the CA must ignore).
std::string make_csr(EVP_PKEY* key, const std::string& requested_uri) {
  X509_REQ* request = X509_REQ_new();
  X509_REQ_set_pubkey(request, key);
  X509_NAME* name = X509_REQ_get_subject_name(request);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("me"), -1, -1, 0);
  STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
  const std::string san = "URI:" + requested_uri;
  sk_X509_EXTENSION_push(extensions, X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
  X509_REQ_add_extensions(request, extensions);
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  X509_REQ_sign(request, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, request);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  X509_REQ_free(request);
  return pem;
}

X509* first_certificate(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

class CertificateAuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("strait-ca-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  const tls::SpiffeId web_{"cluster.local", "shop", "web"};
};

TEST_F(CertificateAuthorityTest, MakesARootOnceWithAPrivateKeyAndKeepsIt) {
  auto ca = CertificateAuthority::load_or_create(dir_.string(), "cluster.local", std::nullopt);
  ASSERT_TRUE(ca) << ca.error();
  EXPECT_EQ(std::filesystem::status(dir_ / "ca.key").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ASSERT_TRUE(std::filesystem::exists(dir_ / "ca.crt"));
  const std::string bundle = (*ca)->trust_bundle();
  EXPECT_TRUE(bundle.starts_with("-----BEGIN CERTIFICATE-----")) << bundle;
  auto again = CertificateAuthority::load_or_create(dir_.string(), "cluster.local", std::nullopt);
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ((*again)->trust_bundle(), bundle);
}

TEST_F(CertificateAuthorityTest, SignsTheAuthorizedIdentityNotTheRequestedOne) {
  auto ca = std::move(*CertificateAuthority::load_or_create(dir_.string(), "cluster.local", std::nullopt));
  KeyPtr key = strait::testing::make_key();
  const std::string csr = make_csr(key.get(), "spiffe://cluster.local/ns/kube-system/sa/admin");
  auto issued = ca->sign(csr, web_, std::chrono::hours(24));
  ASSERT_TRUE(issued) << issued.error();
  X509* leaf = first_certificate(issued->chain_pem);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(tls::spiffe_uri_of(leaf), "spiffe://cluster.local/ns/shop/sa/web");
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_EQ(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0), 1);
  const auto lifetime = issued->not_after - std::chrono::system_clock::now();
  EXPECT_GT(lifetime, std::chrono::hours(23));
  EXPECT_LE(lifetime, std::chrono::hours(24));
  X509_free(leaf);

  // The proxy's TLS layer accepts the result with the proxy's own key and the CA's bundle.
  tls::Credentials creds{issued->chain_pem, strait::testing::to_pem(key.get()), ca->trust_bundle()};
  auto contexts = tls::build_contexts(creds);
  ASSERT_TRUE(contexts) << contexts.error();
  EXPECT_EQ(contexts->certificate.spiffe_id, "spiffe://cluster.local/ns/shop/sa/web");
  EXPECT_EQ(contexts->certificate.serial_hex, issued->serial_hex);
}

TEST_F(CertificateAuthorityTest, RefusesBadCsrsAndForeignTrustDomains) {
  auto ca = std::move(*CertificateAuthority::load_or_create(dir_.string(), "cluster.local", std::nullopt));
  KeyPtr key = strait::testing::make_key();
  const std::string csr = make_csr(key.get(), "spiffe://x/ns/a/sa/b");
  EXPECT_FALSE(ca->sign("not a csr", web_, std::chrono::hours(1)));
  auto foreign = ca->sign(csr, tls::SpiffeId{"example.org", "shop", "web"}, std::chrono::hours(1));
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().find("outside trust domain cluster.local"), std::string::npos);
  std::string tampered = csr;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ca->sign(tampered, web_, std::chrono::hours(1)));
  KeyPtr rsa(EVP_RSA_gen(2048));
  auto refused = ca->sign(make_csr(rsa.get(), "spiffe://x/ns/a/sa/b"), web_, std::chrono::hours(1));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("ECDSA P-256"), std::string::npos);
}

TEST_F(CertificateAuthorityTest, APluggedInIntermediateSignsAndTheRootIsTheBundle) {
  auto root = strait::testing::make_ca("corporate root");
  auto intermediate = strait::testing::issue(root, {.common_name = "mesh intermediate", .is_ca = true, .serial = 7});
  const auto chain_path = dir_ / "intermediate-chain.pem";
  const auto key_path = dir_ / "intermediate.key";
  std::ofstream(chain_path) << intermediate.cert_pem << root.cert_pem;
  std::ofstream(key_path) << intermediate.key_pem;
  auto ca = CertificateAuthority::load_or_create(
      (dir_ / "data").string(), "cluster.local",
      CaFiles{chain_path.string(), key_path.string()});
  ASSERT_FALSE(ca);  // the data directory does not exist yet: a clear error, not a crash
  std::filesystem::create_directories(dir_ / "data");
  ca = CertificateAuthority::load_or_create((dir_ / "data").string(), "cluster.local",
                                            CaFiles{chain_path.string(), key_path.string()});
  ASSERT_TRUE(ca) << ca.error();
  EXPECT_EQ((*ca)->trust_bundle(), root.cert_pem);
  KeyPtr key = strait::testing::make_key();
  auto issued = (*ca)->sign(make_csr(key.get(), "spiffe://cluster.local/ns/shop/sa/web"), web_, std::chrono::hours(1));
  ASSERT_TRUE(issued) << issued.error();
  tls::Credentials creds{issued->chain_pem, strait::testing::to_pem(key.get()), (*ca)->trust_bundle()};
  EXPECT_TRUE(tls::build_contexts(creds));

  // Without the root in the file the CA is refused.
  std::ofstream(chain_path) << intermediate.cert_pem;
  auto partial = CertificateAuthority::load_or_create((dir_ / "data").string(), "cluster.local",
                                                      CaFiles{chain_path.string(), key_path.string()});
  ASSERT_FALSE(partial);
  EXPECT_NE(partial.error().find("up to and including the root"), std::string::npos) << partial.error();
}

// Three PEM certificates at most: the count of roots in a bundle.
int certificates_in(const std::string& pem) {
  int n = 0;
  for (auto at = pem.find("BEGIN CERTIFICATE"); at != std::string::npos;
       at = pem.find("BEGIN CERTIFICATE", at + 1))
    ++n;
  return n;
}

TEST_F(CertificateAuthorityTest, RootRotationStepsAreKeptOnDiskAndResumeAfterARestart) {
  auto load = [&] {
    auto ca = CertificateAuthority::load_or_create(dir_.string(), "cluster.local", std::nullopt);
    EXPECT_TRUE(ca) << ca.error();
    return std::move(*ca);
  };
  KeyPtr key = strait::testing::make_key();
  const std::string csr = make_csr(key.get(), "spiffe://cluster.local/ns/shop/sa/web");
  auto ca = load();
  const std::string old_bundle = ca->trust_bundle();
  const std::string old_signer = ca->signer_key_id();
  ASSERT_FALSE(old_signer.empty());
  auto old_leaf = ca->sign(csr, web_, std::chrono::hours(1));
  ASSERT_TRUE(old_leaf);
  EXPECT_EQ(tls::issuer_key_id_of(old_leaf->chain_pem), old_signer);
  EXPECT_EQ(ca->phase(), RotationPhase::kIdle);
  EXPECT_FALSE(ca->retire_previous_root());
  EXPECT_FALSE(ca->sign_with_next_root());

  // 1. Both roots trusted, the old one signs.
  ASSERT_TRUE(ca->trust_next_root());
  EXPECT_FALSE(ca->trust_next_root());  // one at a time
  EXPECT_EQ(ca->phase(), RotationPhase::kTrustingNext);
  EXPECT_EQ(certificates_in(ca->trust_bundle()), 2);
  EXPECT_TRUE(ca->trust_bundle().starts_with(old_bundle));
  EXPECT_EQ(ca->signer_key_id(), old_signer);
  EXPECT_EQ(
      std::filesystem::status(dir_ / "ca-next.key").permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ca = load();  // a restart resumes where it stood
  EXPECT_EQ(ca->phase(), RotationPhase::kTrustingNext);
  EXPECT_EQ(certificates_in(ca->trust_bundle()), 2);
  ASSERT_EQ(ca->roots().size(), 2u);
  EXPECT_EQ(ca->roots()[1].role, "next");

  // 2. The new root signs; the old one is still trusted (leaves it signed still verify).
  ASSERT_TRUE(ca->sign_with_next_root());
  EXPECT_EQ(ca->phase(), RotationPhase::kReissuing);
  const std::string new_signer = ca->signer_key_id();
  EXPECT_NE(new_signer, old_signer);
  auto new_leaf = ca->sign(csr, web_, std::chrono::hours(1));
  ASSERT_TRUE(new_leaf);
  EXPECT_EQ(tls::issuer_key_id_of(new_leaf->chain_pem), new_signer);
  const std::string both = ca->trust_bundle();
  EXPECT_EQ(certificates_in(both), 2);
  for (const auto* leaf : {&*old_leaf, &*new_leaf}) {
    tls::Credentials creds{leaf->chain_pem, strait::testing::to_pem(key.get()), both};
    EXPECT_TRUE(tls::build_contexts(creds));
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "ca-next.key"));
  ca = load();
  EXPECT_EQ(ca->phase(), RotationPhase::kReissuing);
  EXPECT_EQ(ca->signer_key_id(), new_signer);

  // 3. The old root leaves the bundle.
  ASSERT_TRUE(ca->retire_previous_root());
  EXPECT_EQ(ca->phase(), RotationPhase::kIdle);
  EXPECT_EQ(certificates_in(ca->trust_bundle()), 1);
  EXPECT_NE(ca->trust_bundle(), old_bundle);
  ca = load();
  EXPECT_EQ(ca->phase(), RotationPhase::kIdle);
  EXPECT_EQ(ca->signer_key_id(), new_signer);
  std::ifstream file(dir_ / "ca.crt");
  const std::string written((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
  EXPECT_EQ(written, ca->trust_bundle());
}

TEST_F(CertificateAuthorityTest, APluggedInCaIsNotRotatedByStraitd) {
  auto root = strait::testing::make_ca("corporate root");
  const auto chain_path = dir_ / "root.pem";
  const auto key_path = dir_ / "root.key";
  std::ofstream(chain_path) << root.cert_pem;
  std::ofstream(key_path) << root.key_pem;
  auto ca = CertificateAuthority::load_or_create(dir_.string(), "cluster.local",
                                                 CaFiles{chain_path.string(), key_path.string()});
  ASSERT_TRUE(ca) << ca.error();
  auto refused = (*ca)->trust_next_root();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("plugged in"), std::string::npos);
  EXPECT_EQ((*ca)->phase(), RotationPhase::kIdle);
}

}  // namespace
}  // namespace strait::ca
