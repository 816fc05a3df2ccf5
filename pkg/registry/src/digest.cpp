#include <openssl/evp.h>

#include "harbormaster/base/encoding.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/registry/types.h"

namespace hm::registry {

StatusOr<std::string> digestOf(std::string_view algorithm, std::string_view bytes) {
  const EVP_MD* md = algorithm == "sha256"   ? EVP_sha256()
                     : algorithm == "sha512" ? EVP_sha512()
                                             : nullptr;
  if (md == nullptr) {
    return invalidArgument("digest algorithm \"" + std::string(algorithm) + "\" is not supported");
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out, &len, md, nullptr) != 1) {
    return internalError("OpenSSL failed to hash");
  }
  return std::string(algorithm) + ":" +
         hexEncode(std::string_view(reinterpret_cast<const char*>(out), len));
}

Status verifyDigest(std::string_view expected, std::string_view bytes, std::string_view what) {
  HM_RETURN_IF_ERROR(imageref::validateDigest(expected));
  auto actual = digestOf(expected.substr(0, expected.find(':')), bytes);
  if (!actual.ok()) {
    return actual.status();
  }
  if (*actual != expected) {
    return failedPrecondition(std::string(what) + " does not match its digest: expected " +
                              std::string(expected) + ", the bytes hash to " + *actual);
  }
  return okStatus();
}

}  // namespace hm::registry
