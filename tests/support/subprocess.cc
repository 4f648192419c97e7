#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"

extern char** environ;

namespace xctl::testing {

Subprocess::Subprocess(std::vector<std::string> argv, std::string output_prefix,
                       std::vector<std::string> extra_env)
    : output_prefix_(std::move(output_prefix)) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::string out = output_prefix_ + ".out";
  std::string err = output_prefix_ + ".err";
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (auto& e : extra_env) env_strings.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  if (posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), env.data()) != 0) {
    pid_ = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_code_) {
    kill(pid_, SIGKILL);
    Wait(absl::Seconds(10));
  }
}

void Subprocess::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) kill(pid_, sig);
}

std::optional<int> Subprocess::Wait(absl::Duration timeout) {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (absl::Now() > deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

std::string Subprocess::Stdout() const { return ReadFile(output_prefix_ + ".out"); }
std::string Subprocess::Stderr() const { return ReadFile(output_prefix_ + ".err"); }

std::optional<std::string> WaitForFileLine(const std::string& path,
                                           absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::string content = ReadFile(path);
    size_t nl = content.find('\n');
    if (nl != std::string::npos) return content.substr(0, nl);
    absl::SleepFor(absl::Milliseconds(10));
  }
  return std::nullopt;
}

namespace {

// Temp dirs of this test process, removed when it exits (a test's child
// processes are gone by then); XCTL_KEEP_TEST_FILES=1 keeps them to look at.
std::vector<std::string>& TempDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

void RemoveTempDirs() {
  const char* keep = std::getenv("XCTL_KEEP_TEST_FILES");
  if (keep && std::string(keep) == "1") return;
  for (const std::string& dir : TempDirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

}  // namespace

std::string MakeTempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string root = base ? base : std::filesystem::temp_directory_path().string();
  std::string dir = root + "/xctl-" + name + "-" + std::to_string(getpid()) +
                    "-" + std::to_string(absl::ToUnixNanos(absl::Now()));
  std::filesystem::create_directories(dir);
  static const bool registered = [] { return std::atexit(RemoveTempDirs) == 0; }();
  (void)registered;
  TempDirs().push_back(dir);
  return dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string SourcePath(const std::string& relative) {
  const char* root = std::getenv("XCTL_SOURCE_DIR");
  return std::string(root ? root : XCTL_SOURCE_DIR_DEFAULT) + "/" + relative;
}

std::string BinaryPath(const std::string& relative) {
  const char* root = std::getenv("XCTL_BINARY_DIR");
  return std::string(root ? root : XCTL_BINARY_DIR_DEFAULT) + "/" + relative;
}

}  // namespace xctl::testing
