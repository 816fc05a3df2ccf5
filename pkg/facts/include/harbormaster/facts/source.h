// Fact sources: what the review pipeline asks about an image besides its reference (Harbor's
// scan, cosign signatures, …), behind one small interface.
//
// Per review, for each distinct image, the pipeline asks every source for the lookups the image
// needs (Source::plan: none when no policy that judges the image asks that source); resolves a
// tag to its digest once for all of them; runs every lookup of every image concurrently under
// the review's deadline; and attaches what each found to each use of the image before the pure
// checks run. A lookup never fails: an outage is a fact the policy judges ("could not check"),
// and a lookup that did not finish (cut at the deadline, threw, digest unresolved) is attached
// as Lookup::unfinished() — never as a pass.
//
// Adding a source: implement Source and Lookup in its own module with a SourceModule
// (module.h: its flags, metrics, factory and policy sections — policy/section.h: the spec
// field that asks for the fact and the check that judges it) and list it in
// cmd/harbormaster/sources.cpp (docs/architecture.md).
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/evaluate.h"

namespace hm::facts {

using Deadline = std::chrono::steady_clock::time_point;

// Puts a gathered fact on one use of the image (ImageUse::scan, ImageUse::signatures, a
// section's ImageUse::facts entry).
using Attach = std::function<void(policy::ImageUse&)>;

// What a source is asked about one distinct image of a review.
struct ImageQuery {
  const policy::PlannedImage& image;  // parsed; the policies that judge it
  // The set the plan points into; a lookup that keeps rule pointers keeps this alive too.
  std::shared_ptr<const policy::PolicySet> policies;
  bool dryRun = false;   // the request must have no side effects (no scan requests)
  bool inspect = false;  // gather what can be known even when no policy asks (check)
};

class Lookup {
 public:
  virtual ~Lookup() = default;
  // Whether run() needs the image pinned: false for facts known without the registry.
  virtual bool needsDigest() const { return true; }
  // `pinned` is the image at the digest judged: its own, or the one its tag resolved to.
  virtual boost::asio::awaitable<Attach> run(imageref::Reference pinned, Deadline deadline) = 0;
  // The fact when it is already known (a fresh cache entry), without I/O: the warm path runs no
  // coroutine. nullopt: run() must look.
  virtual std::optional<Attach> cached(const imageref::Reference& pinned) {
    (void)pinned;
    return std::nullopt;
  }
  // The fact for a lookup that did not finish. Reads only what the lookup was built with (run()
  // may still be going on another thread).
  virtual Attach unfinished(const Status& why) const = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<std::shared_ptr<Lookup>> plan(const ImageQuery& query) = 0;
  // Forgets what is cached about this digest (a Harbor event said it changed).
  virtual void invalidate(const std::string& digest) { (void)digest; }
};

}  // namespace hm::facts
