// Environments: one Pool per deployed function, the jail host and the maintenance thread.
#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/function.h"
#include "runtime/pool.h"
#include "sandbox/sandbox.h"

namespace fnjail::runtime {

PoolOptions PoolOptionsFor(const FunctionSpec& fn, const PoolOptions& defaults) {
  const FunctionPool& p = fn.pool;
  PoolOptions o = defaults;
  o.min_idle = p.min_idle.value_or(defaults.min_idle);
  o.max_concurrency = p.max_concurrency ? *p.max_concurrency
                      : fn.concurrency  ? *fn.concurrency
                                        : defaults.max_concurrency;
  o.idle_ttl = p.idle_ttl_ms ? std::chrono::milliseconds(*p.idle_ttl_ms) : defaults.idle_ttl;
  o.max_invocations = p.max_invocations.value_or(defaults.max_invocations);
  o.per_principal = p.per_principal.value_or(defaults.per_principal);
  o.prewarm = std::max<size_t>(p.prewarm.value_or(defaults.prewarm), o.min_idle);
  o.timeout = std::chrono::milliseconds(fn.timeout_ms);
  o.queue_timeout = std::min(defaults.queue_timeout, o.timeout);
  return o;
}

struct Environments::Impl {
  EnvironmentsOptions options;
  std::unique_ptr<sandbox::JailHost> host;  // null when options.factory makes environments

  mutable std::shared_mutex pools_mu;
  std::map<std::string, std::shared_ptr<Pool>, std::less<>> pools;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  bool poked = false;
  std::thread maintenance;

  std::shared_ptr<Pool> Find(const std::string& name) const {
    std::shared_lock lock(pools_mu);
    auto it = pools.find(name);
    return it == pools.end() ? nullptr : it->second;
  }

  std::vector<std::shared_ptr<Pool>> All() const {
    std::shared_lock lock(pools_mu);
    std::vector<std::shared_ptr<Pool>> all;
    all.reserve(pools.size());
    for (const auto& [name, pool] : pools) all.push_back(pool);
    return all;
  }

  // Reaps idle environments and tops up min_idle, every maintenance_interval while any pool
  // needs it; otherwise sleeps until a pool reports an idle environment or a deploy.
  void MaintenanceLoop() {
    std::unique_lock lock(stop_mu);
    while (!stopping) {
      lock.unlock();
      bool needed = false;
      for (const auto& pool : All()) needed = pool->NeedsMaintenance() || needed;
      lock.lock();
      if (needed) {
        stop_cv.wait_for(lock, options.maintenance_interval, [&] { return stopping; });
      } else {
        stop_cv.wait(lock, [&] { return stopping || poked; });
      }
      poked = false;
      if (stopping) break;
      lock.unlock();
      for (const auto& pool : All()) pool->Maintain();
      lock.lock();
    }
  }

  // Wakes the maintenance thread (an environment went idle, or a pool was deployed).
  void Poke() {
    {
      std::lock_guard lock(stop_mu);
      poked = true;
    }
    stop_cv.notify_all();
  }

  Result<std::shared_ptr<EnvironmentFactory>> MakeFactory(const FunctionSpec& fn) {
    if (options.factory) return options.factory(fn);
    JailOptions jail;
    jail.runtime_binary = options.runtime_binary;
    jail.dangerous = options.dangerous;
    auto spec = JailSpecFor(fn, jail);
    if (!spec) return tl::unexpected(spec.error());
    auto prepared = sandbox::PreparedJail::Prepare(std::move(*spec));
    if (!prepared) {
      return Fail("jail", "function `" + fn.name + "`: " + prepared.error().ToString());
    }
    return MakeJailEnvironmentFactory(*host, std::move(*prepared));
  }
};

Environments::Environments(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Environments>> Environments::Create(EnvironmentsOptions options) {
  if (options.maintenance_interval.count() <= 0) {
    return Fail("invalid", "maintenance_interval must be positive");
  }
  auto impl = std::make_unique<Impl>();
  if (!options.clock) options.clock = SteadyClock();
  if (!options.factory) {
    auto host = sandbox::JailHost::Create();
    if (!host) return Fail("jail", "cannot start the jail host: " + host.error().ToString());
    impl->host = std::move(*host);
  }
  impl->options = std::move(options);
  Impl* raw = impl.get();
  impl->maintenance = std::thread([raw] { raw->MaintenanceLoop(); });
  return std::unique_ptr<Environments>(new Environments(std::move(impl)));
}

Environments::~Environments() {
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  impl_->maintenance.join();
  std::map<std::string, std::shared_ptr<Pool>, std::less<>> pools;
  {
    std::unique_lock lock(impl_->pools_mu);
    pools.swap(impl_->pools);
  }
  for (auto& [name, pool] : pools) pool->Close();
  pools.clear();
  // impl_->host goes last: its destructor kills and reaps any jail still alive.
}

Result<void> Environments::Deploy(const FunctionSpec& fn) {
  const PoolOptions options = PoolOptionsFor(fn, impl_->options.pool_defaults);
  if (auto valid = ValidatePoolOptions(options); !valid) {
    return Fail("invalid", "function `" + fn.name + "`: pool: " + valid.error().message);
  }
  auto factory = impl_->MakeFactory(fn);
  if (!factory) return tl::unexpected(factory.error());
  auto created = Pool::Create(fn.name, options, std::move(*factory), impl_->options.clock);
  if (!created) return tl::unexpected(created.error());
  std::shared_ptr<Pool> pool = std::move(*created);
  Impl* impl = impl_.get();
  pool->SetIdleListener([impl] { impl->Poke(); });
  // Pre-warm before the pool is visible, so that a broken function fails its deploy and
  // leaves the previous version serving.
  if (auto warmed = pool->Prewarm(options.prewarm); !warmed) {
    pool->Close();
    return warmed;
  }
  std::shared_ptr<Pool> previous;
  {
    std::unique_lock lock(impl_->pools_mu);
    auto& slot = impl_->pools[fn.name];
    previous = std::exchange(slot, std::move(pool));
  }
  if (previous) previous->Close();
  impl_->Poke();
  return {};
}

void Environments::Undeploy(const std::string& name) {
  std::shared_ptr<Pool> pool;
  {
    std::unique_lock lock(impl_->pools_mu);
    auto it = impl_->pools.find(name);
    if (it == impl_->pools.end()) return;
    pool = std::move(it->second);
    impl_->pools.erase(it);
  }
  pool->Close();
}

Result<InvokeResult> Environments::Invoke(const std::string& function, const Invocation& inv,
                                          Metering* metering) {
  std::shared_ptr<Pool> pool = impl_->Find(function);
  if (!pool) {
    if (metering != nullptr) {
      *metering = Metering();
      metering->outcome = "unknown-function";
    }
    return Fail("unknown-function", "function `" + function + "` is not deployed");
  }
  return pool->Invoke(inv, metering);
}

std::vector<Environments::PoolStats> Environments::Stats() const {
  std::vector<PoolStats> out;
  for (const auto& pool : impl_->All()) {
    PoolStats s;
    s.function = pool->function();
    s.detail = pool->GetStats();
    s.idle = s.detail.idle;
    s.busy = s.detail.busy;
    s.waiting = s.detail.waiting;
    s.cold_starts = s.detail.cold_starts;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace fnjail::runtime
