// Where the Kubernetes API is and how to authenticate to it: kubeconfig files and in-cluster.
//
//   auto config = hm::kube::loadConfig({.kubeconfig = flagValue, .context = ""});
//   hm::kube::Credentials creds(*config);   // credentials.h
//
// loadConfig follows controller-runtime's order, which is what operators' users expect:
// --kubeconfig, then $KUBECONFIG (a ':'-separated list merged as kubectl merges it: the first
// file to define a cluster, user or context name wins, and the first current-context set wins),
// then the in-cluster service account, then ~/.kube/config. Relative paths in a kubeconfig
// resolve against that file's directory, as in kubectl.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/base/time.h"

namespace hm::kube {

// users[].user.exec: a credential plugin (client.authentication.k8s.io/v1 or v1beta1), as the
// EKS, GKE and AKS kubeconfigs use.
struct ExecPlugin {
  std::string apiVersion;
  std::string command;  // absolute, relative to the kubeconfig's directory, or looked up in PATH
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string baseDir;  // the kubeconfig's directory, for a relative command
};

// The command to run: a path with a '/' is relative to the kubeconfig's directory (as in
// kubectl); a bare name is looked up in PATH.
std::string execCommandPath(const ExecPlugin& plugin);

struct ClusterConfig {
  std::string server;  // https://host:port
  std::string caPem;   // empty: the system trust store
  bool insecureSkipTlsVerify = false;
  std::string tlsServerName;
  std::string token;      // a static bearer token
  std::string tokenFile;  // re-read on each refresh: the kubelet rotates projected tokens
  std::string clientCertPem;
  std::string clientKeyPem;
  std::optional<ExecPlugin> exec;
  std::string nameSpace = "default";
  std::string source;  // "kubeconfig /path (context ctx)" or "in-cluster", for messages
};

struct LoadOptions {
  std::string kubeconfig;  // --kubeconfig
  std::string context;     // --context; empty: current-context
  // For tests: the environment and the service-account directory to read.
  std::optional<std::string> kubeconfigEnv;  // default: $KUBECONFIG
  std::string serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
  std::optional<std::string> serviceHost;  // default: $KUBERNETES_SERVICE_HOST
  std::optional<std::string> servicePort;  // default: $KUBERNETES_SERVICE_PORT
  std::optional<std::string> home;         // default: $HOME
};

StatusOr<ClusterConfig> loadConfig(const LoadOptions& options);
// The merged files, then the context (empty: current-context).
StatusOr<ClusterConfig> loadKubeconfig(const std::vector<std::string>& files,
                                       const std::string& context);
// The same from texts already read (what the fuzz target drives): each is one YAML document,
// loaded within hm::yaml's bounds.
struct KubeconfigText {
  std::string path;
  std::string text;
};
StatusOr<ClusterConfig> parseKubeconfig(const std::vector<KubeconfigText>& texts,
                                        const std::string& context);
StatusOr<ClusterConfig> inClusterConfig(const LoadOptions& options);

}  // namespace hm::kube
