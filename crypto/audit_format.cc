// Audit log framing, chaining and the scanner shared by recovery and verification.
#include <algorithm>
#include <cstring>

#include "crypto/crypto.h"
#include "crypto/internal/audit_format.h"

namespace fnjail::crypto::internal {

void PutU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void PutU64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Result<Digest> AppendFrame(Bytes& out, EntryType type, uint64_t seq, const Digest& prev,
                           ByteView content) {
  size_t body_size = kBodyHeaderSize + content.size();
  if (body_size > kMaxBodySize) {
    return Fail("audit append", "entry of " + std::to_string(body_size) + " bytes is too large");
  }
  size_t start = out.size();
  PutU32(out, static_cast<uint32_t>(body_size));
  PutU32(out, 0);  // CRC, filled in below
  size_t body = out.size();
  out.push_back(static_cast<uint8_t>(type));
  PutU64(out, seq);
  out.insert(out.end(), prev.begin(), prev.end());
  out.insert(out.end(), content.begin(), content.end());
  ByteView body_view(out.data() + body, body_size);
  uint32_t crc = Crc32c(body_view);
  for (int i = 0; i < 4; ++i) out[start + 4 + i] = static_cast<uint8_t>(crc >> (8 * i));
  return Sha256(body_view);
}

Bytes CheckpointMessage(const LogId& log_id, uint64_t seq, const Digest& prev,
                        int64_t time_ms) {
  // Sized up front and filled by copy: g++ 12 -O2 misreads a range-constructed vector
  // here as an out-of-bounds copy (-Warray-bounds).
  Bytes msg(kCheckpointDomain.size() + log_id.size() + 8 + prev.size() + 8);
  uint8_t* p = msg.data();
  std::memcpy(p, kCheckpointDomain.data(), kCheckpointDomain.size());
  p += kCheckpointDomain.size();
  std::memcpy(p, log_id.data(), log_id.size());
  p += log_id.size();
  for (int i = 0; i < 8; ++i) *p++ = static_cast<uint8_t>(seq >> (8 * i));
  std::memcpy(p, prev.data(), prev.size());
  p += prev.size();
  for (int i = 0; i < 8; ++i) *p++ = static_cast<uint8_t>(static_cast<uint64_t>(time_ms) >> (8 * i));
  return msg;
}

namespace {

// Whether a structurally valid frame (length in range, CRC matching) starts at `off`.
bool PlausibleFrameAt(ByteView file, size_t off) {
  if (file.size() - off < kFrameHeaderSize) return false;
  uint32_t len = GetU32(file.data() + off);
  if (len < kBodyHeaderSize || len > kMaxBodySize) return false;
  if (file.size() - off - kFrameHeaderSize < len) return false;
  ByteView body(file.data() + off + kFrameHeaderSize, len);
  return Crc32c(body) == GetU32(file.data() + off + 4);
}

// A frame-level failure at `off` is a torn tail when nothing valid follows: a crash can
// leave a partial frame, or a size extended over unwritten (zero) blocks, but it cannot
// leave a valid frame after a broken one. Anything valid after it means the damage is
// in the middle of the log.
ScanEnd ClassifyFrameFailure(ByteView file, size_t off) {
  for (size_t p = off + 1; p + kFrameHeaderSize <= file.size(); ++p) {
    if (PlausibleFrameAt(file, p)) return ScanEnd::kCorrupt;
  }
  return ScanEnd::kTorn;
}

ScanResult Bad(ScanEnd end, const ChainState& state, size_t off, std::string problem) {
  ScanResult r;
  r.end = end;
  r.bad_index = state.next_seq;
  r.bad_offset = off;
  r.problem = std::move(problem);
  return r;
}

}  // namespace

ScanResult ScanLog(ByteView file, const Ed25519PublicKey& key, ChainState& state,
                   const std::function<void(uint64_t, std::string_view)>& on_record) {
  if (file.size() < sizeof(kFileMagic)) {
    // A crash between creating the file and writing its first frame leaves a prefix of
    // the magic; anything else is not an audit log.
    bool prefix = std::equal(file.begin(), file.end(), std::begin(kFileMagic));
    return Bad(prefix ? ScanEnd::kTorn : ScanEnd::kCorrupt, state, 0,
               prefix ? "incomplete file header" : "not an fnjail audit log");
  }
  if (!std::equal(std::begin(kFileMagic), std::end(kFileMagic), file.begin())) {
    return Bad(ScanEnd::kCorrupt, state, 0, "not an fnjail audit log (bad magic)");
  }
  size_t off = sizeof(kFileMagic);
  state.end_offset = off;
  while (off < file.size()) {
    size_t remaining = file.size() - off;
    if (remaining < kFrameHeaderSize) {
      return Bad(ClassifyFrameFailure(file, off), state, off, "truncated frame header");
    }
    uint32_t len = GetU32(file.data() + off);
    if (len < kBodyHeaderSize || len > kMaxBodySize) {
      return Bad(ClassifyFrameFailure(file, off), state, off,
                 "bad frame length " + std::to_string(len));
    }
    if (remaining - kFrameHeaderSize < len) {
      return Bad(ClassifyFrameFailure(file, off), state, off, "truncated frame");
    }
    ByteView body(file.data() + off + kFrameHeaderSize, len);
    if (Crc32c(body) != GetU32(file.data() + off + 4)) {
      return Bad(ClassifyFrameFailure(file, off), state, off, "CRC mismatch (entry modified)");
    }
    // The frame is intact; from here on every failure is a broken chain: tampering.
    auto type = static_cast<EntryType>(body[0]);
    uint64_t seq = GetU64(body.data() + 1);
    Digest prev{};
    std::copy(body.begin() + 9, body.begin() + 41, prev.begin());
    ByteView content = body.subspan(kBodyHeaderSize);
    if (seq != state.next_seq) {
      return Bad(ScanEnd::kCorrupt, state, off,
                 "sequence number " + std::to_string(seq) + " where " +
                     std::to_string(state.next_seq) +
                     " was expected (entry inserted, deleted or reordered)");
    }
    if (prev != state.head) {
      return Bad(ScanEnd::kCorrupt, state, off,
                 "chain broken: previous-hash does not match (an earlier entry was changed, "
                 "inserted, deleted or reordered)");
    }
    switch (type) {
      case EntryType::kGenesis: {
        if (state.have_genesis || seq != 0) {
          return Bad(ScanEnd::kCorrupt, state, off, "second genesis entry");
        }
        if (content.size() != kGenesisContentSize) {
          return Bad(ScanEnd::kCorrupt, state, off, "bad genesis entry");
        }
        if (!std::equal(key.raw().begin(), key.raw().end(), content.begin() + kLogIdSize + 8)) {
          return Bad(ScanEnd::kCorrupt, state, off,
                     "the log was created for a different checkpoint key");
        }
        std::copy(content.begin(), content.begin() + kLogIdSize, state.log_id.begin());
        state.have_genesis = true;
        break;
      }
      case EntryType::kRecord: {
        if (!state.have_genesis) return Bad(ScanEnd::kCorrupt, state, off, "no genesis entry");
        ++state.records;
        ++state.records_since_checkpoint;
        if (on_record) on_record(seq, AsChars(content));
        break;
      }
      case EntryType::kCheckpoint: {
        if (!state.have_genesis) return Bad(ScanEnd::kCorrupt, state, off, "no genesis entry");
        if (content.size() != kCheckpointContentSize) {
          return Bad(ScanEnd::kCorrupt, state, off, "bad checkpoint entry");
        }
        auto time_ms = static_cast<int64_t>(GetU64(content.data()));
        ByteView sig = content.subspan(8, 64);
        Bytes msg = CheckpointMessage(state.log_id, seq, prev, time_ms);
        if (!key.Verify(msg, sig)) {
          return Bad(ScanEnd::kCorrupt, state, off, "checkpoint signature does not verify");
        }
        AuditCheckpoint cp;
        cp.log_id = ToHex(state.log_id);
        cp.seq = seq;
        cp.head = ToHex(prev);
        cp.time_ms = time_ms;
        cp.signature = ToHex(sig);
        if (state.all_checkpoints != nullptr) state.all_checkpoints->push_back(cp);
        state.last_checkpoint = std::move(cp);
        state.last_checkpoint_time_ms = time_ms;
        state.records_since_checkpoint = 0;
        ++state.checkpoints;
        break;
      }
      default:
        return Bad(ScanEnd::kCorrupt, state, off,
                   "unknown entry type " + std::to_string(static_cast<int>(body[0])));
    }
    if (!state.have_genesis) return Bad(ScanEnd::kCorrupt, state, off, "no genesis entry");
    auto hash = Sha256(body);
    if (!hash) return Bad(ScanEnd::kCorrupt, state, off, hash.error().ToString());
    state.head = *hash;
    ++state.next_seq;
    off += kFrameHeaderSize + len;
    state.end_offset = off;
  }
  return {};
}

}  // namespace fnjail::crypto::internal
