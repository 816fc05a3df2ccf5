#include "support/cosign.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harbormaster/base/encoding.h"
#include "support/process.h"
#include "support/registry_rig.h"

namespace hm::testing {
namespace {

using nlohmann::json;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

template <typename Write>
void writePem(const std::string& path, Write write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> b(BIO_new_file(path.c_str(), "w"), &BIO_free);
  if (!b || write(b.get()) != 1) {
    throw std::runtime_error("OpenSSL could not write " + path);
  }
}

constexpr const char* kEmptyConfig = "{}";
constexpr const char* kEmptyMediaType = "application/vnd.oci.empty.v1+json";

json descriptor(const std::string& mediaType, const std::string& bytes) {
  return {{"mediaType", mediaType}, {"digest", sha256Digest(bytes)}, {"size", bytes.size()}};
}

std::string pae(const std::string& type, const std::string& body) {
  return "DSSEv1 " + std::to_string(type.size()) + " " + type + " " + std::to_string(body.size()) +
         " " + body;
}

}  // namespace

// Keys and signatures through OpenSSL's API (what `openssl genpkey` and `openssl dgst -sign`
// call), in process: the unit tests that sign start no process.
SigningKey makeSigningKey(const TempDir& dir, const std::string& type, const std::string& name) {
  EVP_PKEY* made = nullptr;
  if (type == "p256" || type == "p384") {
    made = EVP_EC_gen(type == "p256" ? "P-256" : "P-384");
  } else if (type == "rsa") {
    made = EVP_RSA_gen(2048);
  } else if (type == "ed25519") {
    made = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  } else {
    throw std::invalid_argument("unknown key type " + type);
  }
  Pkey pkey(made);
  if (!pkey) {
    throw std::runtime_error("OpenSSL could not make a " + type + " key");
  }
  SigningKey key{type, dir.file(name + ".key"), dir.file(name + ".pub"), ""};
  writePem(key.privateFile, [&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  writePem(key.publicFile, [&](BIO* b) { return PEM_write_bio_PUBKEY(b, pkey.get()); });
  key.publicPem = readText(key.publicFile);
  return key;
}

std::string signMessage(const SigningKey& key, const std::string& message) {
  const std::string pem = readText(key.privateFile);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  // Ed25519 signs the message itself (no digest), as cosign signs with it.
  const EVP_MD* md = key.type == "ed25519" ? nullptr : EVP_sha256();
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  if (!pkey || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, data, message.size()) != 1) {
    throw std::runtime_error("OpenSSL could not sign with " + key.privateFile);
  }
  std::string sig(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, data,
                     message.size()) != 1) {
    throw std::runtime_error("OpenSSL could not sign with " + key.privateFile);
  }
  sig.resize(size);
  return sig;
}

std::string simpleSigningPayload(const std::string& dockerReference, const std::string& digest) {
  json p = {{"critical",
             {{"identity", {{"docker-reference", dockerReference}}},
              {"image", {{"docker-manifest-digest", digest}}},
              {"type", "cosign container image signature"}}},
            {"optional", nullptr}};
  return p.dump();
}

SignatureArtifact legacySignatureManifest(const std::vector<LegacySignature>& signatures) {
  SignatureArtifact a;
  a.mediaType = "application/vnd.oci.image.manifest.v1+json";
  const std::string config =
      R"({"architecture":"","config":{},"os":"","rootfs":{"type":"layers","diff_ids":[]}})";
  json layers = json::array();
  for (const LegacySignature& s : signatures) {
    json d = descriptor("application/vnd.dev.cosign.simplesigning.v1+json", s.payload);
    d["annotations"] = {{"dev.cosignproject.cosign/signature", base64Encode(s.signature)}};
    layers.push_back(d);
    a.blobs.push_back(s.payload);
  }
  a.blobs.push_back(config);
  json m = {{"schemaVersion", 2},
            {"mediaType", a.mediaType},
            {"config", descriptor("application/vnd.oci.image.config.v1+json", config)},
            {"layers", layers}};
  a.manifest = m.dump();
  return a;
}

std::string keySignedBundle(const SigningKey& key, const std::string& digest,
                            const std::string& predicateType) {
  json statement = {{"_type", "https://in-toto.io/Statement/v1"},
                    {"subject", json::array({{{"digest", {{"sha256", digest.substr(7)}}}}})},
                    {"predicateType", predicateType},
                    {"predicate", json::object()}};
  const std::string body = statement.dump();
  const std::string type = "application/vnd.in-toto+json";
  const std::string sig = signMessage(key, pae(type, body));
  json bundle = {
      {"mediaType", "application/vnd.dev.sigstore.bundle.v0.3+json"},
      {"verificationMaterial", {{"publicKey", {{"hint", ""}}}, {"tlogEntries", json::array()}}},
      {"dsseEnvelope",
       {{"payload", base64Encode(body)},
        {"payloadType", type},
        {"signatures", json::array({{{"sig", base64Encode(sig)}, {"keyid", ""}}})}}}};
  return bundle.dump();
}

SignatureArtifact bundleReferrer(const std::string& bundle, const std::string& subjectDigest,
                                 const std::string& subjectMediaType, size_t subjectSize,
                                 const std::string& artifactType) {
  SignatureArtifact a;
  a.mediaType = "application/vnd.oci.image.manifest.v1+json";
  const std::string bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json";
  json m = {{"schemaVersion", 2},
            {"mediaType", a.mediaType},
            {"config", descriptor(kEmptyMediaType, kEmptyConfig)},
            {"layers", json::array({descriptor(bundleType, bundle)})},
            {"subject",
             {{"mediaType", subjectMediaType}, {"digest", subjectDigest}, {"size", subjectSize}}},
            {"annotations", {{"dev.sigstore.bundle.content", "dsse-envelope"}}}};
  if (!artifactType.empty()) {
    m["artifactType"] = artifactType;
  }
  a.manifest = m.dump();
  a.blobs = {bundle, kEmptyConfig};
  return a;
}

SignatureArtifact cosignKeylessVector(std::string& imageDigest) {
  const std::string dir = sharedFile("sigstore/vectors/legacy-tag/keyless-fulcio-rekor/");
  imageDigest = sha256Digest(readText(dir + "manifest.json"));
  SignatureArtifact a;
  a.mediaType = "application/vnd.oci.image.manifest.v1+json";
  const std::string payload = readText(dir + "payload.json");
  json m = {{"schemaVersion", 2},
            {"mediaType", a.mediaType},
            {"config", descriptor("application/vnd.oci.image.config.v1+json", kEmptyConfig)},
            {"layers", json::array({json::parse(readText(dir + "layer-descriptor.json"))})}};
  a.manifest = m.dump();
  a.blobs = {payload, kEmptyConfig};
  return a;
}

}  // namespace hm::testing
