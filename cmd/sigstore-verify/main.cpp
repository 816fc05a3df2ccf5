// sigstore-verify: the sigstore-conformance client protocol over hm::sigstore, so conformance
// cases can be run against the verifier the webhook uses.
//
//   sigstore-verify verify-bundle --bundle F (--key K | (--certificate-identity I |
//       --certificate-identity-regexp RE) --certificate-oidc-issuer U) [--trusted-root R]
//       (FILE | sha256:HEX | sha512:HEX)
//
// --certificate-identity-regexp is cosign's flag: Go/RE2 syntax, searched (anchor with ^…$).
//
// Exit 0: verified. 1: not verified (the reason on stderr). 2: usage error. Without
// --trusted-root, $SIGSTORE_TRUSTED_ROOT names the file (there is no built-in root).
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "harbormaster/base/files.h"
#include "harbormaster/sigstore/verify.h"

namespace {

using namespace hm;

int usage(const std::string& why) {
  std::cerr << "sigstore-verify: " << why << "\n"
            << "usage: sigstore-verify verify-bundle --bundle F (--key K | (--certificate-identity "
               "I | --certificate-identity-regexp RE) --certificate-oidc-issuer U) "
               "[--trusted-root R] "
               "(FILE | sha256:HEX | sha512:HEX)\n";
  return 2;
}

int fail(const std::string& why) {
  std::cerr << "sigstore-verify: not verified: " << why << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] != "verify-bundle") {
    return usage("the only command is verify-bundle");
  }
  std::string bundlePath, keyPath, identity, identityRegExp, issuer, rootPath, subject;
  for (size_t i = 1; i < args.size(); ++i) {
    auto value = [&](std::string& into) {
      if (i + 1 >= args.size()) {
        return false;
      }
      into = args[++i];
      return true;
    };
    const std::string& a = args[i];
    bool ok = true;
    if (a == "--bundle") {
      ok = value(bundlePath);
    } else if (a == "--key") {
      ok = value(keyPath);
    } else if (a == "--certificate-identity") {
      ok = value(identity);
    } else if (a == "--certificate-identity-regexp") {
      ok = value(identityRegExp);
    } else if (a == "--certificate-oidc-issuer") {
      ok = value(issuer);
    } else if (a == "--trusted-root") {
      ok = value(rootPath);
    } else if (a.rfind("--", 0) == 0) {
      return usage("unknown flag " + a);
    } else if (subject.empty()) {
      subject = a;
    } else {
      return usage("more than one artifact given");
    }
    if (!ok) {
      return usage(a + " needs a value");
    }
  }
  if (bundlePath.empty() || subject.empty()) {
    return usage("--bundle and the artifact are required");
  }
  const bool keyless = !identity.empty() || !identityRegExp.empty();
  if (keyPath.empty() == !keyless) {
    return usage(
        "give either --key or --certificate-identity(-regexp) with --certificate-oidc-issuer");
  }
  if (!identity.empty() && !identityRegExp.empty()) {
    return usage("give one of --certificate-identity and --certificate-identity-regexp");
  }
  if (rootPath.empty() && std::getenv("SIGSTORE_TRUSTED_ROOT") != nullptr) {
    rootPath = std::getenv("SIGSTORE_TRUSTED_ROOT");
  }
  if (rootPath.empty()) {
    return usage(
        "--trusted-root (or SIGSTORE_TRUSTED_ROOT) is required: there is no built-in root");
  }
  auto rootText = readFile(rootPath, 4 << 20);
  if (!rootText.ok()) {
    return usage(rootText.status().message());
  }
  auto root = sigstore::TrustedRoot::parse(*rootText);
  if (!root.ok()) {
    return fail(root.status().message());
  }
  auto bundle = readFile(bundlePath, 16 << 20);
  if (!bundle.ok()) {
    return usage(bundle.status().message());
  }
  sigstore::Artifact artifact;
  if (subject.rfind("sha256:", 0) == 0 || subject.rfind("sha512:", 0) == 0) {
    auto a = sigstore::Artifact::fromDigest(subject);
    if (!a.ok()) {
      return usage(a.status().message());
    }
    artifact = std::move(*a);
  } else {
    auto bytes = readFile(subject, 1ull << 30);
    if (!bytes.ok()) {
      return usage(bytes.status().message());
    }
    artifact = sigstore::Artifact::fromBytes(std::move(*bytes));
  }
  sigstore::SignerPolicy policy;
  if (!keyPath.empty()) {
    auto pem = readFile(keyPath, 1 << 20);
    if (!pem.ok()) {
      return usage(pem.status().message());
    }
    auto key = sigstore::PublicKey::fromPem(*pem);
    if (!key.ok()) {
      return fail("--key: " + key.status().message());
    }
    policy.keys.push_back(std::move(*key));
  }
  if (keyless) {
    if (issuer.empty()) {
      return usage("--certificate-identity(-regexp) needs --certificate-oidc-issuer");
    }
    std::optional<regexp::RegExp> pattern;
    if (!identityRegExp.empty()) {
      // The matcher policies use (RE2, Go syntax, searched), so a pattern tried here behaves the
      // same in a ClusterImagePolicy.
      auto re = regexp::RegExp::compile(identityRegExp);
      if (!re.ok()) {
        return usage("--certificate-identity-regexp " + re.status().message());
      }
      pattern = std::move(*re);
    }
    policy.identities.push_back({issuer, identity, std::move(pattern)});
  }
  auto verified =
      sigstore::verifyBundle(*bundle, artifact, policy, *root, std::chrono::system_clock::now());
  if (!verified.ok()) {
    return fail(verified.status().message());
  }
  std::cout << "verified: " << verified->signer << "\n";
  return 0;
}
