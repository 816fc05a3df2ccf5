// events.k8s.io/v1 Events about an object, aggregated so a flapping condition does not flood
// etcd: the same (object, type, reason, note) within 10 minutes bumps the first Event's
// series.count instead of writing a new one.
#pragma once

#include "harbormaster/kube/client.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace hm::kube {

struct EventSpec {
  std::string type = "Normal";  // Normal | Warning
  std::string reason;           // CamelCase: ProjectCreated, SecretRotated
  std::string action;           // what the controller did: Create, Update, Rotate
  std::string note;             // human-readable, at most 1 KiB (longer is cut)
};

class EventRecorder {
 public:
  EventRecorder(std::shared_ptr<Client> kube, std::string controller, std::string instance,
                std::chrono::minutes window = std::chrono::minutes(10));

  // `regarding` is the object (apiVersion, kind, metadata.name/namespace/uid are used). Events
  // for cluster-scoped objects go to the "default" namespace, as kubectl describe expects.
  boost::asio::awaitable<Status> record(nlohmann::json regarding, EventSpec event,
                                        Deadline deadline);

 private:
  struct Series {
    std::string name;
    std::string nameSpace;
    int64_t count = 1;
    std::chrono::steady_clock::time_point first;
  };

  std::shared_ptr<Client> kube_;
  std::string controller_;
  std::string instance_;
  std::chrono::minutes window_;
  std::mutex mu_;
  std::map<std::string, Series> series_;
  uint64_t sequence_ = 0;
};

}  // namespace hm::kube
