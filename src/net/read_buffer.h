// A connection's read buffer: bytes received but not yet consumed. It grows on demand up to a hard
// cap (so a peer cannot make us buffer without bound) and compacts when consumed bytes pile up.
#pragma once

#include <asio/buffer.hpp>
#include <cstring>
#include <memory>
#include <string_view>

namespace strait::net {

class ReadBuffer {
 public:
  explicit ReadBuffer(std::size_t max_capacity) : max_(max_capacity) {}

  [[nodiscard]] std::string_view data() const { return {storage_.get() + begin_, end_ - begin_}; }
  [[nodiscard]] std::size_t size() const { return end_ - begin_; }
  [[nodiscard]] bool empty() const { return begin_ == end_; }
  [[nodiscard]] bool full() const { return size() >= max_; }

  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  // Space to read into: at least `want` bytes when the cap allows, else whatever is left below it.
  // Returns an empty buffer only when the buffer holds max_capacity unconsumed bytes.
  asio::mutable_buffer prepare(std::size_t want = 16 * 1024) {
    if (capacity_ - end_ < want && begin_ > 0) {
      std::memmove(storage_.get(), storage_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (capacity_ - end_ < want && capacity_ < max_) {
      std::size_t grown = capacity_ == 0 ? 4096 : capacity_ * 2;
      while (grown - end_ < want && grown < max_) grown *= 2;
      if (grown > max_) grown = max_;
      auto bigger = std::make_unique_for_overwrite<char[]>(grown);
      if (end_ > begin_) std::memcpy(bigger.get(), storage_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      storage_ = std::move(bigger);
      capacity_ = grown;
    }
    return asio::buffer(storage_.get() + end_, capacity_ - end_);
  }
  void commit(std::size_t n) { end_ += n; }

  // Returns memory to the allocator when the buffer is empty and has grown large (idle keep-alive
  // connections should not each hold a 64 KiB head buffer).
  void shrink_if_idle(std::size_t keep = 16 * 1024) {
    if (empty() && capacity_ > keep) {
      storage_.reset();
      capacity_ = 0;
      begin_ = end_ = 0;
    }
  }

 private:
  std::unique_ptr<char[]> storage_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t max_;
};

}  // namespace strait::net
