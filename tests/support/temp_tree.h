#pragma once
// A temporary directory tree for a test, removed at the end: cgroup trees, fake /proc and /sys,
// state directories. One class for every tier.
#include <fcntl.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace testing_support {

namespace fs = std::filesystem;

inline std::string readText(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void writeText(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "iops-limit-test.XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }
    // An absolute path below the tree, as a string (what the code under test takes).
    std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }
    void makeDir(const std::string& rel) const { fs::create_directories(path_ / rel); }
    void makeFile(const std::string& rel, const std::string& content = "") const { writeText(path_ / rel, content); }
    std::string read(const std::string& rel) const { return readText(path_ / rel); }

private:
    fs::path path_;
};

}  // namespace testing_support
