#include "discovery.h"

#include "harbormaster/net/task_group.h"

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

// A signature layer to fetch, and what came back.
struct LayerFetch {
  registry::Descriptor layer;
  StatusOr<std::string> blob = internalError("not fetched");
};

using Fetches = std::vector<std::shared_ptr<LayerFetch>>;

// The candidate layers of one signature manifest, at most `max` in all.
void addLayers(const registry::Manifest& manifest, size_t max, Fetches& out) {
  for (const registry::Descriptor& layer : manifest.layers) {
    if (out.size() >= max) {
      return;
    }
    if (isBundleLayer(layer) || isLegacyLayer(layer)) {
      out.push_back(std::make_shared<LayerFetch>(LayerFetch{layer}));
    }  // other attachments (SBOMs, attestations by other tools) are not signatures
  }
}

// Blobs by digest (the registry client checks each), all at once.
std::vector<net::Task> blobTasks(registry::Client& registry, const imageref::Reference& repo,
                                 const Fetches& fetches, registry::Deadline deadline) {
  std::vector<net::Task> tasks;
  for (const auto& f : fetches) {
    tasks.push_back([&registry, repo, f, deadline]() -> awaitable<void> {
      f->blob = co_await registry.getBlob(repo, f->layer.digest, deadline, 1024 * 1024);
    });
  }
  return tasks;
}

StatusOr<std::vector<Candidate>> candidates(const Fetches& fetches, size_t max) {
  std::vector<Candidate> out;
  for (const auto& f : fetches) {
    if (out.size() >= max) {
      break;
    }
    if (!f->blob.ok()) {
      return f->blob.status();
    }
    Candidate c;
    c.isBundle = isBundleLayer(f->layer);
    if (c.isBundle) {
      c.bundle = std::move(*f->blob);
    } else {
      c.legacy = {f->layer.mediaType, std::move(*f->blob), f->layer.annotations};
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

awaitable<StatusOr<std::vector<Candidate>>> discoverSignatures(registry::Client& registry,
                                                               imageref::Reference repo,
                                                               std::string digest, size_t max,
                                                               registry::Deadline deadline) {
  repo.tag.clear();
  repo.digest.clear();
  repo.tagImplied = false;
  imageref::Reference sigTag = repo;
  sigTag.tag =
      digest.substr(0, digest.find(':')) + "-" + digest.substr(digest.find(':') + 1) + ".sig";

  // Round one: the referrers and the legacy .sig manifest do not depend on each other.
  auto referrers = std::make_shared<StatusOr<std::vector<registry::Descriptor>>>(internalError(""));
  auto sig = std::make_shared<StatusOr<registry::Manifest>>(internalError(""));
  auto round = net::tasks(
      [&registry, repo, digest, deadline, referrers]() -> awaitable<void> {
        *referrers = co_await registry.referrers(repo, digest, deadline);
      },
      [&registry, sigTag, deadline, sig]() -> awaitable<void> {
        *sig = co_await registry.getManifest(sigTag, deadline);
      });
  co_await net::runConcurrently(std::move(round));
  if (!referrers->ok() && !isNotFound(referrers->status())) {
    co_return referrers->status();
  }
  if (!sig->ok() && !isNotFound(sig->status())) {
    co_return sig->status();
  }

  // Round two: every referrer manifest (a flood of referrers without signatures — SBOMs, junk —
  // costs at most `max` fetches) and the legacy payloads.
  std::vector<std::shared_ptr<StatusOr<registry::Manifest>>> manifests;
  std::vector<net::Task> tasks;
  if (referrers->ok()) {
    for (const registry::Descriptor& d : **referrers) {
      if (manifests.size() >= max) {
        break;
      }
      imageref::Reference at = repo;
      at.digest = d.digest;
      auto slot = std::make_shared<StatusOr<registry::Manifest>>(internalError(""));
      manifests.push_back(slot);
      tasks.push_back([&registry, at, deadline, slot]() -> awaitable<void> {
        *slot = co_await registry.getManifest(at, deadline);
      });
    }
  }
  Fetches legacy;
  if (sig->ok() && !(*sig)->isIndex) {
    addLayers(**sig, max, legacy);
  }
  for (net::Task& t : blobTasks(registry, repo, legacy, deadline)) {
    tasks.push_back(std::move(t));
  }
  co_await net::runConcurrently(std::move(tasks));

  // Round three: the bundles the referrer manifests carry.
  Fetches bundles;
  for (const auto& manifest : manifests) {
    if (!manifest->ok()) {
      if (isNotFound(manifest->status())) {
        continue;  // deleted since the index was written
      }
      co_return manifest->status();
    }
    // A fallback index is written by clients, not the registry: trust only manifests that name
    // this digest themselves.
    const registry::Manifest& m = **manifest;
    if (m.isIndex || !m.subject || m.subject->digest != digest) {
      continue;
    }
    addLayers(m, max, bundles);
  }
  auto blobs = blobTasks(registry, repo, bundles, deadline);
  co_await net::runConcurrently(std::move(blobs));

  Fetches all = bundles;
  all.insert(all.end(), legacy.begin(), legacy.end());
  co_return candidates(all, max);
}

}  // namespace hm::signaturegate
