// RFC 3161 timestamps (a TimeStampResp, DER) from the trusted root's timestamp authorities.
#pragma once

#include <string>

#include "harbormaster/base/status.h"
#include "harbormaster/sigstore/trust.h"

namespace hm::sigstore {

// The time the authority vouches `signedData` existed at: the response is granted, its imprint
// is the hash of `signedData`, and it is signed by a TSA of the root whose chain holds at that
// time (expired since is fine) and whose validity contains it.
StatusOr<WallTime> verifyTimestamp(const std::string& responseDer, const std::string& signedData,
                                   const TrustedRoot& root);

}  // namespace hm::sigstore
