// Test helpers for the audit log: temp dirs, sample records, frame surgery on log bytes.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "crypto/internal/audit_format.h"

namespace fnjail::crypto::testing {

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("fnjail_audit_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline AuditRecord SampleRecord(uint64_t n) {
  AuditRecord r;
  r.time_ms = 1'800'000'000'000 + static_cast<int64_t>(n);
  r.request_id = "req-" + std::to_string(n);
  r.principal = "alice";
  r.auth_method = "jwt";
  r.operation = "function:Invoke";
  r.function = "fn:hello";
  r.source_ip = "10.0.0.7";
  r.http_status = 200;
  r.allowed = true;
  r.decision_reason = "explicit-allow";
  r.statements = {"ops#AllowInvoke"};
  r.input_sha256 = std::string(64, 'a');
  r.duration_ms = 12;
  r.billed_duration_ms = 13;
  r.cpu_ms = 4;
  r.peak_memory_bytes = 1 << 20;
  r.outcome = "exited";
  return r;
}

inline Bytes ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteAll(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A frame's position in the file: [offset, offset + size).
struct FrameSpan {
  size_t offset;
  size_t size;
};

inline std::vector<FrameSpan> Frames(const Bytes& file) {
  std::vector<FrameSpan> out;
  size_t off = sizeof(internal::kFileMagic);
  while (off + internal::kFrameHeaderSize <= file.size()) {
    size_t size = internal::kFrameHeaderSize + internal::GetU32(file.data() + off);
    if (off + size > file.size()) break;
    out.push_back({off, size});
    off += size;
  }
  return out;
}

inline uint8_t FrameType(const Bytes& file, const FrameSpan& f) {
  return file[f.offset + internal::kFrameHeaderSize];
}

// Recomputes the CRC of the frame at `f` after its body was edited.
inline void FixCrc(Bytes& file, const FrameSpan& f) {
  ByteView body(file.data() + f.offset + internal::kFrameHeaderSize,
                f.size - internal::kFrameHeaderSize);
  uint32_t crc = Crc32c(body);
  for (int i = 0; i < 4; ++i) file[f.offset + 4 + i] = static_cast<uint8_t>(crc >> (8 * i));
}

// A log built frame by frame (as any version of the writer would have written it): the
// genesis entry, `records` as record contents in order, then a signed checkpoint.
inline Bytes BuildLog(const Ed25519SigningKey& key, const std::vector<std::string>& records) {
  Bytes file(std::begin(internal::kFileMagic), std::end(internal::kFileMagic));
  internal::LogId log_id{};
  log_id.fill(0x42);
  Bytes genesis(log_id.begin(), log_id.end());
  internal::PutU64(genesis, 1'800'000'000'000);
  genesis.insert(genesis.end(), key.public_key().raw().begin(), key.public_key().raw().end());
  Digest head = *internal::AppendFrame(file, internal::EntryType::kGenesis, 0, Digest{}, genesis);
  uint64_t seq = 1;
  for (const auto& json : records) {
    head = *internal::AppendFrame(file, internal::EntryType::kRecord, seq++, head, AsBytes(json));
  }
  const int64_t time_ms = 1'800'000'000'999;
  auto sig = key.Sign(internal::CheckpointMessage(log_id, seq, head, time_ms));
  Bytes checkpoint;
  internal::PutU64(checkpoint, static_cast<uint64_t>(time_ms));
  checkpoint.insert(checkpoint.end(), sig->begin(), sig->end());
  (void)internal::AppendFrame(file, internal::EntryType::kCheckpoint, seq, head, checkpoint);
  return file;
}

}  // namespace fnjail::crypto::testing
