#include "timestamp.h"

#include <openssl/err.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

#include "openssl_ptr.h"

namespace hm::sigstore {
namespace {

using RespPtr = Owned<TS_RESP, TS_RESP_free>;
using VerifyCtxPtr = Owned<TS_VERIFY_CTX, TS_VERIFY_CTX_free>;
using BioPtr = Owned<BIO, BIO_free>;

X509* certFromDer(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return d2i_X509(nullptr, &p, static_cast<long>(der.size()));
}

StatusOr<WallTime> genTime(TS_RESP* resp) {
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp);
  const ASN1_GENERALIZEDTIME* t = info != nullptr ? TS_TST_INFO_get_time(info) : nullptr;
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return failedPrecondition("the timestamp has no readable time");
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

StatusOr<WallTime> verifyTimestamp(const std::string& responseDer, const std::string& signedData,
                                   const TrustedRoot& root) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(responseDer.data());
  RespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(responseDer.size())));
  if (!resp) {
    ERR_clear_error();
    return failedPrecondition("the RFC 3161 timestamp is not a DER TimeStampResp");
  }
  auto when = genTime(resp.get());
  if (!when.ok()) {
    return when.status();
  }
  Status last = failedPrecondition("no timestamp authority of the trusted root was valid then");
  for (const auto& tsa : root.timestampAuthorities) {
    if (!tsa.validFor.contains(*when) || tsa.chainDer.empty()) {
      continue;
    }
    VerifyCtxPtr ctx(TS_VERIFY_CTX_new());
    X509_STORE* store = X509_STORE_new();
    STACK_OF(X509)* certs = sk_X509_new_null();
    for (size_t i = 0; i < tsa.chainDer.size(); ++i) {
      X509* c = certFromDer(tsa.chainDer[i]);
      if (c == nullptr) {
        continue;
      }
      if (i + 1 == tsa.chainDer.size()) {
        X509_STORE_add_cert(store, c);
        X509_free(c);
      } else {
        sk_X509_push(certs, c);
      }
    }
    // The authority's certificate may have expired since; it must have held when it signed.
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store),
                               std::chrono::system_clock::to_time_t(*when));
    BioPtr data(BIO_new_mem_buf(signedData.data(), static_cast<int>(signedData.size())));
    TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
    TS_VERIFY_CTX_set_store(ctx.get(), store);  // the context owns it now
    TS_VERIFY_CTX_set_certs(ctx.get(), certs);  // and these
    TS_VERIFY_CTX_set_data(ctx.get(), data.release());
    if (TS_RESP_verify_response(ctx.get(), resp.get()) == 1) {
      return *when;
    }
    unsigned long err = ERR_peek_last_error();
    char buf[256] = {};
    ERR_error_string_n(err, buf, sizeof buf);
    ERR_clear_error();
    last = failedPrecondition(std::string("the RFC 3161 timestamp does not verify (") + buf + ")");
  }
  return last;
}

}  // namespace hm::sigstore
