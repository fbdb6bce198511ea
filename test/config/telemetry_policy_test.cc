#include "config/telemetry_policy.h"

#include <gtest/gtest.h>

namespace strait::config {
namespace {

NamedTelemetry telemetry(std::string ns, std::string name, double sampling = -1,
                         std::map<std::string, std::string> selector = {},
                         std::vector<std::string> providers = {}) {
  NamedTelemetry t{std::move(ns), std::move(name), {}};
  for (const auto& [k, v] : selector) (*t.spec.mutable_selector()->mutable_match_labels())[k] = v;
  if (sampling >= 0 || !providers.empty()) {
    auto* tracing = t.spec.add_tracing();
    if (sampling >= 0) tracing->mutable_random_sampling_percentage()->set_value(sampling);
    for (const auto& p : providers) tracing->add_providers()->set_name(p);
  }
  return t;
}

const std::map<std::string, std::string> kCheckout{{"app", "checkout"}};

TEST(TelemetryPolicy, WithoutResourcesIstiosDefaults) {
  const auto e = effective_telemetry({}, "shop", kCheckout);
  EXPECT_DOUBLE_EQ(e.sampling_percent, 1.0);
  EXPECT_TRUE(e.report_spans);
  EXPECT_EQ(e.tracing_providers, std::vector<std::string>{"strait"});
  EXPECT_FALSE(e.access_log);
  EXPECT_TRUE(e.decided_by.empty());
}

TEST(TelemetryPolicy, WorkloadOverNamespaceOverMeshEachOverridingWhatItSets) {
  const std::vector<NamedTelemetry> all{
      telemetry("strait-system", "mesh", 10, {}, {"strait", "otel"}),
      telemetry("shop", "ns", 20),
      telemetry("shop", "checkout", 100, kCheckout),
      telemetry("shop", "other", 50, {{"app", "cart"}}),
      telemetry("bank", "elsewhere", 70),
  };
  const auto checkout = effective_telemetry(all, "shop", kCheckout);
  EXPECT_DOUBLE_EQ(checkout.sampling_percent, 100);
  // Providers were set at the mesh level only: inherited.
  EXPECT_EQ(checkout.tracing_providers, (std::vector<std::string>{"strait", "otel"}));
  EXPECT_EQ(checkout.decided_by,
            (std::vector<std::string>{"strait-system/mesh", "shop/ns", "shop/checkout"}));
  EXPECT_DOUBLE_EQ(effective_telemetry(all, "shop", {{"app", "web"}}).sampling_percent, 20);
  EXPECT_DOUBLE_EQ(effective_telemetry(all, "ops", {}).sampling_percent, 10);
}

TEST(TelemetryPolicy, FirstByNameWinsAtOneLevelAndRootSelectorsDoNotApplyElsewhere) {
  const std::vector<NamedTelemetry> all{
      telemetry("shop", "b", 30),
      telemetry("shop", "a", 40),
      telemetry("strait-system", "root-selected", 90, kCheckout),
  };
  const auto e = effective_telemetry(all, "shop", kCheckout);
  EXPECT_DOUBLE_EQ(e.sampling_percent, 40);
  EXPECT_EQ(e.decided_by, std::vector<std::string>{"shop/a"});
}

TEST(TelemetryPolicy, SpanReportingAndAccessLogging) {
  NamedTelemetry mesh = telemetry("strait-system", "mesh");
  mesh.spec.add_access_logging();
  NamedTelemetry quiet = telemetry("shop", "quiet");
  quiet.spec.add_tracing()->mutable_disable_span_reporting()->set_value(true);
  quiet.spec.add_access_logging()->mutable_disabled()->set_value(true);
  const auto shop = effective_telemetry(std::vector{mesh, quiet}, "shop", {});
  EXPECT_FALSE(shop.report_spans);
  EXPECT_FALSE(shop.access_log);
  const auto ops = effective_telemetry(std::vector{mesh, quiet}, "ops", {});
  EXPECT_TRUE(ops.report_spans);
  EXPECT_TRUE(ops.access_log);
  EXPECT_EQ(ops.access_log_decided_by, std::vector<std::string>{"strait-system/mesh"});
  EXPECT_TRUE(ops.tracing_decided_by.empty()) << "the mesh's resource sets no tracing";
  EXPECT_EQ(shop.tracing_decided_by, std::vector<std::string>{"shop/quiet"});
  EXPECT_EQ(shop.access_log_decided_by,
            (std::vector<std::string>{"strait-system/mesh", "shop/quiet"}));
}

}  // namespace
}  // namespace strait::config
