#include "support/certs.h"

#include <cstdlib>
#include <stdexcept>

namespace hm::testing {

void makeSelfSignedCert(const std::string& certPath, const std::string& keyPath,
                        const std::string& commonName, const std::string& subjectAltName) {
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
      " -subj /CN=" +
      commonName + " -addext subjectAltName=" + subjectAltName + " -keyout '" + keyPath +
      "' -out '" + certPath + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("openssl could not create a test certificate");
  }
}

void makeClientCert(const std::string& certPath, const std::string& keyPath,
                    const std::string& subject) {
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj '" +
      subject + "' -addext extendedKeyUsage=clientAuth -keyout '" + keyPath + "' -out '" +
      certPath + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("openssl could not create a test client certificate");
  }
}

}  // namespace hm::testing
