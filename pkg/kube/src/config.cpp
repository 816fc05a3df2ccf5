#include "harbormaster/kube/config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "harbormaster/base/encoding.h"
#include "harbormaster/base/files.h"
#include "harbormaster/yaml/load.h"

namespace hm::kube {
namespace {

struct ConfigFile {
  std::string path;
  YAML::Node root;
  std::string dir() const { return std::filesystem::path(path).parent_path().string(); }
};

std::string resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) {
    return path;
  }
  return dir + "/" + path;
}

std::string scalar(const YAML::Node& n, const char* key) {
  return n && n.IsMap() && n[key] && n[key].IsScalar() ? n[key].Scalar() : "";
}

// The first file's entry named `name` in the list `section` (clusters, users, contexts).
std::optional<std::pair<YAML::Node, const ConfigFile*>> find(const std::vector<ConfigFile>& files,
                                                             const char* section,
                                                             const std::string& name) {
  for (const ConfigFile& f : files) {
    const YAML::Node list = f.root[section];
    if (!list || !list.IsSequence()) {
      continue;
    }
    for (const auto& item : list) {
      if (scalar(item, "name") == name) {
        return std::make_pair(item, &f);
      }
    }
  }
  return std::nullopt;
}

// "<field>-data" (base64) or "<field>" (a file path relative to the kubeconfig).
StatusOr<std::string> pemFrom(const YAML::Node& n, const std::string& field, const ConfigFile& file,
                              const std::string& what) {
  std::string data = scalar(n, (field + "-data").c_str());
  if (!data.empty()) {
    auto decoded = base64Decode(data);
    if (!decoded) {
      return invalidArgument(file.path + ": " + what + "." + field + "-data is not base64");
    }
    return *decoded;
  }
  std::string path = scalar(n, field.c_str());
  if (path.empty()) {
    return std::string();
  }
  auto text = readFile(resolve(file.dir(), path), 1024 * 1024);
  if (!text.ok()) {
    return text.status().withContext(file.path + ": " + what + "." + field);
  }
  return *text;
}

Status readCluster(const std::vector<ConfigFile>& files, const std::string& name,
                   ClusterConfig& out) {
  auto found = find(files, "clusters", name);
  if (!found) {
    return invalidArgument("kubeconfig: cluster \"" + name + "\" is not defined");
  }
  const YAML::Node c = found->first["cluster"];
  const ConfigFile& file = *found->second;
  out.server = scalar(c, "server");
  if (out.server.empty()) {
    return invalidArgument(file.path + ": cluster \"" + name + "\" has no server");
  }
  out.insecureSkipTlsVerify = scalar(c, "insecure-skip-tls-verify") == "true";
  out.tlsServerName = scalar(c, "tls-server-name");
  auto ca = pemFrom(c, "certificate-authority", file, "cluster \"" + name + "\"");
  if (!ca.ok()) {
    return ca.status();
  }
  out.caPem = std::move(*ca);
  return okStatus();
}

Status readUser(const std::vector<ConfigFile>& files, const std::string& name, ClusterConfig& out) {
  if (name.empty()) {
    return okStatus();  // anonymous
  }
  auto found = find(files, "users", name);
  if (!found) {
    return invalidArgument("kubeconfig: user \"" + name + "\" is not defined");
  }
  const YAML::Node u = found->first["user"];
  const ConfigFile& file = *found->second;
  const std::string what = "user \"" + name + "\"";
  if (!scalar(u, "username").empty() || !scalar(u, "auth-provider").empty() ||
      (u && u["auth-provider"])) {
    return invalidArgument(file.path + ": " + what +
                           " uses basic auth or an auth-provider, which Harbormaster does not "
                           "support; use a token, a client certificate or an exec plugin");
  }
  out.token = scalar(u, "token");
  out.tokenFile = scalar(u, "tokenFile").empty() ? "" : resolve(file.dir(), scalar(u, "tokenFile"));
  auto cert = pemFrom(u, "client-certificate", file, what);
  if (!cert.ok()) {
    return cert.status();
  }
  auto key = pemFrom(u, "client-key", file, what);
  if (!key.ok()) {
    return key.status();
  }
  if (cert->empty() != key->empty()) {
    return invalidArgument(file.path + ": " + what +
                           " needs both client-certificate and client-key");
  }
  out.clientCertPem = std::move(*cert);
  out.clientKeyPem = std::move(*key);
  if (const YAML::Node e = u["exec"]; e && e.IsMap()) {
    ExecPlugin plugin;
    plugin.apiVersion = scalar(e, "apiVersion");
    plugin.command = scalar(e, "command");
    plugin.baseDir = file.dir();
    if (plugin.command.empty()) {
      return invalidArgument(file.path + ": " + what + ".exec.command is required");
    }
    if (plugin.apiVersion != "client.authentication.k8s.io/v1" &&
        plugin.apiVersion != "client.authentication.k8s.io/v1beta1") {
      return invalidArgument(file.path + ": " + what +
                             ".exec.apiVersion must be "
                             "client.authentication.k8s.io/v1 or v1beta1, got \"" +
                             plugin.apiVersion + "\"");
    }
    if (e["args"] && e["args"].IsSequence()) {
      for (const auto& a : e["args"]) {
        plugin.args.push_back(a.Scalar());
      }
    }
    if (e["env"] && e["env"].IsSequence()) {
      for (const auto& v : e["env"]) {
        plugin.env.emplace_back(scalar(v, "name"), scalar(v, "value"));
      }
    }
    out.exec = std::move(plugin);
  }
  return okStatus();
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::optional<std::string>(v) : std::nullopt;
}

}  // namespace

std::string execCommandPath(const ExecPlugin& plugin) {
  return plugin.command.find('/') != std::string::npos ? resolve(plugin.baseDir, plugin.command)
                                                       : plugin.command;
}

StatusOr<ClusterConfig> loadKubeconfig(const std::vector<std::string>& paths,
                                       const std::string& context) {
  std::vector<KubeconfigText> texts;
  for (const auto& path : paths) {
    auto text = readFile(path, 4 * 1024 * 1024);
    if (!text.ok()) {
      return text.status().withContext("kubeconfig");
    }
    texts.push_back({path, std::move(*text)});
  }
  return parseKubeconfig(texts, context);
}

StatusOr<ClusterConfig> parseKubeconfig(const std::vector<KubeconfigText>& texts,
                                        const std::string& context) {
  std::vector<ConfigFile> files;
  for (const auto& [path, text] : texts) {
    auto root = yaml::loadOne(text, "kubeconfig " + path);
    if (!root.ok()) {
      return root.status();
    }
    if (*root && !root->IsNull() && !root->IsMap()) {
      return invalidArgument("kubeconfig " + path + " is not a mapping");
    }
    files.push_back({path, *root});
  }
  try {
    std::string name = context;
    for (const ConfigFile& f : files) {
      if (!name.empty()) {
        break;
      }
      name = scalar(f.root, "current-context");
    }
    if (name.empty()) {
      return invalidArgument("kubeconfig: no context given and no current-context set");
    }
    auto ctx = find(files, "contexts", name);
    if (!ctx) {
      return invalidArgument("kubeconfig: context \"" + name + "\" is not defined");
    }
    const YAML::Node c = ctx->first["context"];
    ClusterConfig out;
    out.source = "kubeconfig " + ctx->second->path + " (context " + name + ")";
    HM_RETURN_IF_ERROR(readCluster(files, scalar(c, "cluster"), out));
    HM_RETURN_IF_ERROR(readUser(files, scalar(c, "user"), out));
    if (!scalar(c, "namespace").empty()) {
      out.nameSpace = scalar(c, "namespace");
    }
    return out;
  } catch (const YAML::Exception& e) {
    return invalidArgument(std::string("kubeconfig: ") + e.what());
  }
}

StatusOr<ClusterConfig> inClusterConfig(const LoadOptions& options) {
  std::string host = options.serviceHost.value_or(env("KUBERNETES_SERVICE_HOST").value_or(""));
  std::string port = options.servicePort.value_or(env("KUBERNETES_SERVICE_PORT").value_or(""));
  if (host.empty() || port.empty()) {
    return notFound("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  ClusterConfig out;
  out.server =
      "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  out.tokenFile = options.serviceAccountDir + "/token";
  auto ca = readFile(options.serviceAccountDir + "/ca.crt", 1024 * 1024);
  if (!ca.ok()) {
    return ca.status().withContext("in-cluster CA");
  }
  out.caPem = std::move(*ca);
  if (auto ns = readFile(options.serviceAccountDir + "/namespace", 1024); ns.ok()) {
    std::string name = ns->substr(0, ns->find_first_of("\r\n"));
    if (!name.empty()) {
      out.nameSpace = name;
    }
  }
  out.source = "in-cluster service account";
  return out;
}

StatusOr<ClusterConfig> loadConfig(const LoadOptions& options) {
  if (!options.kubeconfig.empty()) {
    return loadKubeconfig({options.kubeconfig}, options.context);
  }
  std::string list = options.kubeconfigEnv.value_or(env("KUBECONFIG").value_or(""));
  std::vector<std::string> files;
  for (size_t start = 0; start <= list.size();) {
    size_t colon = list.find(':', start);
    std::string path = list.substr(start, colon == std::string::npos ? colon : colon - start);
    // kubectl skips entries that do not exist.
    if (!path.empty() && std::filesystem::exists(path)) {
      files.push_back(path);
    }
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  if (!files.empty()) {
    return loadKubeconfig(files, options.context);
  }
  auto inCluster = inClusterConfig(options);
  if (inCluster.ok() || inCluster.status().code() != StatusCode::kNotFound) {
    return inCluster;
  }
  std::string home = options.home.value_or(env("HOME").value_or(""));
  std::string fallback = home + "/.kube/config";
  if (!home.empty() && std::filesystem::exists(fallback)) {
    return loadKubeconfig({fallback}, options.context);
  }
  return notFound(
      "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a cluster, or "
      "create ~/.kube/config");
}

}  // namespace hm::kube
