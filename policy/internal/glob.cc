// Wildcard matching for actions, resources and StringLike / ArnLike values.
#include "policy/internal/glob.h"

namespace fnjail::policy::internal {

Glob Glob::Compile(std::string_view pattern) {
  Glob g;
  g.AppendPattern(pattern);
  return g;
}

void Glob::Push(Op op, char c) {
  // Consecutive `*` are one `*`: keeps matching linear in the common cases.
  if (op == Op::kAnyRun && !ops_.empty() && ops_.back() == Op::kAnyRun) return;
  ops_.push_back(op);
  chars_.push_back(c);
}

void Glob::AppendPattern(std::string_view pattern) {
  ops_.reserve(ops_.size() + pattern.size());
  chars_.reserve(chars_.size() + pattern.size());
  for (char c : pattern) {
    if (c == '*') {
      Push(Op::kAnyRun, c);
    } else if (c == '?') {
      Push(Op::kAnyChar, c);
    } else {
      Push(Op::kChar, c);
    }
  }
  UpdateShape();
}

void Glob::AppendLiteral(std::string_view text) {
  ops_.reserve(ops_.size() + text.size());
  chars_.reserve(chars_.size() + text.size());
  for (char c : text) Push(Op::kChar, c);
  UpdateShape();
}

void Glob::UpdateShape() {
  size_t literal_len = 0;
  while (literal_len < ops_.size() && ops_[literal_len] == Op::kChar) ++literal_len;
  literal_.assign(chars_, 0, literal_len);
  if (literal_len == ops_.size()) {
    shape_ = Shape::kLiteral;
  } else if (literal_len + 1 == ops_.size() && ops_.back() == Op::kAnyRun) {
    shape_ = literal_len == 0 ? Shape::kEverything : Shape::kPrefix;
  } else {
    shape_ = Shape::kGeneral;
  }
  segments_.clear();
  if (shape_ != Shape::kGeneral) return;
  for (Op op : ops_) {
    if (op == Op::kAnyChar) return;  // `?` needs the general matcher
  }
  shape_ = Shape::kStars;
  leading_star_ = ops_.front() == Op::kAnyRun;
  trailing_star_ = ops_.back() == Op::kAnyRun;
  std::string current;
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (ops_[i] == Op::kAnyRun) {
      if (!current.empty()) segments_.push_back(std::move(current));
      current.clear();
    } else {
      current += chars_[i];
    }
  }
  if (!current.empty()) segments_.push_back(std::move(current));
}

bool Glob::MatchStars(std::string_view text) const noexcept {
  // Pattern: [s0] * s1 * ... * [sk]. With only `*` wildcards, taking each middle segment
  // at its leftmost occurrence is optimal: it leaves the most text for the rest.
  size_t first = 0;
  size_t last = segments_.size();
  size_t pos = 0;
  size_t end = text.size();
  if (!leading_star_) {
    const std::string& s0 = segments_.front();
    if (!text.starts_with(s0)) return false;
    pos = s0.size();
    first = 1;
  }
  if (!trailing_star_) {
    const std::string& sk = segments_.back();
    if (last <= first || end - pos < sk.size() || !text.ends_with(sk)) return false;
    end -= sk.size();
    last -= 1;
  }
  for (size_t i = first; i < last; ++i) {
    const std::string& seg = segments_[i];
    const std::string_view window = text.substr(0, end);
    const size_t found = window.find(seg, pos);
    if (found == std::string_view::npos) return false;
    pos = found + seg.size();
  }
  return pos <= end;
}

std::string_view Glob::LiteralPrefix() const { return literal_; }

bool Glob::Matches(std::string_view text) const noexcept {
  switch (shape_) {
    case Shape::kLiteral:
      return text == literal_;
    case Shape::kPrefix:
      return text.starts_with(literal_);
    case Shape::kEverything:
      return true;
    case Shape::kStars:
      return MatchStars(text);
    case Shape::kGeneral:
      break;
  }
  // Iterative matching with backtracking to the last `*` only. That is sufficient: a
  // later `*` can absorb anything an earlier one could, so earlier choices never need
  // revisiting. Worst case O(|pattern| * |text|), no recursion, no allocation.
  const size_t n = text.size();
  const size_t m = ops_.size();
  size_t p = 0;
  size_t t = 0;
  size_t star_p = std::string::npos;
  size_t star_t = 0;
  while (t < n) {
    if (p < m && (ops_[p] == Op::kAnyChar || (ops_[p] == Op::kChar && chars_[p] == text[t]))) {
      ++p;
      ++t;
    } else if (p < m && ops_[p] == Op::kAnyRun) {
      star_p = p++;
      star_t = t;
    } else if (star_p != std::string::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < m && ops_[p] == Op::kAnyRun) ++p;
  return p == m;
}

std::string Glob::ToString() const {
  std::string out;
  for (size_t i = 0; i < ops_.size(); ++i) {
    switch (ops_[i]) {
      case Op::kAnyRun:
        out += '*';
        break;
      case Op::kAnyChar:
        out += '?';
        break;
      case Op::kChar:
        if (chars_[i] == '*' || chars_[i] == '?' || chars_[i] == '$') {
          out += "${";
          out += chars_[i];
          out += '}';
        } else {
          out += chars_[i];
        }
        break;
    }
  }
  return out;
}

std::vector<Glob> Glob::Split(char separator, size_t max_parts) const {
  std::vector<Glob> parts(1);
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (ops_[i] == Op::kChar && chars_[i] == separator && parts.size() < max_parts) {
      parts.back().UpdateShape();
      parts.emplace_back();
      continue;
    }
    parts.back().Push(ops_[i], chars_[i]);
  }
  parts.back().UpdateShape();
  return parts;
}

std::string ToLowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = LowerAsciiChar(c);
  return out;
}

bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAsciiChar(a[i]) != LowerAsciiChar(b[i])) return false;
  }
  return true;
}

}  // namespace fnjail::policy::internal
