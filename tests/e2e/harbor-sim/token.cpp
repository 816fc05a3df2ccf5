#include "token.h"

#include "harbormaster/base/encoding.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "harbormaster/base/files.h"

namespace harborsim {
namespace {}  // namespace

std::string base64url(const std::string& bytes) {
  std::string b = hm::base64Encode(bytes);
  for (char& c : b) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    }
  }
  while (!b.empty() && b.back() == '=') {
    b.pop_back();
  }
  return b;
}

struct TokenSigner::Impl {
  EVP_PKEY* key = nullptr;
  std::string certDerBase64;
  ~Impl() { EVP_PKEY_free(key); }
};

TokenSigner::TokenSigner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TokenSigner::~TokenSigner() = default;

hm::StatusOr<std::unique_ptr<TokenSigner>> TokenSigner::load(const std::string& certFile,
                                                             const std::string& keyFile) {
  auto certPem = hm::readFile(certFile);
  auto keyPem = hm::readFile(keyFile);
  if (!certPem.ok() || !keyPem.ok()) {
    return hm::invalidArgument("cannot read the token certificate or key");
  }
  auto impl = std::make_unique<Impl>();
  BIO* kb = BIO_new_mem_buf(keyPem->data(), static_cast<int>(keyPem->size()));
  impl->key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  BIO* cb = BIO_new_mem_buf(certPem->data(), static_cast<int>(certPem->size()));
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  if (impl->key == nullptr || cert == nullptr || EVP_PKEY_base_id(impl->key) != EVP_PKEY_EC) {
    X509_free(cert);
    return hm::invalidArgument("the token key must be a PEM P-256 key with its PEM certificate");
  }
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  impl->certDerBase64 =
      hm::base64Encode(std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len)));
  OPENSSL_free(der);
  X509_free(cert);
  return std::unique_ptr<TokenSigner>(new TokenSigner(std::move(impl)));
}

std::string TokenSigner::sign(const std::string& issuer, const std::string& subject,
                              const std::string& audience, const std::vector<Access>& access,
                              int lifetimeSeconds) const {
  using nlohmann::json;
  json header = {{"typ", "JWT"}, {"alg", "ES256"}, {"x5c", json::array({impl_->certDerBase64})}};
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  unsigned char nonce[12];
  if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
    std::abort();  // a test peer: never hand out a predictable token
  }
  json accessJson = json::array();
  for (const auto& a : access) {
    accessJson.push_back({{"type", a.type}, {"name", a.name}, {"actions", a.actions}});
  }
  json claims = {{"iss", issuer},
                 {"sub", subject},
                 {"aud", audience},
                 {"exp", now + lifetimeSeconds},
                 {"nbf", now - 5},
                 {"iat", now},
                 {"jti", base64url(std::string(reinterpret_cast<char*>(nonce), sizeof(nonce)))},
                 {"access", accessJson}};
  std::string input = base64url(header.dump()) + "." + base64url(claims.dump());

  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t sigLen = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, impl_->key);
  EVP_DigestSign(ctx, nullptr, &sigLen, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string der(sigLen, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &sigLen,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  // JWS wants the raw 32-byte r and s, not OpenSSL's DER ECDSA-Sig-Value.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sigLen));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(64, '\0');
  BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return input + "." + base64url(raw);
}

}  // namespace harborsim
