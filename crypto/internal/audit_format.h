// The audit log's on-disk format: frames, entries, the chain and the scanner that checks
// them. Shared by the writer (recovery on open) and the verifier.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/crypto.h"

namespace fnjail::crypto::internal {

// File = kFileMagic, then frames. Frame = u32 body length | u32 CRC-32C(body) | body.
// Body = u8 type | u64 seq | 32-byte prev (hash of the previous entry's body) | content.
// All integers little-endian. An entry's hash is SHA-256(body).
inline constexpr char kFileMagic[8] = {'F', 'N', 'J', 'A', 'U', 'D', '1', '\n'};
inline constexpr size_t kFrameHeaderSize = 8;
inline constexpr size_t kBodyHeaderSize = 1 + 8 + 32;
inline constexpr size_t kMaxBodySize = 1 << 20;
inline constexpr size_t kLogIdSize = 16;
inline constexpr std::string_view kCheckpointDomain = "fnjail-audit-checkpoint-v1";

enum class EntryType : uint8_t { kGenesis = 0, kRecord = 1, kCheckpoint = 2 };

using LogId = std::array<uint8_t, kLogIdSize>;

// Genesis content: log id | u64 created_ms | 32-byte checkpoint public key.
inline constexpr size_t kGenesisContentSize = kLogIdSize + 8 + 32;
// Checkpoint content: u64 time_ms | 64-byte signature of CheckpointMessage().
inline constexpr size_t kCheckpointContentSize = 8 + 64;

void PutU32(Bytes& out, uint32_t v);
void PutU64(Bytes& out, uint64_t v);
uint32_t GetU32(const uint8_t* p);
uint64_t GetU64(const uint8_t* p);

// Appends one frame to `out` and returns the entry's hash.
Result<Digest> AppendFrame(Bytes& out, EntryType type, uint64_t seq, const Digest& prev,
                           ByteView content);

// What a checkpoint signs: domain | log id | u64 seq | prev | u64 time_ms.
Bytes CheckpointMessage(const LogId& log_id, uint64_t seq, const Digest& prev,
                        int64_t time_ms);

// The running state of a scan: everything the next entry is checked against.
struct ChainState {
  bool have_genesis = false;
  LogId log_id{};
  Digest head{};          // hash of the last valid entry
  uint64_t next_seq = 0;  // sequence number the next entry must carry
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  uint64_t records_since_checkpoint = 0;
  int64_t last_checkpoint_time_ms = 0;
  std::optional<AuditCheckpoint> last_checkpoint;
  size_t end_offset = 0;  // byte offset just past the last valid entry
  // When set, every valid checkpoint is appended here too.
  std::vector<AuditCheckpoint>* all_checkpoints = nullptr;
};

enum class ScanEnd {
  kClean,    // every byte belongs to a valid entry
  kTorn,     // an incomplete or garbled final frame, nothing valid after it (a crash)
  kCorrupt,  // a bad entry with data after it, or a chain/signature failure (tampering)
};

struct ScanResult {
  ScanEnd end = ScanEnd::kClean;
  uint64_t bad_index = 0;   // the sequence number the bad entry should have had
  uint64_t bad_offset = 0;
  std::string problem;
};

// Checks `file` (the whole log) entry by entry against `key`, updating `state`.
// `on_record` sees each valid record's content.
ScanResult ScanLog(ByteView file, const Ed25519PublicKey& key, ChainState& state,
                   const std::function<void(uint64_t, std::string_view)>& on_record);

}  // namespace fnjail::crypto::internal
