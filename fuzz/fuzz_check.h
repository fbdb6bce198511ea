// How every fuzz target states an invariant: FUZZ_CHECK(condition) prints the file, line and
// condition and aborts when it does not hold, so that libFuzzer records the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace strait::fuzz {

inline void check(bool ok, const char* condition, const char* file, int line) {
  if (!ok) {
    std::fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, condition);
    std::abort();
  }
}

}  // namespace strait::fuzz

#define FUZZ_CHECK(condition) ::strait::fuzz::check((condition), #condition, __FILE__, __LINE__)
