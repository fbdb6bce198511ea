// A fresh ECDSA P-256 key pair and a CSR for it. The key is made in the calling process and stays
// there (proxies hold theirs in memory only); only the CSR is sent to the CA.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace strait::tls {

struct KeyAndCsr {
  std::string private_key_pem;  // PKCS#8
  std::string csr_pem;          // PKCS#10, asking for `spiffe_uri` as its URI SAN
};

[[nodiscard]] std::expected<KeyAndCsr, std::string> make_key_and_csr(std::string_view spiffe_uri);

}  // namespace strait::tls
