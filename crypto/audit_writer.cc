// The audit log writer: chaining under a lock, group commit on a dedicated thread.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "crypto/crypto.h"
#include "crypto/internal/audit_format.h"
#include "crypto/internal/mapped_file.h"
#include "crypto/internal/unique_fd.h"

namespace fnjail::crypto {

using internal::EntryType;

namespace {

constexpr const char* kOp = "audit";
// A batch is written as soon as it reaches this size, whatever the delay setting.
constexpr size_t kMaxBatchBytes = 4 << 20;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

tl::unexpected<Error> Errno(const std::string& what, const std::string& path) {
  return Fail(kOp, what + " `" + path + "`: " + std::strerror(errno));
}

Result<void> WriteAll(int fd, ByteView data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<void> SyncData(int fd, const std::string& path) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return Errno("cannot fdatasync", path);
  }
  return {};
}

// Makes the directory entry of a new file durable, so a crash cannot lose the file itself.
Result<void> SyncParentDir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  internal::UniqueFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return Errno("cannot open the directory of", path);
  if (::fsync(dir.get()) != 0) return Errno("cannot fsync the directory of", path);
  return {};
}

}  // namespace

struct AuditWriter::Impl {
  AuditOptions options;
  Ed25519SigningKey key;
  internal::UniqueFd fd;
  AuditRecovery recovery;

  std::mutex mu;
  std::condition_variable work_cv;     // the thread waits here for entries
  // Callers wait here for fdatasync, one variable per batch parity: the batch being
  // written and the one filling up. A batch's fdatasync wakes only its own waiters, not
  // those whose records arrived while it was written (up to the handler threads' count of
  // futile wake-ups per commit otherwise).
  std::condition_variable durable_cvs[2];
  internal::LogId log_id{};
  Digest head{};
  uint64_t next_seq = 0;
  uint64_t records_since_checkpoint = 0;
  int64_t last_checkpoint_ms = 0;
  Bytes pending;                 // whole frames not yet written
  uint64_t pending_first_seq = 0;
  std::chrono::steady_clock::time_point pending_since;
  uint64_t durable_seq = 0;      // every entry up to here is on disk
  uint64_t taken_seq = 0;        // every entry up to here is durable or being written
  uint64_t taken_batches = 0;    // batches taken for writing so far
  std::optional<Error> failed;   // sticky: the writer is unusable after an I/O error
  bool writer_idle = false;     // the thread waits for entries
  bool stopping = false;
  bool closed = false;
  std::thread thread;

  int64_t Now() const { return options.clock ? options.clock() : SystemNowMs(); }

  // REQUIRES: mu held. Adds one entry to the chain and the pending batch.
  Result<uint64_t> AddEntryLocked(EntryType type, ByteView content) {
    if (pending.empty()) {
      pending_first_seq = next_seq;
      pending_since = std::chrono::steady_clock::now();
    }
    auto hash = internal::AppendFrame(pending, type, next_seq, head, content);
    if (!hash) return tl::unexpected(hash.error());
    head = *hash;
    // A futex wake costs a syscall: only wake the thread when it sleeps for lack of work.
    if (writer_idle) work_cv.notify_one();
    return next_seq++;
  }

  // REQUIRES: mu held.
  Result<uint64_t> AddCheckpointLocked() {
    int64_t time_ms = Now();
    auto sig = key.Sign(internal::CheckpointMessage(log_id, next_seq, head, time_ms));
    if (!sig) return tl::unexpected(sig.error());
    Bytes content;
    internal::PutU64(content, static_cast<uint64_t>(time_ms));
    content.insert(content.end(), sig->begin(), sig->end());
    auto seq = AddEntryLocked(EntryType::kCheckpoint, content);
    if (seq) {
      records_since_checkpoint = 0;
      last_checkpoint_ms = time_ms;
    }
    return seq;
  }

  // The group-commit loop: take what is pending, write it, fdatasync, acknowledge.
  void Run() {
    std::unique_lock<std::mutex> lock(mu);
    const auto interval =
        std::chrono::milliseconds(std::max<int64_t>(options.checkpoint_interval_ms, 1));
    for (;;) {
      if (!failed && records_since_checkpoint > 0 &&
          Now() - last_checkpoint_ms >= options.checkpoint_interval_ms) {
        auto cp = AddCheckpointLocked();
        if (!cp) Fail(cp.error());
      }
      if (pending.empty()) {
        if (stopping || failed) break;
        writer_idle = true;
        work_cv.wait_for(lock, interval, [&] { return !pending.empty() || stopping; });
        writer_idle = false;
        continue;
      }
      if (options.sync == AuditSync::kBatched && options.max_batch_delay_ms > 0 && !stopping) {
        auto deadline = pending_since + std::chrono::milliseconds(options.max_batch_delay_ms);
        work_cv.wait_until(lock, deadline,
                           [&] { return stopping || pending.size() >= kMaxBatchBytes; });
      }
      Bytes batch;
      uint64_t last_seq = 0;
      if (options.sync == AuditSync::kEveryRecord) {
        // One frame, one fdatasync.
        size_t frame = internal::kFrameHeaderSize + internal::GetU32(pending.data());
        batch.assign(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(frame));
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(frame));
        last_seq = pending_first_seq++;
      } else {
        batch.swap(pending);
        last_seq = next_seq - 1;
        pending_first_seq = next_seq;
      }
      pending_since = std::chrono::steady_clock::now();
      taken_seq = last_seq;
      const uint64_t batch_number = ++taken_batches;
      lock.unlock();
      auto written = WriteAll(fd.get(), batch, options.path);
      if (written) written = SyncData(fd.get(), options.path);
      lock.lock();
      if (!written) {
        Fail(written.error());
        break;
      }
      durable_seq = last_seq;
      durable_cvs[batch_number % 2].notify_all();
    }
    NotifyAllWaiters();
  }

  // REQUIRES: mu held. Where the caller waiting for `seq` sleeps: with the batch being
  // written if `seq` is in it, else with the next one. Recomputed after every wake-up (an
  // every-record writer takes one frame per batch).
  std::condition_variable& DurableCvFor(uint64_t seq) {
    const uint64_t batch = seq <= taken_seq ? taken_batches : taken_batches + 1;
    return durable_cvs[batch % 2];
  }

  void NotifyAllWaiters() {
    durable_cvs[0].notify_all();
    durable_cvs[1].notify_all();
  }

  // REQUIRES: mu held. Enters the failed state for good.
  void Fail(const Error& e) {
    if (!failed) failed = e;
    pending.clear();
    NotifyAllWaiters();
  }
};

AuditWriter::AuditWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AuditWriter::~AuditWriter() {
  if (impl_) (void)Close();
}

const AuditRecovery& AuditWriter::recovery() const noexcept { return impl_->recovery; }

Result<std::unique_ptr<AuditWriter>> AuditWriter::Open(AuditOptions options,
                                                       Ed25519SigningKey key) {
  const std::string path = options.path;
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->key = std::move(key);
  impl->fd.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!impl->fd.valid()) return Errno("cannot open", path);
  // One writer per log: a second one would fork the chain.
  if (::flock(impl->fd.get(), LOCK_EX | LOCK_NB) != 0) {
    return Fail(kOp, "`" + path + "` is locked by another writer");
  }
  struct stat st {};
  if (::fstat(impl->fd.get(), &st) != 0) return Errno("cannot stat", path);
  auto size = static_cast<size_t>(st.st_size);

  internal::ChainState state;
  if (size > 0) {
    auto map = internal::MappedFile::Map(impl->fd.get(), size, path);
    if (!map) return tl::unexpected(map.error());
    internal::ScanResult scan =
        internal::ScanLog(map->view(), impl->key.public_key(), state, nullptr);
    if (scan.end == internal::ScanEnd::kCorrupt) {
      return Fail(kOp, "`" + path + "`: entry " + std::to_string(scan.bad_index) +
                           " at offset " + std::to_string(scan.bad_offset) + ": " +
                           scan.problem + "; refusing to append");
    }
    if (scan.end == internal::ScanEnd::kTorn || !state.have_genesis) {
      // Only the incomplete tail is cut: every entry before it checked out, and an
      // acknowledged entry was fdatasynced whole, so it cannot be part of the tail.
      size_t keep = state.have_genesis ? state.end_offset : 0;
      if (::ftruncate(impl->fd.get(), static_cast<off_t>(keep)) != 0) {
        return Errno("cannot cut the torn tail of", path);
      }
      impl->recovery.torn_bytes_cut = size - keep;
      size = keep;
      if (!state.have_genesis) state = internal::ChainState();
    }
  }
  if (size == 0) {
    // A new log: magic and the genesis entry naming the log and its checkpoint key.
    auto id = RandomBytes(internal::kLogIdSize);
    if (!id) return tl::unexpected(id.error());
    Bytes content(id->begin(), id->end());
    internal::PutU64(content, static_cast<uint64_t>(impl->Now()));
    const auto& pub = impl->key.public_key().raw();
    content.insert(content.end(), pub.begin(), pub.end());
    Bytes file(std::begin(internal::kFileMagic), std::end(internal::kFileMagic));
    auto hash = internal::AppendFrame(file, EntryType::kGenesis, 0, Digest{}, content);
    if (!hash) return tl::unexpected(hash.error());
    auto written = WriteAll(impl->fd.get(), file, path);
    if (!written) return tl::unexpected(written.error());
    std::copy(id->begin(), id->end(), state.log_id.begin());
    state.have_genesis = true;
    state.head = *hash;
    state.next_seq = 1;
    auto dir = SyncParentDir(path);
    if (!dir) return tl::unexpected(dir.error());
  }
  // Whatever was read (possibly only in the page cache after a kill) is made durable
  // before anything is appended after it.
  auto synced = SyncData(impl->fd.get(), path);
  if (!synced) return tl::unexpected(synced.error());

  impl->recovery.entries = state.next_seq;
  impl->log_id = state.log_id;
  impl->head = state.head;
  impl->next_seq = state.next_seq;
  impl->durable_seq = state.next_seq - 1;
  impl->taken_seq = impl->durable_seq;
  impl->records_since_checkpoint = state.records_since_checkpoint;
  impl->last_checkpoint_ms =
      state.last_checkpoint ? state.last_checkpoint_time_ms : impl->Now();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<AuditWriter>(new AuditWriter(std::move(impl)));
}

Result<uint64_t> AuditWriter::Append(const AuditRecord& record) {
  std::string json = record.ToJson();
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->failed) return tl::unexpected(*impl_->failed);
  if (impl_->stopping) return Fail(kOp, "the log is closed");
  auto seq = impl_->AddEntryLocked(EntryType::kRecord, AsBytes(json));
  if (!seq) return seq;
  if (++impl_->records_since_checkpoint >= impl_->options.checkpoint_every_records) {
    auto cp = impl_->AddCheckpointLocked();
    if (!cp) {
      impl_->Fail(cp.error());
      return tl::unexpected(cp.error());
    }
  }
  return seq;
}

Result<void> AuditWriter::WaitDurable(uint64_t seq) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (seq >= impl_->next_seq) return Fail(kOp, "no entry " + std::to_string(seq));
  while (impl_->durable_seq < seq && !impl_->failed) impl_->DurableCvFor(seq).wait(lock);
  if (impl_->durable_seq >= seq) return {};
  return tl::unexpected(*impl_->failed);
}

Result<void> AuditWriter::WaitDurableFor(uint64_t seq, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (seq >= impl_->next_seq) return Fail(kOp, "no entry " + std::to_string(seq));
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0));
  while (impl_->durable_seq < seq && !impl_->failed) {
    if (impl_->DurableCvFor(seq).wait_until(lock, deadline) == std::cv_status::timeout) break;
  }
  if (impl_->durable_seq >= seq) return {};
  if (impl_->failed) return tl::unexpected(*impl_->failed);
  return Fail(kOp, "entry " + std::to_string(seq) + " not durable within " +
                       std::to_string(timeout_ms) + " ms");
}

bool AuditWriter::IsDurable(uint64_t seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return seq < impl_->next_seq && impl_->durable_seq >= seq;
}

Result<uint64_t> AuditWriter::AppendDurable(const AuditRecord& record) {
  auto seq = Append(record);
  if (!seq) return seq;
  auto durable = WaitDurable(*seq);
  if (!durable) return tl::unexpected(durable.error());
  return seq;
}

Result<uint64_t> AuditWriter::Checkpoint() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->failed) return tl::unexpected(*impl_->failed);
  if (impl_->stopping) return Fail(kOp, "the log is closed");
  return impl_->AddCheckpointLocked();
}

Result<void> AuditWriter::Close() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->closed) {
      if (impl_->failed) return tl::unexpected(*impl_->failed);
      return {};
    }
    impl_->closed = true;
    // The shutdown checkpoint seals every record written since the last one.
    if (!impl_->failed && impl_->records_since_checkpoint > 0) {
      auto cp = impl_->AddCheckpointLocked();
      if (!cp) impl_->Fail(cp.error());
    }
    impl_->stopping = true;
    impl_->work_cv.notify_all();
  }
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->failed) return tl::unexpected(*impl_->failed);
  return {};
}

}  // namespace fnjail::crypto
