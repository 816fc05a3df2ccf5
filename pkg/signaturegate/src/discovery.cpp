#include "discovery.h"

namespace hm::signaturegate {
namespace {

using boost::asio::awaitable;

constexpr std::string_view kBundlePrefix = "application/vnd.dev.sigstore.bundle";

bool isBundleLayer(const registry::Descriptor& d) {
  return d.mediaType.rfind(kBundlePrefix, 0) == 0;
}

bool isLegacyLayer(const registry::Descriptor& d) {
  return d.mediaType == sigstore::kSimpleSigningMediaType;
}

// The candidates among one signature manifest's layers; blobs are fetched by digest (checked).
awaitable<Status> collectLayers(registry::Client& registry, const imageref::Reference& repo,
                                const registry::Manifest& manifest, size_t max,
                                registry::Deadline deadline, std::vector<Candidate>& out) {
  for (const registry::Descriptor& layer : manifest.layers) {
    if (out.size() >= max) {
      break;
    }
    const bool bundle = isBundleLayer(layer);
    if (!bundle && !isLegacyLayer(layer)) {
      continue;  // other attachments (SBOMs, attestations by other tools)
    }
    auto blob = co_await registry.getBlob(repo, layer.digest, deadline, 1024 * 1024);
    if (!blob.ok()) {
      co_return blob.status();
    }
    Candidate c;
    c.isBundle = bundle;
    if (bundle) {
      c.bundle = std::move(*blob);
    } else {
      c.legacy = {layer.mediaType, std::move(*blob), layer.annotations};
    }
    out.push_back(std::move(c));
  }
  co_return okStatus();
}

}  // namespace

awaitable<StatusOr<std::vector<Candidate>>> discoverSignatures(registry::Client& registry,
                                                               imageref::Reference repo,
                                                               std::string digest, size_t max,
                                                               registry::Deadline deadline) {
  std::vector<Candidate> out;
  repo.tag.clear();
  repo.digest.clear();
  repo.tagImplied = false;
  auto referrers = co_await registry.referrers(repo, digest, deadline);
  if (!referrers.ok() && !isNotFound(referrers.status())) {
    co_return referrers.status();
  }
  if (referrers.ok()) {
    size_t fetched = 0;
    for (const registry::Descriptor& d : *referrers) {
      // Both bounds: a flood of referrers without signatures (SBOMs, junk) costs at most `max`
      // manifest fetches.
      if (out.size() >= max || fetched++ >= max) {
        break;
      }
      imageref::Reference at = repo;
      at.digest = d.digest;
      auto manifest = co_await registry.getManifest(at, deadline);
      if (!manifest.ok()) {
        if (isNotFound(manifest.status())) {
          continue;  // deleted since the index was written
        }
        co_return manifest.status();
      }
      // A fallback index is written by clients, not the registry: trust only manifests that
      // name this digest themselves.
      if (manifest->isIndex || !manifest->subject || manifest->subject->digest != digest) {
        continue;
      }
      Status s = co_await collectLayers(registry, repo, *manifest, max, deadline, out);
      if (!s.ok()) {
        co_return s;
      }
    }
  }
  imageref::Reference sigTag = repo;
  sigTag.tag =
      digest.substr(0, digest.find(':')) + "-" + digest.substr(digest.find(':') + 1) + ".sig";
  auto sig = co_await registry.getManifest(sigTag, deadline);
  if (!sig.ok()) {
    if (isNotFound(sig.status())) {
      co_return out;
    }
    co_return sig.status();
  }
  if (!sig->isIndex) {
    Status s = co_await collectLayers(registry, repo, *sig, max, deadline, out);
    if (!s.ok()) {
      co_return s;
    }
  }
  co_return out;
}

}  // namespace hm::signaturegate
