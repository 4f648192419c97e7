// Shared helpers of the load benchmarks (bench/load/): flags, a real xctld
// child process (start, port file, RSS and CPU from /proc, stop), a temp
// folder, percentiles and the machine description. Header-only; no product
// code here. Nothing in this folder passes or fails: every program prints
// figures and their ratio to a baseline measured in the same run.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace xctl::load {

// ---- time -------------------------------------------------------------------

inline int64_t MonoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
// Wall clock (same clock xctld stamps its ticks, orders and log lines with).
inline double WallMs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() /
         1e6;
}
inline void SleepMs(double ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(ms * 1000)));
}

// ---- flags ------------------------------------------------------------------

// --name=value, --name value, or --name (value "1").
class Flags {
 public:
  Flags(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) {
        positional_.push_back(a);
        continue;
      }
      a = a.substr(2);
      std::replace(a.begin(), a.end(), '_', '-');
      size_t eq = a.find('=');
      if (eq != std::string::npos) {
        values_[a.substr(0, eq)] = a.substr(eq + 1);
      } else if (i + 1 < argc && argv[i + 1][0] != '-') {
        values_[a] = argv[++i];
      } else {
        values_[a] = "1";
      }
    }
  }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Str(const std::string& name, const std::string& def) const {
    auto it = values_.find(name);
    return it == values_.end() ? def : it->second;
  }
  double Num(const std::string& name, double def) const {
    auto it = values_.find(name);
    return it == values_.end() ? def : std::atof(it->second.c_str());
  }
  int Int(const std::string& name, int def) const { return static_cast<int>(Num(name, def)); }
  bool Bool(const std::string& name) const {
    auto it = values_.find(name);
    return it != values_.end() && it->second != "0" && it->second != "false";
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// xctld's path: --xctld=PATH, the first positional argument, $XCTL_XCTLD, or
// <build>/server/xctld next to this program's <build>/bench/load/.
inline std::string FindXctld(const Flags& flags) {
  if (flags.Has("xctld")) return flags.Str("xctld", "");
  if (!flags.positional().empty()) return flags.positional()[0];
  if (const char* env = std::getenv("XCTL_XCTLD"); env && *env) return env;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto candidate = self.parent_path().parent_path().parent_path() / "server" / "xctld";
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  return "xctld";
}

// ---- statistics ---------------------------------------------------------------

inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}
inline double Median(std::vector<double> v) { return Percentile(std::move(v), 0.5); }
inline double Min(const std::vector<double>& v) {
  return v.empty() ? NAN : *std::min_element(v.begin(), v.end());
}
inline double Max(const std::vector<double>& v) {
  return v.empty() ? NAN : *std::max_element(v.begin(), v.end());
}
inline double Mean(const std::vector<double>& v) {
  if (v.empty()) return NAN;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
// Least-squares slope of y over x (units of y per unit of x).
inline double Slope(const std::vector<double>& x, const std::vector<double>& y) {
  size_t n = std::min(x.size(), y.size());
  if (n < 2) return 0;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= n;
  my /= n;
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) num += (x[i] - mx) * (y[i] - my), den += (x[i] - mx) * (x[i] - mx);
  return den == 0 ? 0 : num / den;
}
inline double Ratio(double a, double b) { return b == 0 ? NAN : a / b; }

// ---- process / machine --------------------------------------------------------

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A field of /proc/<pid>/status in kB (VmRSS, VmHWM, Threads...), -1 if absent.
inline long ProcStatusField(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

// User + system CPU seconds of a process (/proc/<pid>/stat).
inline double StatCpuSeconds(const std::string& stat_path) {
  std::string s = ReadFile(stat_path);
  size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}
inline double ProcCpuSeconds(pid_t pid) {
  return StatCpuSeconds("/proc/" + std::to_string(pid) + "/stat");
}

inline double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

inline std::string MachineLine() {
  std::string model = "?";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  long mem_kb = 0;
  std::ifstream mi("/proc/meminfo");
  while (std::getline(mi, line)) {
    if (line.rfind("MemTotal:", 0) == 0) mem_kb = std::atol(line.c_str() + 9);
  }
  utsname u{};
  uname(&u);
  char buf[512];
  std::snprintf(buf, sizeof buf, "%u cores (%s), %.1f GiB RAM, Linux %s",
                std::thread::hardware_concurrency(), model.c_str(), mem_kb / 1048576.0, u.release);
  return buf;
}

// Busy CPU seconds of the whole machine (all processes), from /proc/stat.
inline double MachineBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long v[10] = {};
  in >> cpu;
  for (auto& x : v) in >> x;
  // user nice system idle iowait irq softirq steal guest guest_nice
  const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return static_cast<double>(busy) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds per thread of a process: tid -> (name, seconds).
inline std::map<int, std::pair<std::string, double>> ThreadCpu(pid_t pid) {
  std::map<int, std::pair<std::string, double>> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/task", ec)) {
    const int tid = std::atoi(e.path().filename().c_str());
    std::string comm = ReadFile(e.path().string() + "/comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    out[tid] = {comm, StatCpuSeconds(e.path().string() + "/stat")};
  }
  return out;
}

// The busiest threads between two ThreadCpu snapshots, as "name/tid 0.93,
// ..." in cores over `secs`.
inline std::string TopThreads(const std::map<int, std::pair<std::string, double>>& a,
                              const std::map<int, std::pair<std::string, double>>& b,
                              double secs, int n) {
  std::vector<std::pair<double, std::string>> v;
  for (const auto& [tid, nb] : b) {
    auto it = a.find(tid);
    const double d = nb.second - (it == a.end() ? 0 : it->second.second);
    v.push_back({d / secs, nb.first + "/" + std::to_string(tid)});
  }
  std::sort(v.rbegin(), v.rend());
  std::string out;
  for (int i = 0; i < n && i < static_cast<int>(v.size()); ++i) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s %.2f", i ? ", " : "", v[i].second.c_str(), v[i].first);
    out += buf;
  }
  return out;
}

// The busiest thread between two ThreadCpu snapshots: (name/tid, cores).
inline std::pair<std::string, double> BusiestThread(
    const std::map<int, std::pair<std::string, double>>& a,
    const std::map<int, std::pair<std::string, double>>& b, double secs) {
  std::pair<std::string, double> best{"", 0};
  for (const auto& [tid, nb] : b) {
    auto it = a.find(tid);
    const double cores = (nb.second - (it == a.end() ? 0 : it->second.second)) / secs;
    if (cores > best.second) best = {nb.first + "/" + std::to_string(tid), cores};
  }
  return best;
}

inline double LoadAverage1() {
  double l = 0;
  std::ifstream("/proc/loadavg") >> l;
  return l;
}

// A fresh folder under $TMPDIR (or /tmp), removed on destruction unless kept.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix, bool keep = false) : keep_(keep) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    path_ = buf.data();
  }
  ~TempDir() {
    if (keep_) {
      std::printf("(kept %s)\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
  bool keep_;
};

// A real xctld started with `args`, its stdout and stderr going to `log_path`.
class Xctld {
 public:
  Xctld() = default;
  Xctld(const Xctld&) = delete;
  ~Xctld() { Stop(); }

  // Starts xctld and waits until it wrote its port file; false (with the log's
  // tail printed) if it exited or did not serve within `timeout_s`.
  bool Start(const std::string& binary, std::vector<std::string> args, const std::string& dir,
             double timeout_s = 120) {
    log_path_ = dir + "/xctld.log";
    std::string port_file = dir + "/xctld.port";
    std::remove(port_file.c_str());
    args.insert(args.begin(), binary);
    args.push_back("--port-file=" + port_file);
    const int64_t t0 = MonoNs();
    pid_ = fork();
    if (pid_ < 0) {
      std::perror("fork");
      return false;
    }
    if (pid_ == 0) {
      int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      std::fprintf(stderr, "exec %s: %s\n", binary.c_str(), std::strerror(errno));
      _exit(127);
    }
    while (true) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        std::fprintf(stderr, "xctld exited during start (status %d); log %s:\n%s\n", status,
                     log_path_.c_str(), Tail(40).c_str());
        pid_ = -1;
        return false;
      }
      std::string port = ReadFile(port_file);
      if (!port.empty() && port.back() == '\n') {
        port_ = std::atoi(port.c_str());
        startup_s_ = (MonoNs() - t0) / 1e9;
        return true;
      }
      if ((MonoNs() - t0) / 1e9 > timeout_s) {
        std::fprintf(stderr, "xctld did not serve within %.0f s; log tail:\n%s\n", timeout_s,
                     Tail(40).c_str());
        Stop();
        return false;
      }
      SleepMs(20);
    }
  }

  // SIGTERM, then SIGKILL after 20 s. Returns the time shutdown took (s).
  double Stop() {
    if (pid_ <= 0) return 0;
    const int64_t t0 = MonoNs();
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 2000; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return (MonoNs() - t0) / 1e9;
      }
      SleepMs(10);
    }
    std::fprintf(stderr, "xctld did not stop within 20 s after SIGTERM; killing it\n");
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return (MonoNs() - t0) / 1e9;
  }

  bool alive() const {
    if (pid_ <= 0) return false;
    int status = 0;
    return waitpid(pid_, &status, WNOHANG) == 0;
  }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  double startup_s() const { return startup_s_; }
  long RssKb() const { return ProcStatusField(pid_, "VmRSS"); }
  long PeakRssKb() const { return ProcStatusField(pid_, "VmHWM"); }
  long Threads() const { return ProcStatusField(pid_, "Threads"); }
  double CpuSeconds() const { return ProcCpuSeconds(pid_); }
  const std::string& log_path() const { return log_path_; }

  std::string Tail(int lines) const {
    std::string all = ReadFile(log_path_);
    size_t pos = all.size();
    for (int i = 0; i <= lines && pos != std::string::npos && pos > 0; ++i) {
      pos = all.rfind('\n', pos - 1);
    }
    return pos == std::string::npos ? all : all.substr(pos + 1);
  }
  // Lines of the log containing `needle`.
  size_t CountLog(const std::string& needle) const {
    std::ifstream in(log_path_);
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
    return n;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  double startup_s_ = 0;
  std::string log_path_;
};

// Samples a process's RSS (kB) and CPU seconds once per `period_ms` on a thread.
class ProcSampler {
 public:
  struct Sample {
    double t_s;  // since Start
    long rss_kb;
    double cpu_s;
  };
  ProcSampler(pid_t pid, int period_ms) : pid_(pid), period_ms_(period_ms) {}
  ~ProcSampler() { Stop(); }
  void Start() {
    t0_ = MonoNs();
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        Take();
        for (int i = 0; i < period_ms_ / 10 && !stop_.load(); ++i) SleepMs(10);
      }
    });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void Take() {
    Sample s{(MonoNs() - t0_) / 1e9, ProcStatusField(pid_, "VmRSS"), ProcCpuSeconds(pid_)};
    std::lock_guard<std::mutex> l(mu_);
    samples_.push_back(s);
  }
  std::vector<Sample> samples() {
    std::lock_guard<std::mutex> l(mu_);
    return samples_;
  }

 private:
  pid_t pid_;
  int period_ms_;
  int64_t t0_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Sample> samples_;
};

// The pair names the load benchmarks use: P0-USDT ... P<n-1>-USDT (generic
// instruments: contract value 1, lot 1).
inline std::vector<std::string> PairNames(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back("P" + std::to_string(i) + "-USDT");
  return v;
}
// The config's `instruments:` section for pairs BloFin's defaults do not
// cover (xctld refuses orders in a symbol without a specification).
inline std::string InstrumentsYaml(const std::vector<std::string>& pairs) {
  std::string y;
  for (const auto& p : pairs) {
    if (p.rfind("P", 0) == 0) y += "  - {symbol: " + p + ", tick_size: \"0.01\"}\n";
  }
  return y.empty() ? "" : "instruments:\n" + y;
}
inline std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// One machine-readable result line per figure, collected by run.sh:
// RESULT|bench|scenario|figure|value|baseline|ratio|target|verdict
inline void Result(const char* bench, const std::string& scenario, const std::string& figure,
                   const std::string& value, const std::string& baseline, double ratio,
                   const std::string& target = "", const std::string& verdict = "") {
  char r[32] = "-";
  if (std::isfinite(ratio)) std::snprintf(r, sizeof r, "%.2f", ratio);
  std::printf("RESULT|%s|%s|%s|%s|%s|%s|%s|%s\n", bench, scenario.c_str(), figure.c_str(),
              value.c_str(), baseline.c_str(), r, target.empty() ? "-" : target.c_str(),
              verdict.empty() ? "-" : verdict.c_str());
}
inline std::string Fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace xctl::load
