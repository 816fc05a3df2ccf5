#include "support/registry_rig.h"

#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "support/certs.h"
#include "support/tls_client.h"

namespace hm::testing {

std::string sha256Digest(const std::string& bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), out, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string d = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    d += hex[out[i] >> 4];
    d += hex[out[i] & 0xf];
  }
  return d;
}

namespace {

// A distribution registry config: filesystem storage, deletes allowed, loopback only, on a port
// the kernel picks (it logs "listening on …" at level info, which is how the rig learns it).
std::string registryConfig(const std::string& dataDir) {
  return "version: 0.1\n"
         "log: {level: info, accesslog: {disabled: true}}\n"
         "storage:\n"
         "  filesystem: {rootdirectory: " +
         dataDir +
         "}\n"
         "  delete: {enabled: true}\n"
         "http:\n"
         "  addr: 127.0.0.1:0\n";
}

}  // namespace

RegistryRig::RegistryRig() {
  dir_.write("config.yml", registryConfig(dir_.file("data")));
  proc_ = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/docker-registry", "serve", dir_.file("config.yml")},
      dir_.file("registry.log"));
  port_ = waitForLoggedPort(*proc_);
  bool up = eventually(20, [&] {
    try {
      return Client(port_, /*tls=*/false).get("/v2/").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  });
  if (!up) {
    throw std::runtime_error("docker-registry did not start: " + proc_->output());
  }
}

RegistryRig::~RegistryRig() = default;

HarborRig::HarborRig(HarborRigOptions options) : options_(std::move(options)) {
  makeSelfSignedCert(dir_.file("token.crt"), dir_.file("token.key"), "harbor-token-issuer",
                     "DNS:harbor-token-issuer");
  // The sim first, on a port it picks: the registry's token realm names it.
  std::vector<std::string> argv = {
      HM_HARBOR_SIM,          "--listen",         "127.0.0.1:0",          "--ports-file",
      dir_.file("sim.ports"), "--admin-password", options_.adminPassword, "--token-cert",
      dir_.file("token.crt"), "--token-key",      dir_.file("token.key")};
  if (options_.tls) {
    makeSelfSignedCert(caFile(), dir_.file("tls.key"), "harbor-sim");
    argv.insert(argv.end(), {"--tls-cert", caFile(), "--tls-key", dir_.file("tls.key")});
  }
  if (!options_.externalUrl.empty()) {
    argv.insert(argv.end(), {"--external-url", options_.externalUrl});
  }
  if (!options_.notifyCa.empty()) {
    argv.insert(argv.end(), {"--notify-ca", options_.notifyCa});
  }
  sim_ = std::make_unique<Process>(argv, dir_.file("sim.log"));
  simPort_ = waitForPorts(dir_.file("sim.ports"), *sim_)["listen"];
  dir_.write("config.yml", registryConfig(dir_.file("data")) +
                               "auth:\n"
                               "  token:\n"
                               "    realm: " +
                               url() +
                               "/service/token\n"
                               "    service: harbor-registry\n"
                               "    issuer: harbor-token-issuer\n"
                               "    rootcertbundle: " +
                               dir_.file("token.crt") + "\n");
  registry_ = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/docker-registry", "serve", dir_.file("config.yml")},
      dir_.file("registry.log"));
  registryPort_ = waitForLoggedPort(*registry_);
  control("PUT", "/sim/registry",
          R"({"url":"http://127.0.0.1:)" + std::to_string(registryPort_) + R"("})");
  bool up = eventually(20, [&] {
    try {
      // 401 from the registry through the sim: both are up and token auth is on.
      return Client(simPort_, options_.tls).get("/v2/").status == 401;
    } catch (const std::exception&) {
      return false;
    }
  });
  if (!up) {
    throw std::runtime_error("harbor rig did not start: " + sim_->output() + registry_->output());
  }
}

HarborRig::~HarborRig() = default;

void HarborRig::createProject(const std::string& name) {
  std::string body = R"({"project_name":")" + name + R"(","metadata":{"public":"false"}})";
  std::string out;
  if (curl("POST", "/api/v2.0/projects", body, out) != 201) {
    throw std::runtime_error("could not create project " + name + ": " + out);
  }
}

void HarborRig::setScan(const std::string& json) {
  Client c(simPort_, options_.tls);
  auto r = c.post("/sim/scan", json);
  if (r.status != 200) {
    throw std::runtime_error("sim/scan refused: " + r.body);
  }
}

std::string HarborRig::control(const std::string& method, const std::string& path,
                               const std::string& body) {
  Client c(simPort_, options_.tls);
  auto r = c.request(method, path, body);
  if (r.status != 200) {
    throw std::runtime_error(method + " " + path + " refused: " + r.body);
  }
  return r.body;
}

int HarborRig::curl(const std::string& method, const std::string& path, const std::string& json,
                    std::string& body, const std::string& creds) {
  TempDir tmp;
  tmp.write("body", json);
  std::vector<std::string> argv = {"/usr/bin/curl",
                                   "-s",
                                   "-o",
                                   tmp.file("out"),
                                   "-w",
                                   "%{http_code}",
                                   "-X",
                                   method,
                                   "-u",
                                   creds.empty() ? "admin:" + adminPassword() : creds};
  if (options_.tls) {
    argv.insert(argv.end(), {"--cacert", caFile()});
  }
  if (!json.empty()) {
    argv.insert(argv.end(),
                {"-H", "Content-Type: application/json", "--data-binary", "@" + tmp.file("body")});
  }
  argv.push_back(url() + path);
  std::string code;
  if (runCommand(argv, code) != 0) {
    throw std::runtime_error("curl failed: " + code);
  }
  std::ifstream in(tmp.file("out"), std::ios::binary);
  body.assign(std::istreambuf_iterator<char>(in), {});
  return std::atoi(code.c_str());
}

std::string pushArtifact(const std::string& base, const std::string& authHeader,
                         const std::string& repository, const std::string& reference,
                         const std::string& mediaType, const std::string& manifest,
                         const std::vector<std::string>& blobs) {
  std::vector<std::string> auth;
  if (!authHeader.empty()) {
    auth = {"-H", authHeader};
  }
  auto curl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-sk"};
    argv.insert(argv.end(), auth.begin(), auth.end());
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    runCommand(argv, out);
    return out;
  };
  TempDir tmp;
  auto put = [&](const std::string& url, const std::string& contentType, const std::string& data) {
    tmp.write("data", data);
    std::string code =
        curl({"-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H",
              "Content-Type: " + contentType, "--data-binary", "@" + tmp.file("data"), url});
    if (code != "201") {
      throw std::runtime_error("PUT " + url + " answered " + code);
    }
  };
  for (const auto& blob : blobs) {
    // POST opens an upload; PUT <Location>&digest= completes it in one piece.
    std::string out = curl({"-D", "-", "-o", "/dev/null", "-X", "POST",
                            base + "/v2/" + repository + "/blobs/uploads/"});
    size_t at = out.find("Location: ");
    if (at == std::string::npos) {
      throw std::runtime_error("no upload location: " + out);
    }
    std::string location = out.substr(at + 10, out.find('\r', at) - at - 10);
    if (location.rfind("http", 0) != 0) {
      location = base + location;
    }
    put(location + (location.find('?') == std::string::npos ? "?" : "&") +
            "digest=" + sha256Digest(blob),
        "application/octet-stream", blob);
  }
  put(base + "/v2/" + repository + "/manifests/" + reference, mediaType, manifest);
  return sha256Digest(manifest);
}

std::string RegistryRig::pushArtifact(const std::string& repository, const std::string& reference,
                                      const std::string& mediaType, const std::string& manifest,
                                      const std::vector<std::string>& blobs) {
  return testing::pushArtifact("http://" + host(), "", repository, reference, mediaType, manifest,
                               blobs);
}

std::string HarborRig::pushArtifact(const std::string& repository, const std::string& reference,
                                    const std::string& mediaType, const std::string& manifest,
                                    const std::vector<std::string>& blobs) {
  std::string out;
  // -k: this helper feeds fixtures in; TLS verification is what the clients under test do.
  runCommand({"/usr/bin/curl", "-sfk", "-u", "admin:" + adminPassword(),
              url() + "/service/token?service=harbor-registry&scope=repository:" + repository +
                  ":pull,push"},
             out);
  auto token = nlohmann::json::parse(out, nullptr, false);
  if (!token.is_object() || !token.contains("token")) {
    throw std::runtime_error("no registry token: " + out);
  }
  return testing::pushArtifact(url(), "Authorization: Bearer " + token["token"].get<std::string>(),
                               repository, reference, mediaType, manifest, blobs);
}

OciLayout::OciLayout() {
  dir_.write("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  std::filesystem::create_directories(dir_.file("blobs/sha256"));
}

std::string OciLayout::writeBlob(const std::string& bytes) {
  std::string digest = sha256Digest(bytes);
  std::ofstream(dir_.file("blobs/sha256/" + digest.substr(7)), std::ios::binary) << bytes;
  return digest;
}

void OciLayout::tagManifest(const std::string& tag, const std::string& mediaType,
                            const std::string& digest, size_t size) {
  indexEntries_.push_back(R"({"mediaType":")" + mediaType + R"(","digest":")" + digest +
                          R"(","size":)" + std::to_string(size) +
                          R"(,"annotations":{"org.opencontainers.image.ref.name":")" + tag +
                          R"("}})");
  std::string index = R"({"schemaVersion":2,"manifests":[)";
  for (size_t i = 0; i < indexEntries_.size(); ++i) {
    index += (i ? "," : "") + indexEntries_[i];
  }
  dir_.write("index.json", index + "]}");
}

PushedImage OciLayout::addImage(const std::string& tag, const std::string& seed,
                                const std::string& architecture) {
  // A real (uncompressed) tar layer holding one file, made by tar itself.
  TempDir src;
  src.write("hello.txt", "hello from " + seed + "\n");
  std::string tarPath = src.file("layer.tar");
  std::string cmd = "tar -C '" + src.path() + "' -cf '" + tarPath + "' hello.txt";
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("tar failed");
  }
  std::string layer = readText(tarPath);
  PushedImage img;
  img.layerDigest = writeBlob(layer);
  std::string config = R"({"architecture":")" + architecture +
                       R"(","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
                       img.layerDigest + R"("]},"config":{}})";
  img.configDigest = writeBlob(config);
  img.manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                 R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                 img.configDigest + R"(","size":)" + std::to_string(config.size()) +
                 R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
                 img.layerDigest + R"(","size":)" + std::to_string(layer.size()) + "}]}";
  img.digest = writeBlob(img.manifest);
  tagManifest(tag, "application/vnd.oci.image.manifest.v1+json", img.digest, img.manifest.size());
  return img;
}

PushedImage OciLayout::addIndex(const std::string& tag, const std::vector<PushedImage>& images,
                                const std::vector<std::string>& architectures) {
  PushedImage idx;
  idx.manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)";
  for (size_t i = 0; i < images.size(); ++i) {
    idx.manifest += std::string(i ? "," : "") +
                    R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                    images[i].digest + R"(","size":)" + std::to_string(images[i].manifest.size()) +
                    R"(,"platform":{"os":"linux","architecture":")" + architectures[i] + R"("}})";
  }
  idx.manifest += "]}";
  idx.digest = writeBlob(idx.manifest);
  tagManifest(tag, "application/vnd.oci.image.index.v1+json", idx.digest, idx.manifest.size());
  return idx;
}

void OciLayout::push(const std::string& tag, const std::string& destination, bool all,
                     const std::string& creds) {
  std::string out;
  std::vector<std::string> argv = {"/usr/bin/skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                                   "--preserve-digests"};
  if (all) {
    argv.push_back("--all");
  }
  if (!creds.empty()) {
    argv.push_back("--dest-creds=" + creds);
  }
  argv.push_back("oci:" + dir_.path() + ":" + tag);
  argv.push_back("docker://" + destination);
  if (runCommand(argv, out) != 0) {
    throw std::runtime_error("skopeo copy failed: " + out);
  }
}

}  // namespace hm::testing
