#pragma once

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

std::string readText(const std::string& path);
std::string sharedFile(const std::string& relative);

}  // namespace hm::testing
