// Sigstore inputs from registries and users: trusted roots, bundles (v0.1–v0.3, DSSE and message
// signatures), certificates, Rekor entries and cosign's legacy .sig layers with their
// annotations. Verification fails on fuzzed input, but parsing must never crash.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "certificate.h"
#include "fuzz.h"
#include "harbormaster/base/encoding.h"
#include "harbormaster/sigstore/trust.h"
#include "harbormaster/sigstore/verify.h"
#include "rekor.h"

namespace {

namespace s = hm::sigstore;

// A key generated once per run, so key-signed inputs reach signature verification.
s::PublicKey fuzzKey() {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  hm::fuzz::require(pkey != nullptr, "key generation");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey);
  char* pem = nullptr;
  long len = BIO_get_mem_data(bio, &pem);
  auto key = s::PublicKey::fromPem(std::string(pem, static_cast<size_t>(len)));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  hm::fuzz::require(key.ok(), "the fuzz key parses");
  return *key;
}

const s::SignerPolicy& keyPolicy() {
  static const s::SignerPolicy policy{{fuzzKey()}, {}, false, false};
  return policy;
}

const s::SignerPolicy& keylessPolicy() {
  static const s::SignerPolicy policy{
      {},
      {{"https://issuer.example", "", hm::regexp::RegExp::compile("^.*@example\\.com$").value()}},
      true,
      true};
  return policy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [which, input] = hm::fuzz::split(data, size);
  const s::TrustedRoot empty;
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  const auto artifact = s::Artifact::fromBytes("fuzzed artifact");
  switch (which % 6) {
    case 0:
      (void)s::TrustedRoot::parse(input);
      break;
    case 1:
      (void)s::verifyBundle(input, artifact, keyPolicy(), empty, now);
      break;
    case 2:
      (void)s::verifyBundle(input, artifact, keylessPolicy(), empty, now);
      break;
    case 3: {
      std::vector<std::string> chain = s::pemCertificates(input);
      if (auto der = s::certificateDer(input); der.ok()) {
        chain.insert(chain.begin(), *der);
      }
      for (const auto& der : chain) {
        (void)s::verifyCertificate(der, chain, empty, now, true);
      }
      break;
    }
    case 4: {
      s::TlogEntry entry;
      entry.body = std::string(input);
      entry.bodyBase64 = hm::base64Encode(input);
      (void)s::parseHashedRekord(entry);
      (void)s::parseEnvelopeEntry(entry);
      break;
    }
    default: {
      // payload \n rekor bundle annotation \n certificate annotation
      std::string_view rest = input;
      auto field = [&rest] {
        size_t nl = rest.find('\n');
        std::string out(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        return out;
      };
      s::LegacyLayer layer;
      layer.mediaType = std::string(s::kSimpleSigningMediaType);
      layer.payload = field();
      layer.annotations["dev.cosignproject.cosign/signature"] = hm::base64Encode("sig");
      layer.annotations["dev.sigstore.cosign/bundle"] = field();
      layer.annotations["dev.sigstore.cosign/certificate"] = field();
      const std::string digest = "sha256:" + std::string(64, 'a');
      (void)s::verifyLegacyLayer(layer, digest, keyPolicy(), empty, now);
      (void)s::verifyLegacyLayer(layer, digest, keylessPolicy(), empty, now);
      break;
    }
  }
  return 0;
}
