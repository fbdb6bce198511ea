#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "proxy/access_log_json.h"
#include "proxy/access_log_writer.h"
#include "proxy/spsc_ring.h"

namespace strait::proxy {
namespace {

using nlohmann::json;

AccessLogRecord request_record() {
  AccessLogRecord r;
  r.inbound = true;
  r.start_unix_nanos = 1'764'742'000'123'456'789;  // 2025-12-03T06:06:40.123Z
  r.duration_micros = 12'900;
  r.upstream_micros = 10'100;
  r.response_code = 503;
  r.bytes_received = 120;
  r.bytes_sent = 3400;
  r.trace_id = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  r.method.assign("GET");
  r.protocol.assign("HTTP/1.1");
  r.authority.assign("reviews.prod:9080");
  r.path.assign("/reviews/1?x=\"q\"\n");
  r.response_flags.assign("URX,UF");
  r.upstream_cluster.assign("inbound|9080||");
  r.upstream_host.assign("127.0.0.1:19080");
  r.downstream_remote_address.assign("127.0.0.1:51234");
  r.downstream_peer.assign("spiffe://cluster.local/ns/prod/sa/web");
  r.request_id.assign("5a3f");
  r.user_agent.assign("curl/7.88.1");
  return r;
}

json parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one entry, one line";
  return json::parse(line);
}

TEST(AccessLogJson, HttpEntryHasEnvoysFields) {
  std::string out;
  append_access_log_json(request_record(), out);
  const json entry = parse_line(out);
  EXPECT_EQ(entry["start_time"], "2025-12-03T06:06:40.123Z");
  EXPECT_EQ(entry["kind"], "http");
  EXPECT_EQ(entry["direction"], "inbound");
  EXPECT_EQ(entry["method"], "GET");
  EXPECT_EQ(entry["authority"], "reviews.prod:9080");
  EXPECT_EQ(entry["path"], "/reviews/1?x=\"q\"\n");  // escaped on the line, intact when parsed
  EXPECT_EQ(entry["protocol"], "HTTP/1.1");
  EXPECT_EQ(entry["response_code"], 503);
  EXPECT_EQ(entry["response_flags"], "URX,UF");
  EXPECT_TRUE(entry["grpc_status"].is_null());
  EXPECT_EQ(entry["bytes_received"], 120);
  EXPECT_EQ(entry["bytes_sent"], 3400);
  EXPECT_EQ(entry["duration"], 12);
  EXPECT_EQ(entry["upstream_service_time"], 10);
  EXPECT_EQ(entry["upstream_host"], "127.0.0.1:19080");
  EXPECT_EQ(entry["upstream_cluster"], "inbound|9080||");
  EXPECT_EQ(entry["downstream_remote_address"], "127.0.0.1:51234");
  EXPECT_EQ(entry["downstream_peer_principal"], "spiffe://cluster.local/ns/prod/sa/web");
  EXPECT_EQ(entry["request_id"], "5a3f");
  EXPECT_EQ(entry["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(entry["user_agent"], "curl/7.88.1");
}

TEST(AccessLogJson, TcpEntryHasNoResponseCodeAndNullsForTheAbsent) {
  AccessLogRecord r;
  r.tcp = true;
  r.bytes_received = 7;
  r.bytes_sent = 9;
  std::string out;
  append_access_log_json(r, out);
  const json entry = parse_line(out);
  EXPECT_EQ(entry["kind"], "tcp");
  EXPECT_EQ(entry["direction"], "outbound");
  EXPECT_TRUE(entry["response_code"].is_null());
  EXPECT_EQ(entry["response_flags"], "-");
  EXPECT_TRUE(entry["method"].is_null());
  EXPECT_TRUE(entry["trace_id"].is_null());
  EXPECT_TRUE(entry["upstream_service_time"].is_null());
  EXPECT_EQ(entry["bytes_received"], 7);
  EXPECT_EQ(entry["bytes_sent"], 9);
}

TEST(AccessLogJson, ControlBytesAreEscaped) {
  AccessLogRecord r;
  r.user_agent.assign(std::string("a\x01\x7f\\b", 5));
  std::string out;
  append_access_log_json(r, out);
  EXPECT_NE(out.find("a\\u0001\\u007f\\\\b"), std::string::npos) << out;
  EXPECT_EQ(parse_line(out)["user_agent"], std::string("a\x01\x7f\\b", 5));
}

TEST(SpscRing, RefusesWhenFullAndCountsIt) {
  SpscRing<int> ring(3);  // rounded up to 4
  EXPECT_EQ(ring.capacity(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.push(i));
  EXPECT_FALSE(ring.push(99));
  EXPECT_EQ(ring.submitted(), 5u);
  EXPECT_EQ(ring.dropped(), 1u);
  std::vector<int> out;
  EXPECT_EQ(ring.pop_into(out, 3), 3u);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(ring.push(4));
  EXPECT_EQ(ring.pop_into(out, 10), 2u);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ring.size(), 0u);
}

class AccessLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("strait-access-log-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::vector<std::string> lines_of(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::filesystem::path dir_;
};

TEST_F(AccessLogWriterTest, WritesOneLinePerEntryFromEveryWorker) {
  const auto file = dir_ / "access.log";
  auto writer = AccessLogWriter::open(file.string(), 2, 16);
  ASSERT_TRUE(writer) << writer.error();
  AccessLogRecord r = request_record();
  EXPECT_TRUE((*writer)->submit(0, r));
  r.response_code = 200;
  EXPECT_TRUE((*writer)->submit(1, r));
  EXPECT_FALSE((*writer)->submit(2, r)) << "no such worker";
  (*writer)->flush();
  const auto lines = lines_of(file);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0])["response_code"], 503);
  EXPECT_EQ(json::parse(lines[1])["response_code"], 200);
  EXPECT_EQ((*writer)->written(), 2u);
}

TEST_F(AccessLogWriterTest, AFullQueueDropsAndCountsWithoutBlocking) {
  const auto file = dir_ / "access.log";
  auto writer = AccessLogWriter::open(file.string(), 1, 8);
  ASSERT_TRUE(writer) << writer.error();
  int accepted = 0;
  for (int i = 0; i < 20; ++i) accepted += (*writer)->submit(0, request_record()) ? 1 : 0;
  EXPECT_EQ(accepted, 8);
  EXPECT_EQ((*writer)->dropped_queue_full(), 12u);
  (*writer)->flush();
  EXPECT_EQ(lines_of(file).size(), 8u);
  std::string metrics;
  (*writer)->render_metrics(metrics);
  EXPECT_NE(metrics.find("strait_access_log_dropped_total{reason=\"queue_full\"} 12"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("strait_access_log_written_total 8"), std::string::npos) << metrics;
}

TEST_F(AccessLogWriterTest, TheThreadWritesAndTheDestructorFlushes) {
  const auto file = dir_ / "access.log";
  {
    auto writer = AccessLogWriter::open(file.string(), 1);
    ASSERT_TRUE(writer) << writer.error();
    (*writer)->start();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE((*writer)->submit(0, request_record()));
  }
  EXPECT_EQ(lines_of(file).size(), 100u);
}

TEST_F(AccessLogWriterTest, AMovedFileIsReopened) {
  const auto file = dir_ / "access.log";
  auto writer = AccessLogWriter::open(file.string(), 1);
  ASSERT_TRUE(writer) << writer.error();
  ASSERT_TRUE((*writer)->submit(0, request_record()));
  (*writer)->flush();
  std::filesystem::rename(file, dir_ / "access.log.1");  // logrotate's move, no copytruncate
  ::usleep(1'100'000);                                   // the writer checks once a second
  ASSERT_TRUE((*writer)->submit(0, request_record()));
  (*writer)->flush();
  EXPECT_EQ(lines_of(dir_ / "access.log.1").size(), 1u);
  EXPECT_EQ(lines_of(file).size(), 1u);
}

TEST_F(AccessLogWriterTest, AFileThatCannotBeOpenedIsAClearError) {
  auto writer = AccessLogWriter::open((dir_ / "no-such-dir" / "access.log").string(), 1);
  ASSERT_FALSE(writer);
  EXPECT_NE(writer.error().find("cannot open"), std::string::npos) << writer.error();
}

}  // namespace
}  // namespace strait::proxy
