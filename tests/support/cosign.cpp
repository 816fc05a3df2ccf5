#include "support/cosign.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harbormaster/base/encoding.h"
#include "support/process.h"
#include "support/registry_rig.h"

namespace hm::testing {
namespace {

using nlohmann::json;

void run(const std::vector<std::string>& argv) {
  std::string out;
  if (runCommand(argv, out) != 0) {
    throw std::runtime_error(argv[0] + " " + argv[1] + " failed: " + out);
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

SigningKey makeSigningKey(const TempDir& dir, const std::string& type, const std::string& name) {
  std::vector<std::string> gen = {"openssl", "genpkey", "-algorithm"};
  if (type == "p256" || type == "p384") {
    gen.insert(gen.end(),
               {"EC", "-pkeyopt",
                std::string("ec_paramgen_curve:") + (type == "p256" ? "P-256" : "P-384")});
  } else if (type == "rsa") {
    gen.insert(gen.end(), {"RSA", "-pkeyopt", "rsa_keygen_bits:2048"});
  } else if (type == "ed25519") {
    gen.push_back("ED25519");
  } else {
    throw std::invalid_argument("unknown key type " + type);
  }
  SigningKey key{type, dir.file(name + ".key"), dir.file(name + ".pub"), ""};
  gen.insert(gen.end(), {"-out", key.privateFile});
  run(gen);
  run({"openssl", "pkey", "-in", key.privateFile, "-pubout", "-out", key.publicFile});
  key.publicPem = readText(key.publicFile);
  return key;
}

std::string signMessage(const SigningKey& key, const std::string& message) {
  TempDir tmp;
  tmp.write("message", message);
  if (key.type == "ed25519") {
    run({"openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key.privateFile, "-in",
         tmp.file("message"), "-out", tmp.file("sig")});
  } else {
    run({"openssl", "dgst", "-sha256", "-sign", key.privateFile, "-out", tmp.file("sig"),
         tmp.file("message")});
  }
  return readText(tmp.file("sig"));
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
