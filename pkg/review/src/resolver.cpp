#include "harbormaster/facts/fact_cache.h"
#include "harbormaster/registry/client.h"
#include "harbormaster/review/engine.h"

namespace hm::review {
namespace {

using boost::asio::awaitable;

// A resolution, kept whether it succeeded (tagTtl) or not (failureTtl, reused only for
// messages).
struct Resolution {
  std::string digest;
  Status error;
};

class RegistryResolver final : public DigestResolver {
 public:
  RegistryResolver(std::shared_ptr<registry::Client> registry, DigestOptions options,
                   const Clock& clock)
      : registry_(std::move(registry)),
        cache_({options.tagTtl, options.failureTtl, std::chrono::seconds(0), options.maxEntries},
               clock) {}

  awaitable<StatusOr<std::string>> resolve(imageref::Reference tag, bool forFacts,
                                           Deadline deadline) override {
    if (tag.isPinned()) {
      co_return tag.digest;
    }
    facts::FactCache<Resolution>::Accept accept;
    if (forFacts) {
      accept = [](const Resolution& r) { return r.error.ok(); };
    }
    // Named first, awaited after: GCC 12 destroys temporaries inside a co_await expression
    // twice.
    facts::FactCache<Resolution>::Lookup lookup = [this, tag, deadline] {
      return lookUp(tag, deadline);
    };
    auto call = cache_.get(tag.normalized(), deadline, std::move(lookup), std::move(accept));
    auto got = co_await std::move(call);
    if (!got.status.ok()) {
      co_return got.status;
    }
    if (!got.value->error.ok()) {
      co_return got.value->error;
    }
    co_return got.value->digest;
  }

 private:
  awaitable<StatusOr<facts::Looked<Resolution>>> lookUp(imageref::Reference tag,
                                                        Deadline deadline) {
    auto digest = co_await registry_->resolveDigest(tag, deadline);
    auto r = std::make_shared<Resolution>();
    if (digest.ok()) {
      r->digest = *digest;
    } else {
      r->error = digest.status();
    }
    co_return facts::Looked<Resolution>{r, digest.ok()};
  }

  std::shared_ptr<registry::Client> registry_;
  facts::FactCache<Resolution> cache_;
};

}  // namespace

std::shared_ptr<DigestResolver> makeRegistryResolver(std::shared_ptr<registry::Client> registry,
                                                     DigestOptions options, const Clock& clock) {
  return std::make_shared<RegistryResolver>(std::move(registry), options, clock);
}

}  // namespace hm::review
