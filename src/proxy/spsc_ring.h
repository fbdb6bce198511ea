// A bounded single-producer, single-consumer queue of trivially copyable records: how a worker
// hands records (spans, access log entries) to a background thread without a lock or an allocation.
// A full ring refuses the record and counts it; the producer never waits. Its slots are left
// uninitialized until first written, so a ring that is never used costs address space, not memory.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

namespace strait::proxy {

template <typename T>
class alignas(64) SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "records are copied as bytes");

 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit SpscRing(std::size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)),
        slots_(new std::byte[capacity_ * sizeof(T)]) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // The producer only: copies `record` in. False when the ring is full (counted as dropped).
  bool push(const T& record) {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    bump(submitted_);
    if (head - tail >= capacity_) {
      bump(dropped_);
      return false;
    }
    std::memcpy(slot(head), &record, sizeof(T));
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // The consumer only: appends waiting records to `out` until it holds `limit`; returns how many.
  std::size_t pop_into(std::vector<T>& out, std::size_t limit) {
    std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    std::size_t taken = 0;
    while (tail != head && out.size() < limit) {
      T& record = out.emplace_back();
      std::memcpy(&record, slot(tail), sizeof(T));
      ++tail;
      ++taken;
    }
    tail_.store(tail, std::memory_order_release);
    return taken;
  }

  // Any thread: records waiting (a snapshot).
  [[nodiscard]] std::size_t size() const {
    return static_cast<std::size_t>(head_.load(std::memory_order_acquire) -
                                    tail_.load(std::memory_order_acquire));
  }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }
  // Every push, and the pushes refused because the ring was full.
  [[nodiscard]] std::uint64_t submitted() const {
    return submitted_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  // The producer is the only writer of its counters: a load and a store, no read-modify-write.
  static void bump(std::atomic<std::uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  [[nodiscard]] std::byte* slot(std::uint64_t index) const {
    return slots_.get() + (index & (capacity_ - 1)) * sizeof(T);
  }

  const std::size_t capacity_;
  const std::unique_ptr<std::byte[]> slots_;
  alignas(64) std::atomic<std::uint64_t> head_{0};  // next to write (the producer's)
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // next to read (the consumer's)
  alignas(64) std::atomic<std::uint64_t> submitted_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace strait::proxy
