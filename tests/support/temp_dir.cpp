#include "support/temp_dir.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hm::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/hm-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& content) const {
  std::string tmp = file("." + name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
  }
  std::filesystem::rename(tmp, file(name));
}

SecretVolume::SecretVolume(const TempDir& dir, const std::string& name) : root_(dir.file(name)) {
  std::filesystem::create_directories(root_);
}

void SecretVolume::write(const std::map<std::string, std::string>& data) {
  namespace fs = std::filesystem;
  const std::string version = "..v" + std::to_string(++version_);
  fs::create_directories(root_ + "/" + version);
  for (const auto& [key, value] : data) {
    std::ofstream(root_ + "/" + version + "/" + key, std::ios::binary) << value;
    if (!fs::exists(fs::symlink_status(root_ + "/" + key))) {
      fs::create_symlink("..data/" + key, root_ + "/" + key);
    }
  }
  fs::remove(root_ + "/..data_tmp");
  fs::create_symlink(version, root_ + "/..data_tmp");
  fs::rename(root_ + "/..data_tmp", root_ + "/..data");
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sharedFile(const std::string& relative) {
  return std::string(HM_SHARED_DIR) + "/" + relative;
}

}  // namespace hm::testing
