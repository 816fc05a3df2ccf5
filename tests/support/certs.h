#pragma once

#include <string>

namespace hm::testing {

// Writes a self-signed P-256 certificate for localhost/127.0.0.1 with the given CN, made in
// process with OpenSSL's API (as `openssl req -x509` makes it), so no process is started.
void makeSelfSignedCert(const std::string& certPath, const std::string& keyPath,
                        const std::string& commonName,
                        const std::string& subjectAltName = "DNS:localhost,IP:127.0.0.1");

// A self-signed client certificate with the given subject ("/O=system:masters/CN=alice"); a
// server that lists it in its client CA bundle accepts it.
void makeClientCert(const std::string& certPath, const std::string& keyPath,
                    const std::string& subject);

}  // namespace hm::testing
