// The jail's filesystem: tmpfs root, read-only binds, /proc, minimal /dev, tmpfs /tmp.
#include "sandbox/internal/mount_ns.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

namespace fnjail::sandbox::internal::mount_ns {
namespace {

using Kind = Op::Kind;

constexpr unsigned long kProcFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
// Device nodes a jail gets: bound from the host's /dev (mknod is not possible in a user
// namespace, and no other device is reachable).
constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom"};

size_t Depth(std::string_view path) {
  return static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

// "/a/b/c" -> {"/a", "/a/b"}.
std::vector<std::string> Ancestors(const std::string& path) {
  std::vector<std::string> out;
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    out.push_back(path.substr(0, pos));
  }
  return out;
}

bool IsUnder(std::string_view path, std::string_view dir) {
  return path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/';
}

// One layer of the new root: a bind or a tmpfs, applied parents first.
struct Layer {
  const Bind* bind = nullptr;  // null for a tmpfs
  std::string target;
  std::string canonical;  // canonical host source (binds)
  bool is_dir = true;
  bool is_symlink = false;
  std::string link;  // symlink contents
};

class Planner {
 public:
  explicit Planner(Plan* plan) : plan_(plan) {}

  // Makes sure `path` exists as a directory (or file) inside the new root, creating it only
  // where that writes to a tmpfs of ours. Inside a bind it must already exist in the source,
  // else creating it would write to the host.
  Result<void> Ensure(const std::string& path, bool dir) {
    if (created_.count(path) != 0) return {};
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
      const Layer& l = *it;
      if (l.bind == nullptr || !IsUnder(path, l.target)) continue;
      const std::string host = l.canonical + path.substr(l.target.size());
      struct stat st {};
      if (lstat(host.c_str(), &st) != 0 || S_ISDIR(st.st_mode) != dir) {
        return Fail(Step::kValidate, ENOENT,
                    "mount point `" + path + "` does not exist inside bind `" + l.target +
                        "` and is not created there (that would write to the host)");
      }
      created_.insert(path);
      return {};
    }
    plan_->ops.push_back({dir ? Kind::kMkdir : Kind::kMkfile, {}, path, {}, 0});
    created_.insert(path);
    return {};
  }

  Result<void> EnsureParents(const std::string& path) {
    for (const std::string& a : Ancestors(path)) {
      if (auto r = Ensure(a, true); !r) return r;
    }
    return {};
  }

  void Applied(Layer layer) { layers_.push_back(std::move(layer)); }
  void MarkCreated(const std::string& path) { created_.insert(path); }

 private:
  Plan* plan_;
  std::set<std::string> created_;
  std::vector<Layer> layers_;
};

std::string TmpfsOptions(uint64_t bytes, const char* mode) {
  return "size=" + std::to_string(bytes) + ",mode=" + mode;
}

}  // namespace

Result<Plan> PrepareInParent(const SandboxSpec& spec) {
  Plan plan;
  plan.root_options = TmpfsOptions(1 << 20, "0755");
  Planner planner(&plan);

  // Reserved trees first: /proc of the jail's pid namespace, a read-only /dev of a few nodes.
  plan.ops.push_back({Kind::kMkdir, {}, "/proc", {}, 0});
  plan.ops.push_back({Kind::kProc, {}, "/proc", {}, kProcFlags});
  plan.ops.push_back({Kind::kMkdir, {}, "/dev", {}, 0});
  plan.ops.push_back(
      {Kind::kTmpfs, {}, "/dev", TmpfsOptions(64 << 10, "0755"), MS_NOSUID | MS_NOEXEC});
  for (const char* node : kDevNodes) {
    const std::string target = std::string("/dev/") + node;
    plan.ops.push_back({Kind::kMkfile, {}, target, {}, 0});
    plan.ops.push_back({Kind::kBind, std::string(kOldRoot) + "/dev/" + node, target, {}, 0});
    plan.ops.push_back({Kind::kSetAttr, {}, target, {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC});
  }
  plan.ops.push_back({Kind::kSymlink, "/proc/self/fd", "/dev/fd", {}, 0});
  plan.ops.push_back({Kind::kSymlink, "/proc/self/fd/0", "/dev/stdin", {}, 0});
  plan.ops.push_back({Kind::kSymlink, "/proc/self/fd/1", "/dev/stdout", {}, 0});
  plan.ops.push_back({Kind::kSymlink, "/proc/self/fd/2", "/dev/stderr", {}, 0});
  plan.ops.push_back({Kind::kRemount, {}, "/dev", {}, MS_RDONLY | MS_NOSUID | MS_NOEXEC});
  planner.MarkCreated("/proc");
  planner.MarkCreated("/dev");

  // Binds and /tmp, parents before children (stable: equal depths keep the spec's order).
  std::vector<Layer> layers;
  for (const Bind& b : spec.binds) {
    Layer l;
    l.bind = &b;
    l.target = b.target;
    struct stat st {};
    if (lstat(b.source.c_str(), &st) != 0) {
      return Fail(Step::kValidate, errno, "bind source `" + b.source + "`");
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[PATH_MAX];
      const ssize_t n = readlink(b.source.c_str(), buf, sizeof(buf) - 1);
      if (n <= 0) return Fail(Step::kValidate, errno, "readlink `" + b.source + "`");
      l.is_symlink = true;
      l.link.assign(buf, static_cast<size_t>(n));
    } else {
      // SECURITY: the child resolves sources under the old root, where an absolute symlink
      // would point into the new root; bind the canonical path instead.
      char* real = realpath(b.source.c_str(), nullptr);
      if (real == nullptr) return Fail(Step::kValidate, errno, "bind source `" + b.source + "`");
      l.canonical = real;
      std::free(real);
      l.is_dir = S_ISDIR(st.st_mode);
      if (!l.is_dir && !S_ISREG(st.st_mode)) {
        return Fail(Step::kValidate, EINVAL,
                    "bind source `" + b.source + "` is neither a directory nor a regular file");
      }
    }
    layers.push_back(std::move(l));
  }
  if (spec.limits.tmpfs_bytes != 0) {
    Layer tmp;
    tmp.target = "/tmp";
    layers.push_back(std::move(tmp));
  }
  std::stable_sort(layers.begin(), layers.end(), [](const Layer& a, const Layer& b) {
    return Depth(a.target) < Depth(b.target);
  });

  for (Layer& l : layers) {
    if (auto r = planner.EnsureParents(l.target); !r) return tl::unexpected(r.error());
    if (l.bind == nullptr) {
      if (auto r = planner.Ensure(l.target, true); !r) return tl::unexpected(r.error());
      // W^X: the jail's writable places never hold executables.
      plan.ops.push_back({Kind::kTmpfs, {}, l.target,
                          TmpfsOptions(spec.limits.tmpfs_bytes, "1777"),
                          MS_NOSUID | MS_NODEV | MS_NOEXEC});
    } else if (l.is_symlink) {
      plan.ops.push_back({Kind::kSymlink, l.link, l.target, {}, 0});
      planner.MarkCreated(l.target);
    } else {
      if (auto r = planner.Ensure(l.target, l.is_dir); !r) return tl::unexpected(r.error());
      plan.ops.push_back({Kind::kBind, std::string(kOldRoot) + l.canonical, l.target, {}, 0});
      unsigned long attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
      attrs |= l.bind->writable ? MOUNT_ATTR_NOEXEC : MOUNT_ATTR_RDONLY;
      plan.ops.push_back({Kind::kSetAttr, {}, l.target, {}, attrs});
    }
    planner.Applied(std::move(l));
  }
  return plan;
}

namespace {

ChildStatus ApplyOp(const Op& op, uint32_t index) noexcept {
  switch (op.kind) {
    case Kind::kMkdir:
      if (mkdir(op.target.c_str(), 0755) != 0 && errno != EEXIST) {
        return ChildFail(Step::kMkdir, index);
      }
      return ChildOk();
    case Kind::kMkfile: {
      const int fd = open(op.target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0) return ChildFail(Step::kMkfile, index);
      close(fd);
      return ChildOk();
    }
    case Kind::kSymlink:
      if (symlink(op.source.c_str(), op.target.c_str()) != 0) {
        return ChildFail(Step::kSymlink, index);
      }
      return ChildOk();
    case Kind::kBind:
      if (mount(op.source.c_str(), op.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        return ChildFail(Step::kBind, index);
      }
      return ChildOk();
    case Kind::kSetAttr: {
      // Recursive, and it only sets flags: flags locked by the host mount stay as they are.
      mount_attr attr{};
      attr.attr_set = op.flags;
      if (syscall(SYS_mount_setattr, AT_FDCWD, op.target.c_str(), AT_RECURSIVE, &attr,
                  sizeof(attr)) != 0) {
        return ChildFail(Step::kRemount, index);
      }
      return ChildOk();
    }
    case Kind::kTmpfs:
      if (mount("tmpfs", op.target.c_str(), "tmpfs", op.flags, op.data.c_str()) != 0) {
        return ChildFail(Step::kTmpfs, index);
      }
      return ChildOk();
    case Kind::kProc:
      if (mount("proc", op.target.c_str(), "proc", op.flags, nullptr) != 0) {
        return ChildFail(Step::kProc, index);
      }
      return ChildOk();
    case Kind::kRemount:
      if (mount(nullptr, op.target.c_str(), nullptr, MS_REMOUNT | MS_BIND | op.flags, nullptr) !=
          0) {
        return ChildFail(Step::kRemount, index);
      }
      return ChildOk();
  }
  errno = EINVAL;
  return ChildFail(Step::kPrepare, index);
}

}  // namespace

ChildStatus ApplyInChild(const Plan& plan) noexcept {
  // Nothing we do here may propagate back to the host's mount namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return ChildFail(Step::kMountPrivate);
  }
  if (mount("tmpfs", plan.staging.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
            plan.root_options.c_str()) != 0) {
    return ChildFail(Step::kMountRoot);
  }
  if (chdir(plan.staging.c_str()) != 0) return ChildFail(Step::kMountRoot);
  if (mkdir(kOldRoot + 1, 0700) != 0) return ChildFail(Step::kMountRoot);
  if (syscall(SYS_pivot_root, ".", kOldRoot + 1) != 0) return ChildFail(Step::kPivotRoot);
  if (chdir("/") != 0) return ChildFail(Step::kPivotRoot);
  for (uint32_t i = 0; i < plan.ops.size(); ++i) {
    const ChildStatus s = ApplyOp(plan.ops[i], i);
    if (!s.ok()) return s;
  }
  if (umount2(kOldRoot, MNT_DETACH) != 0) return ChildFail(Step::kDetachOldRoot);
  if (rmdir(kOldRoot) != 0) return ChildFail(Step::kDetachOldRoot);
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
            nullptr) != 0) {
    return ChildFail(Step::kRemount, UINT32_MAX);  // the root itself, not an op
  }
  return ChildOk();
}

std::string Describe(const Plan& plan, const ChildStatus& status) {
  const Step s = status.step;
  const bool indexed = s == Step::kMkdir || s == Step::kMkfile || s == Step::kSymlink ||
                       s == Step::kBind || s == Step::kRemount || s == Step::kTmpfs ||
                       s == Step::kProc;
  if (!indexed || status.index >= plan.ops.size()) return {};
  const Op& op = plan.ops[status.index];
  return op.source.empty() ? op.target : op.source + " -> " + op.target;
}

}  // namespace fnjail::sandbox::internal::mount_ns
