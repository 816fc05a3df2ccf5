#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::testing {

// A real CNCF distribution registry (Debian's docker-registry) on a free loopback port, with
// filesystem storage in a temp dir; plain HTTP, no auth. Stopped and removed on destruction.
class RegistryRig {
 public:
  RegistryRig();
  ~RegistryRig();
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // As HarborRig::pushArtifact, without authentication.
  std::string pushArtifact(const std::string& repository, const std::string& reference,
                           const std::string& mediaType, const std::string& manifest,
                           const std::vector<std::string>& blobs);
  void stop() { proc_.reset(); }

 private:
  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> proc_;
};

// harbor-sim fronting a real registry that trusts harbor-sim's token service, as Harbor's core
// fronts its distribution registry: /v2/ and /service/token on one host and port.
struct HarborRigOptions {
  std::string adminPassword = "Harbor12345";
  // Serve HTTPS with a self-signed certificate for 127.0.0.1 (caFile()); the registry's token
  // realm is then https too.
  bool tls = false;
  std::string externalUrl;  // harbor-sim --external-url, when set
  std::string notifyCa;     // harbor-sim --notify-ca: trusted for webhook targets, when set
};

class HarborRig {
 public:
  explicit HarborRig(HarborRigOptions options = {});
  ~HarborRig();
  std::string host() const { return "127.0.0.1:" + std::to_string(simPort_); }
  std::string url() const { return (options_.tls ? "https://" : "http://") + host(); }
  // The CA bundle that verifies the simulator's TLS certificate.
  std::string caFile() const { return dir_.file("tls.crt"); }
  const std::string& adminPassword() const { return options_.adminPassword; }
  std::string simOutput() const { return sim_ ? sim_->output() : ""; }
  // POST /api/v2.0/projects as admin (raw HTTP, independent of the client under test).
  void createProject(const std::string& name);
  // POST /sim/scan with a JSON body.
  void setScan(const std::string& json);
  // Any /sim/ control call (POST /sim/faults, DELETE /sim/stats, …); returns the body.
  std::string control(const std::string& method, const std::string& path,
                      const std::string& body = "");
  // Pushes `blobs` and then `manifest` under `reference` through the simulator with the
  // registry API, as cosign does (skopeo will not copy signature artifacts); returns the
  // manifest's digest.
  std::string pushArtifact(const std::string& repository, const std::string& reference,
                           const std::string& mediaType, const std::string& manifest,
                           const std::vector<std::string>& blobs);
  // curl as a Harbor user: returns the HTTP status; `body` receives the answer.
  int curl(const std::string& method, const std::string& path, const std::string& json,
           std::string& body, const std::string& creds = "");

 private:
  TempDir dir_;
  HarborRigOptions options_;
  uint16_t simPort_ = 0;
  uint16_t registryPort_ = 0;
  std::unique_ptr<Process> registry_;
  std::unique_ptr<Process> sim_;
};

struct PushedImage {
  std::string digest;    // of the manifest (or index)
  std::string manifest;  // its exact bytes
  std::string layerDigest;
  std::string configDigest;
};

// Builds OCI image layouts by hand and pushes them with skopeo, as a CI pipeline would.
class OciLayout {
 public:
  OciLayout();
  // One single-arch image under `tag`; `seed` makes its content (and so its digests) unique.
  PushedImage addImage(const std::string& tag, const std::string& seed,
                       const std::string& architecture = "amd64");
  // An index over images already added, under `tag`.
  PushedImage addIndex(const std::string& tag, const std::vector<PushedImage>& images,
                       const std::vector<std::string>& architectures);
  // skopeo copy [--all] oci:<layout>:<tag> docker://<dest> (plain HTTP); creds "user:password".
  void push(const std::string& tag, const std::string& destination, bool all = false,
            const std::string& creds = "");

 private:
  std::string writeBlob(const std::string& bytes);
  void tagManifest(const std::string& tag, const std::string& mediaType, const std::string& digest,
                   size_t size);

  TempDir dir_;
  std::vector<std::string> indexEntries_;
};

std::string sha256Digest(const std::string& bytes);

// Pushes `blobs` and then `manifest` under `reference` with the registry API at `base`
// (http://host:port), sending `authHeader` ("Authorization: …") when not empty; returns the
// manifest's digest. Throws when the registry refuses.
std::string pushArtifact(const std::string& base, const std::string& authHeader,
                         const std::string& repository, const std::string& reference,
                         const std::string& mediaType, const std::string& manifest,
                         const std::vector<std::string>& blobs);

}  // namespace hm::testing
