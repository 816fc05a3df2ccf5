#pragma once

#include <map>
#include <string>

namespace hm::testing {

// A fresh directory under $TMPDIR, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes atomically (write then rename), as a config reloader would see a real update.
  void write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// A Secret volume as the kubelet lays it out under `dir`/`name`: each key a symlink through
// ..data into a versioned directory, an update swapping ..data in one rename (what a reader of a
// mounted Secret sees when it changes).
class SecretVolume {
 public:
  SecretVolume(const TempDir& dir, const std::string& name);
  void write(const std::map<std::string, std::string>& data);
  const std::string& path() const { return root_; }

 private:
  std::string root_;
  int version_ = 0;
};

std::string readText(const std::string& path);
std::string sharedFile(const std::string& relative);

}  // namespace hm::testing
