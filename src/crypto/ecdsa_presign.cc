// The one file in custody on OpenSSL's pre-3.0 EC_KEY interface: OpenSSL 3 exposes the split of
// an ECDSA signature into its nonce setup and its online step (ECDSA_sign_setup,
// ECDSA_do_sign_ex) only there, deprecated but kept through 3.x. The rest of src/crypto stays on
// EVP (OPENSSL_NO_DEPRECATED in jwk_signature.cc).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "crypto/ecdsa_presign.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/thread_name.h"
#include "crypto/openssl_util.h"

namespace custody::crypto::presign {
namespace {

using EcKey = std::unique_ptr<EC_KEY, ossl::Deleter<EC_KEY_free>>;

// One precomputed nonce: k⁻¹ mod n and r. Secret until used, then wiped.
struct Pair {
  BIGNUM* kinv = nullptr;
  BIGNUM* r = nullptr;
};
void wipe(Pair& p) {
  BN_clear_free(p.kinv);
  BN_clear_free(p.r);
  p = {};
}

class Pool {
 public:
  ~Pool() { stop(); }
  bool running() const { return running_.load(std::memory_order_relaxed); }

  void start(std::size_t capacity) {
    std::lock_guard lock(mu_);
    if (thread_.joinable() || capacity == 0) return;
    capacity_ = capacity;
    stopping_ = false;
    ready_.reserve(capacity);
    running_.store(true, std::memory_order_relaxed);
    thread_ = std::thread([this] { fill(); });
    set_thread_name(thread_, "es256-presign");
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      if (!thread_.joinable()) return;
      stopping_ = true;
      running_.store(false, std::memory_order_relaxed);
    }
    wake_.notify_all();
    thread_.join();
    std::lock_guard lock(mu_);
    for (Pair& p : ready_) wipe(p);
    ready_.clear();
    capacity_ = 0;
  }

  // A ready pair, owned by the caller from here on; nullopt when none is ready.
  std::optional<Pair> take() {
    Pair p;
    bool low = false;
    {
      std::lock_guard lock(mu_);
      if (ready_.empty()) {
        fallback_.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
      }
      p = ready_.back();
      ready_.pop_back();
      // Waking the filler costs a system call: once per half pool, not once per signature.
      low = ready_.size() == capacity_ / 2;
    }
    presigned_.fetch_add(1, std::memory_order_relaxed);
    if (low) wake_.notify_one();
    return p;
  }

  Stats stats() {
    Stats s;
    s.presigned = presigned_.load(std::memory_order_relaxed);
    s.fallback = fallback_.load(std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    s.ready = ready_.size();
    s.capacity = capacity_;
    return s;
  }

 private:
  // The filler: refills the pool to capacity whenever it is at half or less, at SCHED_IDLE so
  // that it runs only on a core nothing else wants.
  void fill() {
    lower_priority();
    // ECDSA_sign_setup needs a P-256 EC_KEY with a private key, though the pair it computes
    // depends only on the curve: a throwaway key of the filler's own, never used to sign.
    EcKey scratch(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    std::unique_ptr<BN_CTX, ossl::Deleter<BN_CTX_free>> ctx(BN_CTX_secure_new());
    if (!scratch || !ctx || EC_KEY_generate_key(scratch.get()) != 1) {
      give_up(ossl::drain_errors());
      return;
    }
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (ready_.size() > capacity_ / 2) {
        wake_.wait(lock, [this] { return stopping_ || ready_.size() <= capacity_ / 2; });
        continue;
      }
      while (!stopping_ && ready_.size() < capacity_) {
        lock.unlock();
        Pair p;
        const bool ok = ECDSA_sign_setup(scratch.get(), ctx.get(), &p.kinv, &p.r) == 1;
        const std::string reason = ok ? "" : ossl::drain_errors();
        lock.lock();
        if (!ok) {
          wipe(p);
          give_up(reason);
          return;
        }
        ready_.push_back(p);
      }
    }
  }

  // The filler stops for good; signatures take one step from now on, which the metrics show as
  // "inline". Said once, so that an operator knows why.
  static void give_up(const std::string& reason) {
    log::warn("ES256 nonce precomputation stopped; every signature now takes one step",
              {{"error", reason}});
  }

  // SCHED_IDLE (Linux, no privilege needed to lower one's own priority); failing that, nice 19.
  static void lower_priority() {
    sched_param param{};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) == 0) return;
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Pair> ready_;
  std::size_t capacity_ = 0;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<std::uint64_t> presigned_{0};
  std::atomic<std::uint64_t> fallback_{0};
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void start(std::size_t capacity) {
  pool().start(capacity);
}
void stop() {
  pool().stop();
}
Stats stats() {
  return pool().stats();
}
bool running() {
  return pool().running();
}

struct Signer::Key {
  EcKey ec;
};

Signer::Signer(std::unique_ptr<Key> key) : key_(std::move(key)) {}
Signer::~Signer() = default;

std::shared_ptr<const Signer> Signer::for_key(EVP_PKEY* pkey) {
  EcKey ec(EVP_PKEY_get1_EC_KEY(pkey));
  if (!ec || EC_KEY_get0_private_key(ec.get()) == nullptr) {
    log::warn("an ES256 key cannot use precomputed nonces; it signs in one step",
              {{"error", ossl::drain_errors()}});
    return nullptr;
  }
  auto key = std::make_unique<Key>();
  key->ec = std::move(ec);
  return std::shared_ptr<const Signer>(new Signer(std::move(key)));
}

std::optional<Result<std::string>> Signer::sign_digest(const unsigned char (&digest)[32]) const {
  std::optional<Pair> pair = pool().take();
  if (!pair) return std::nullopt;
  ossl::EcdsaSig sig(ECDSA_do_sign_ex(digest, sizeof digest, pair->kinv, pair->r, key_->ec.get()));
  wipe(*pair);
  if (!sig) {
    // Includes s = 0, which a given pair cannot retry (probability about 2⁻²⁵⁶).
    return Result<std::string>(Error::internal("OpenSSL could not sign with a precomputed nonce: " +
                                               ossl::drain_errors()));
  }
  std::string raw = ossl::ecdsa_p256_raw(sig.get());
  if (raw.empty()) {
    return Result<std::string>(
        Error::internal("OpenSSL returned an ECDSA signature too long for P-256"));
  }
  return Result<std::string>(std::move(raw));
}

}  // namespace custody::crypto::presign
