// Source spans, diagnostics and the policy library's Result type.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace fnjail::policy {

// A position in a policy file. Lines and columns count from 1; column counts bytes
// (policy files are ASCII). A zero line means "the whole file".
struct SourceSpan {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
};

enum class Severity { kError, kWarning };

// One finding for a policy author: `file:line:col: error: message` plus optional help.
// Messages follow the house style: lower-case, no final period, user input in backticks.
struct Diagnostic {
  Severity severity = Severity::kError;
  SourceSpan span;
  std::string message;
  std::string help;

  // Renders `file:line:col: error: message` (and `\n  help: ...` when help is set).
  std::string ToString() const;
};

// An ordered list of diagnostics. As an error value it is never empty and holds at least
// one kError entry; as a lint result it may hold only warnings.
class Diagnostics {
 public:
  Diagnostics() = default;
  explicit Diagnostics(std::vector<Diagnostic> entries) : entries_(std::move(entries)) {}

  void Add(Diagnostic d) { entries_.push_back(std::move(d)); }
  void Error(SourceSpan span, std::string message, std::string help = {}) {
    entries_.push_back({Severity::kError, std::move(span), std::move(message), std::move(help)});
  }
  void Warning(SourceSpan span, std::string message, std::string help = {}) {
    entries_.push_back(
        {Severity::kWarning, std::move(span), std::move(message), std::move(help)});
  }
  void Append(const Diagnostics& other) {
    entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
  }

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  bool HasErrors() const;
  const std::vector<Diagnostic>& entries() const { return entries_; }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  // All entries, one ToString() per line.
  std::string ToString() const;

 private:
  std::vector<Diagnostic> entries_;
};

// The policy library's result: a value or a non-empty list of diagnostics.
template <class T>
class [[nodiscard]] Result : public tl::expected<T, Diagnostics> {
 public:
  using tl::expected<T, Diagnostics>::expected;
};

inline tl::unexpected<Diagnostics> Fail(Diagnostics d) { return tl::unexpected(std::move(d)); }
inline tl::unexpected<Diagnostics> Fail(SourceSpan span, std::string message,
                                        std::string help = {}) {
  Diagnostics d;
  d.Error(std::move(span), std::move(message), std::move(help));
  return tl::unexpected(std::move(d));
}

}  // namespace fnjail::policy
