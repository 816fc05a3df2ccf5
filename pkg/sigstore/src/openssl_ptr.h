// unique_ptr for OpenSSL objects: OwnedBy<X509_free> deletes with X509_free.
#pragma once

#include <memory>

namespace hm::sigstore {

template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

template <typename T, auto Free>
using Owned = std::unique_ptr<T, FreeWith<Free>>;

}  // namespace hm::sigstore
