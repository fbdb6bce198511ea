// The trace collector's memory: grouping by trace, duplicates, each limit and the eviction order,
// listing (filters, order, roots) and id normalization.
#include "control/trace_store.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace strait::control {
namespace {

std::string trace_id(int n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%032x", n);
  return buffer;
}

std::string span_id(int n) {
  char buffer[20];
  std::snprintf(buffer, sizeof buffer, "%016x", n);
  return buffer;
}

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kBase = 1'700'000'000'000'000'000;

// Span `id` of trace `trace`, from `start_ms` to `end_ms` after kBase; parent 0 is none.
CollectedSpan span(int trace, int id, int parent, std::int64_t start_ms, std::int64_t end_ms,
                   std::string service = "web", std::string name = "GET /") {
  CollectedSpan s;
  s.trace_id = trace_id(trace);
  s.span_id = span_id(id);
  s.parent_span_id = parent == 0 ? "" : span_id(parent);
  s.name = std::move(name);
  s.kind = "server";
  s.service = std::move(service);
  s.start_unix_nanos = kBase + start_ms * kMs;
  s.end_unix_nanos = kBase + end_ms * kMs;
  return s;
}

TEST(TraceStoreTest, GroupsSpansByTraceAndFindsThemByStart) {
  TraceStore store;
  const auto added = store.add({span(1, 2, 1, 5, 8), span(2, 9, 0, 0, 1), span(1, 1, 0, 0, 10)});
  EXPECT_EQ(added.accepted, 3u);
  EXPECT_EQ(added.dropped, 0u);
  const auto stats = store.stats();
  EXPECT_EQ(stats.traces, 2u);
  EXPECT_EQ(stats.spans, 3u);
  EXPECT_EQ(stats.spans_received, 3u);
  const auto found = store.find(trace_id(1));
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].span_id, span_id(1));  // by start time
  EXPECT_EQ((*found)[1].span_id, span_id(2));
  EXPECT_FALSE(store.find(trace_id(3)).has_value());
}

TEST(TraceStoreTest, ADuplicateReplacesTheEarlierCopy) {
  TraceStore store;
  store.add({span(1, 1, 0, 0, 10, "web", "first")});
  const auto added =
      store.add({span(1, 1, 0, 0, 12, "web", "second"), span(1, 1, 0, 0, 13, "web", "third")});
  EXPECT_EQ(added.accepted, 2u);
  const auto found = store.find(trace_id(1));
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].name, "third");
  EXPECT_EQ(store.stats().spans, 1u);
  EXPECT_EQ(store.stats().spans_received, 3u);
}

TEST(TraceStoreTest, SpansBeyondThePerTraceCapAreDroppedAndCounted) {
  TraceStore store(TraceStoreLimits{.max_spans_per_trace = 3});
  const auto added = store.add({span(1, 1, 0, 0, 9), span(1, 2, 1, 1, 2), span(1, 3, 1, 2, 3),
                                span(1, 4, 1, 3, 4), span(1, 5, 1, 4, 5)});
  EXPECT_EQ(added.accepted, 3u);
  EXPECT_EQ(added.dropped, 2u);
  // A full trace still takes a new copy of a span it holds.
  EXPECT_EQ(store.add({span(1, 2, 1, 1, 3, "web", "again")}).accepted, 1u);
  const auto stats = store.stats();
  EXPECT_EQ(stats.spans, 3u);
  EXPECT_EQ(stats.spans_dropped, 2u);
  EXPECT_EQ(stats.spans_received, 6u);
  EXPECT_EQ(stats.traces_evicted, 0u);
  // Another trace is not affected.
  EXPECT_EQ(store.add({span(2, 1, 0, 0, 1)}).accepted, 1u);
}

TEST(TraceStoreTest, TooManyTracesEvictsTheLeastRecentlyUpdated) {
  TraceStore store(TraceStoreLimits{.max_traces = 2});
  store.add({span(1, 1, 0, 0, 1)});
  store.add({span(2, 1, 0, 0, 1)});
  store.add({span(1, 2, 1, 0, 1)});  // trace 1 is now the most recent
  store.add({span(3, 1, 0, 0, 1)});
  EXPECT_TRUE(store.find(trace_id(1)).has_value());
  EXPECT_FALSE(store.find(trace_id(2)).has_value());
  EXPECT_TRUE(store.find(trace_id(3)).has_value());
  store.add({span(4, 1, 0, 0, 1)});
  EXPECT_FALSE(store.find(trace_id(1)).has_value());
  const auto stats = store.stats();
  EXPECT_EQ(stats.traces, 2u);
  EXPECT_EQ(stats.spans, 2u);
  EXPECT_EQ(stats.traces_evicted, 2u);
  EXPECT_EQ(stats.spans_dropped, 0u);
}

TEST(TraceStoreTest, TooManySpansInAllEvictsOtherTracesOldestFirst) {
  TraceStore store(TraceStoreLimits{.max_spans = 4});
  store.add({span(1, 1, 0, 0, 1), span(1, 2, 1, 0, 1)});
  store.add({span(2, 1, 0, 0, 1), span(2, 2, 1, 0, 1)});
  // A fifth span for trace 2 evicts trace 1, never its own.
  store.add({span(2, 3, 1, 0, 1)});
  EXPECT_FALSE(store.find(trace_id(1)).has_value());
  EXPECT_EQ(store.find(trace_id(2))->size(), 3u);
  EXPECT_EQ(store.stats().traces_evicted, 1u);
  // With no other trace to evict, a span over the total is dropped.
  const auto added = store.add({span(2, 4, 1, 0, 1), span(2, 5, 1, 0, 1)});
  EXPECT_EQ(added.accepted, 1u);
  EXPECT_EQ(added.dropped, 1u);
  EXPECT_EQ(store.stats().spans, 4u);
}

TEST(TraceStoreTest, TheByteBudgetEvictsAndRefusesASpanLargerThanIt) {
  TraceStore store(TraceStoreLimits{.max_bytes = 2000});
  CollectedSpan big = span(1, 1, 0, 0, 1);
  big.attributes.emplace_back("payload", std::string(5000, 'x'));
  const auto added = store.add({big});
  EXPECT_EQ(added.dropped, 1u);
  EXPECT_EQ(store.stats().traces, 0u);
  CollectedSpan half = span(1, 1, 0, 0, 1);
  half.attributes.emplace_back("payload", std::string(1000, 'x'));
  store.add({half});
  half.trace_id = trace_id(2);
  store.add({half});  // both do not fit: trace 1 goes
  EXPECT_FALSE(store.find(trace_id(1)).has_value());
  EXPECT_TRUE(store.find(trace_id(2)).has_value());
  EXPECT_LE(store.stats().bytes, 2000u);
  EXPECT_EQ(store.stats().traces_evicted, 1u);
}

TEST(TraceStoreTest, ListsNewestFirstWithFiltersAndLimit) {
  TraceStore store;
  store.add({span(1, 1, 0, 0, 100, "web"), span(1, 2, 1, 10, 50, "reviews")});
  store.add({span(2, 1, 0, 200, 205, "web")});
  store.add({span(3, 1, 0, 100, 400, "ratings")});
  auto all = store.list({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].trace_id, trace_id(2));  // started last
  EXPECT_EQ(all[1].trace_id, trace_id(3));
  EXPECT_EQ(all[2].trace_id, trace_id(1));
  EXPECT_EQ(all[2].span_count, 2u);
  EXPECT_EQ(all[2].duration_nanos, 100 * kMs);
  EXPECT_EQ(all[2].start_unix_nanos, kBase);
  EXPECT_EQ(all[2].services, (std::vector<std::string>{"reviews", "web"}));

  const auto reviews = store.list({.service = "reviews"});
  ASSERT_EQ(reviews.size(), 1u);
  EXPECT_EQ(reviews[0].trace_id, trace_id(1));
  const auto slow = store.list({.min_duration = std::chrono::milliseconds(100)});
  ASSERT_EQ(slow.size(), 2u);  // 300 ms and exactly 100 ms
  EXPECT_EQ(slow[0].trace_id, trace_id(3));
  const auto one = store.list({.limit = 1});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].trace_id, trace_id(2));
  EXPECT_TRUE(store.list({.service = "nobody"}).empty());
}

TEST(TraceStoreTest, TheRootIsTheSpanWithoutParentElseTheEarliestOrphan) {
  TraceStore store;
  // The root arrives last and does not start first (clock skew between hosts).
  store.add({span(1, 2, 1, 0, 5, "reviews", "GET /reviews"), span(1, 1, 0, 1, 9, "web", "GET /")});
  // No root: the spans whose parent is missing, the earliest of them.
  store.add({span(2, 3, 2, 5, 6, "ratings", "child"), span(2, 2, 1, 2, 8, "reviews", "orphan"),
             span(2, 4, 3, 3, 4, "db", "grandchild")});
  const auto all = store.list({});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].trace_id, trace_id(2));
  EXPECT_EQ(all[0].root_service, "reviews");
  EXPECT_EQ(all[0].root_name, "orphan");
  EXPECT_EQ(all[1].root_service, "web");
  EXPECT_EQ(all[1].root_name, "GET /");
  EXPECT_EQ(all[1].duration_nanos, 9 * kMs);
}

TEST(TraceStoreTest, AnySpanWithAnErrorMarksTheTrace) {
  TraceStore store;
  auto failed = span(1, 2, 1, 1, 2);
  failed.error = true;
  store.add({span(1, 1, 0, 0, 3), failed, span(2, 1, 0, 0, 3)});
  const auto all = store.list({});
  ASSERT_EQ(all.size(), 2u);
  for (const auto& t : all) EXPECT_EQ(t.error, t.trace_id == trace_id(1)) << t.trace_id;
}

TEST(TraceIdTest, NormalizesAndRefusesIds) {
  EXPECT_EQ(normalize_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736", false),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(normalize_trace_id("a3ce929d0e0e4736", true), "0000000000000000a3ce929d0e0e4736");
  EXPECT_EQ(normalize_trace_id("a3ce929d0e0e4736", false).error(), "not 32 hex digits");
  EXPECT_EQ(normalize_trace_id("a3ce929d0e0e473", true).error(), "not 16 or 32 hex digits");
  EXPECT_EQ(normalize_trace_id("4bf92f3577b34da6a3ce929d0e0e473g", false).error(),
            "not 32 hex digits");
  EXPECT_EQ(normalize_trace_id(std::string(32, '0'), false).error(), "all zeros (an invalid id)");
  EXPECT_EQ(normalize_trace_id(std::string(16, '0'), true).error(), "all zeros (an invalid id)");
  EXPECT_EQ(normalize_span_id("00F067AA0BA902B7"), "00f067aa0ba902b7");
  EXPECT_EQ(normalize_span_id("00f067aa0ba902b").error(), "not 16 hex digits");
  EXPECT_EQ(normalize_span_id("0000000000000000").error(), "all zeros (an invalid id)");
  EXPECT_EQ(normalize_span_id("").error(), "not 16 hex digits");
}

}  // namespace
}  // namespace strait::control
