// The SQLite store: atomic applies, revisions and generations, persistence across reopen.
#include "store/resource_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace strait::store {
namespace {

class ResourceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strait-store-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "store.db").string(); }

  static StoredResource resource(std::string kind, std::string ns, std::string name, std::string spec) {
    StoredResource r;
    r.kind = std::move(kind);
    r.ns = std::move(ns);
    r.name = std::move(name);
    r.api_version = "networking.istio.io/v1";
    r.labels = {{"app", "reviews"}};
    r.spec = std::move(spec);
    return r;
  }

  std::filesystem::path dir_;
};

TEST_F(ResourceStoreTest, OpensInWalModeAndStartsAtRevisionZero) {
  auto store = ResourceStore::open(path());
  ASSERT_TRUE(store) << store.error();
  EXPECT_EQ((*store)->journal_mode(), "wal");
  EXPECT_EQ((*store)->revision(), 0);
}

TEST_F(ResourceStoreTest, ApplyGetListAndRemove) {
  auto store = std::move(*ResourceStore::open(path()));
  const StoredResource batch[] = {resource("VirtualService", "prod", "reviews", std::string("\x0a\x01\x00", 3)),
                                  resource("DestinationRule", "prod", "reviews", "b")};
  auto revision = store->apply(batch);
  ASSERT_TRUE(revision) << revision.error();
  EXPECT_EQ(*revision, 1);

  auto got = store->get("VirtualService", "prod", "reviews");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->spec, std::string("\x0a\x01\x00", 3));  // binary-safe
  EXPECT_EQ((*got)->labels.at("app"), "reviews");
  EXPECT_EQ((*got)->resource_version, 1);
  EXPECT_EQ((*got)->generation, 1);
  EXPECT_FALSE((*got)->created_at.empty());

  EXPECT_EQ(store->list("", "")->size(), 2u);
  EXPECT_EQ(store->list("DestinationRule", "")->size(), 1u);
  EXPECT_EQ(store->list("", "other")->size(), 0u);

  auto removed = store->remove("DestinationRule", "prod", "reviews");
  ASSERT_TRUE(removed && *removed);
  EXPECT_EQ(**removed, 2);
  auto missing = store->remove("DestinationRule", "prod", "reviews");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  EXPECT_EQ(store->revision(), 2);
}

TEST_F(ResourceStoreTest, GenerationCountsSpecChangesOnly) {
  auto store = std::move(*ResourceStore::open(path()));
  StoredResource r = resource("VirtualService", "prod", "reviews", "one");
  ASSERT_TRUE(store->apply({&r, 1}));
  r.labels["version"] = "v2";
  ASSERT_TRUE(store->apply({&r, 1}));  // metadata only
  EXPECT_EQ((*store->get("VirtualService", "prod", "reviews"))->generation, 1);
  r.spec = "two";
  ASSERT_TRUE(store->apply({&r, 1}));
  const auto got = *store->get("VirtualService", "prod", "reviews");
  EXPECT_EQ(got->generation, 2);
  EXPECT_EQ(got->resource_version, 3);
  EXPECT_EQ(got->labels.at("version"), "v2");
}

TEST_F(ResourceStoreTest, AnApplyLandsWholeOrNotAtAll) {
  auto store = std::move(*ResourceStore::open(path()));
  const StoredResource good = resource("VirtualService", "prod", "a", "x");
  ASSERT_TRUE(store->apply({&good, 1}));
  // The second resource violates a constraint: the first must not land either.
  const StoredResource batch[] = {resource("VirtualService", "prod", "b", "y"), resource("VirtualService", "prod", "", "z")};
  auto failed = store->apply(batch);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("nothing was changed"), std::string::npos) << failed.error();
  EXPECT_FALSE(*store->get("VirtualService", "prod", "b"));
  EXPECT_EQ(store->revision(), 1);
  EXPECT_EQ(store->list("", "")->size(), 1u);
}

TEST_F(ResourceStoreTest, EverythingSurvivesAReopen) {
  {
    auto store = std::move(*ResourceStore::open(path()));
    const StoredResource r = resource("PeerAuthentication", "strait-system", "default", "mtls");
    ASSERT_TRUE(store->apply({&r, 1}));
  }
  auto store = std::move(*ResourceStore::open(path()));
  EXPECT_EQ(store->revision(), 1);
  auto got = store->get("PeerAuthentication", "strait-system", "default");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->spec, "mtls");
}

TEST_F(ResourceStoreTest, AnUnopenablePathIsAClearError) {
  auto store = ResourceStore::open((dir_ / "no" / "such" / "dir" / "store.db").string());
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().find("cannot open the store"), std::string::npos) << store.error();
}

}  // namespace
}  // namespace strait::store
