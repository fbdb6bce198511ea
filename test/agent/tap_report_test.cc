#include "agent/tap_report.h"

#include <gtest/gtest.h>

namespace strait::agent {
namespace {

proxy::AccessLogRecord record(std::int64_t start, std::string_view path) {
  proxy::AccessLogRecord r{};
  r.start_unix_nanos = start;
  r.inbound = true;
  r.method.assign("POST");
  r.authority.assign("catalog:9080");
  r.path.assign(path);
  r.protocol.assign("HTTP/2");
  r.response_code = 200;
  r.grpc_status = 0;
  r.duration_micros = 1500;
  r.response_flags.assign("-");
  r.downstream_peer.assign("spiffe://cluster.local/ns/demo/sa/frontend");
  r.upstream_host.assign("127.0.0.1:19080");
  r.trace_id[15] = 0xab;
  r.bytes_received = 10;
  r.bytes_sent = 20;
  return r;
}

TEST(TapReportTest, AnEventCarriesTheRecordsFields) {
  const auto e = tap_event_from(record(42, "/items?x=1"));
  EXPECT_EQ(e.start_unix_nanos(), 42);
  EXPECT_TRUE(e.inbound());
  EXPECT_FALSE(e.tcp());
  EXPECT_EQ(e.method(), "POST");
  EXPECT_EQ(e.authority(), "catalog:9080");
  EXPECT_EQ(e.path(), "/items?x=1");
  EXPECT_EQ(e.protocol(), "HTTP/2");
  EXPECT_EQ(e.response_code(), 200);
  EXPECT_EQ(e.grpc_status(), 0);
  EXPECT_EQ(e.duration_micros(), 1500);
  EXPECT_EQ(e.peer(), "spiffe://cluster.local/ns/demo/sa/frontend");
  EXPECT_EQ(e.upstream_host(), "127.0.0.1:19080");
  EXPECT_EQ(e.trace_id(), "000000000000000000000000000000ab");
  EXPECT_EQ(e.bytes_sent(), 20u);
  proxy::AccessLogRecord untraced = record(1, "/");
  untraced.trace_id = {};
  EXPECT_EQ(tap_event_from(untraced).trace_id(), "");
}

TEST(TapReportTest, ABatchIsInStartOrderAcrossWorkers) {
  // Two workers' rings drained one after the other.
  const std::vector<proxy::AccessLogRecord> drained{record(30, "/c"), record(10, "/a"),
                                                    record(20, "/b")};
  const auto batch = tap_batch_from(drained, 4);
  ASSERT_EQ(batch.events_size(), 3);
  EXPECT_EQ(batch.events(0).path(), "/a");
  EXPECT_EQ(batch.events(1).path(), "/b");
  EXPECT_EQ(batch.events(2).path(), "/c");
  EXPECT_EQ(batch.dropped(), 4u);
}

}  // namespace
}  // namespace strait::agent
