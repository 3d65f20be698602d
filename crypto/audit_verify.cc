// Verification of a whole audit log against its trusted checkpoint key.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "crypto/crypto.h"
#include "crypto/internal/audit_format.h"
#include "crypto/internal/mapped_file.h"
#include "crypto/internal/unique_fd.h"

namespace fnjail::crypto {

Result<AuditVerifyReport> VerifyAuditLog(
    const std::string& path, const Ed25519PublicKey& key,
    const std::vector<AuditCheckpoint>& expected,
    const std::function<void(uint64_t seq, std::string_view json)>& on_record) {
  internal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return Fail("audit verify", "cannot open `" + path + "`: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Fail("audit verify", "cannot stat `" + path + "`: " + std::strerror(errno));
  }
  auto map = internal::MappedFile::Map(fd.get(), static_cast<size_t>(st.st_size), path);
  if (!map) return tl::unexpected(map.error());

  internal::ChainState state;
  std::vector<AuditCheckpoint> in_log;
  state.all_checkpoints = &in_log;
  internal::ScanResult scan = internal::ScanLog(map->view(), key, state, on_record);

  AuditVerifyReport report;
  report.entries = state.next_seq;
  report.records = state.records;
  report.checkpoints = state.checkpoints;
  report.unsealed_records = state.records_since_checkpoint;
  report.last_checkpoint = state.last_checkpoint;
  if (scan.end != internal::ScanEnd::kClean) {
    report.bad_index = scan.bad_index;
    report.bad_offset = scan.bad_offset;
    report.problem = scan.end == internal::ScanEnd::kTorn
                         ? scan.problem + " (the log ends in an incomplete entry: a crash or a "
                                          "truncation)"
                         : scan.problem;
    return report;
  }
  if (!state.have_genesis) {
    report.problem = "empty log (no genesis entry)";
    return report;
  }
  // An exported checkpoint kept elsewhere proves the log once reached that entry with
  // that chain head: the log must still hold exactly that checkpoint. This catches a
  // truncation or a rewrite behind it, which the log alone cannot show.
  for (const auto& cp : expected) {
    report.bad_index = cp.seq;
    if (cp.log_id != ToHex(state.log_id)) {
      report.problem = "exported checkpoint " + std::to_string(cp.seq) + " is for log `" +
                       cp.log_id + "`, this is log `" + ToHex(state.log_id) + "`";
      return report;
    }
    if (cp.seq >= state.next_seq) {
      report.bad_offset = state.end_offset;
      report.problem = "log truncated: exported checkpoint " + std::to_string(cp.seq) +
                       " lies beyond its last entry " + std::to_string(state.next_seq - 1);
      return report;
    }
    auto it = std::find_if(in_log.begin(), in_log.end(),
                           [&](const AuditCheckpoint& c) { return c.seq == cp.seq; });
    if (it == in_log.end() || it->head != cp.head || it->time_ms != cp.time_ms ||
        it->signature != cp.signature) {
      report.problem = "exported checkpoint " + std::to_string(cp.seq) +
                       " is not in the log: entries up to it were rewritten";
      return report;
    }
  }
  report.bad_index = 0;
  report.intact = true;
  return report;
}

Result<AuditVerifyReport> ForEachAuditRecord(
    const std::string& path, const Ed25519PublicKey& key,
    const std::function<void(uint64_t seq, const AuditRecord& record)>& on_record,
    const std::vector<AuditCheckpoint>& expected) {
  std::optional<std::pair<uint64_t, std::string>> unparsable;
  auto report = VerifyAuditLog(path, key, expected, [&](uint64_t seq, std::string_view json) {
    if (unparsable) return;  // nothing after a record that did not parse
    auto record = AuditRecord::FromJson(json);
    if (!record) {
      unparsable.emplace(seq, record.error().message());
      return;
    }
    if (on_record) on_record(seq, *record);
  });
  if (!report) return report;
  // A record in the chain that does not parse is a writer's bug, not tampering, but a
  // reader that bills or reports from records must not skip it silently.
  if (unparsable && (report->intact || report->bad_index > unparsable->first)) {
    report->intact = false;
    report->bad_index = unparsable->first;
    report->bad_offset = 0;
    report->problem = "record " + std::to_string(unparsable->first) +
                      " does not parse: " + unparsable->second;
  }
  return report;
}

Result<AuditLogContents> ReadAuditLog(const std::string& path, const Ed25519PublicKey& key,
                                      const std::vector<AuditCheckpoint>& expected) {
  AuditLogContents contents;
  auto report = ForEachAuditRecord(
      path, key,
      [&](uint64_t seq, const AuditRecord& record) {
        contents.records.push_back({seq, record});
      },
      expected);
  if (!report) return tl::unexpected(report.error());
  contents.report = std::move(*report);
  return contents;
}

}  // namespace fnjail::crypto
