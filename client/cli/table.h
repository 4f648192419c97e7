// Table: left-aligned text columns for the CLI's human-readable output.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace xctl::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Header, then rows; columns padded to their widest cell.
  void Print(std::FILE* out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace xctl::cli
