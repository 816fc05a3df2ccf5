#include "harbormaster/yaml/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::yaml {
namespace {

using ::testing::HasSubstr;

TEST(YamlLoadTest, LoadsEveryDocumentWithItsNumberAndLine) {
  auto docs = loadAll("a: 1\n---\n# nothing\n---\nb: [x, y]\n", "policy.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  ASSERT_EQ(docs->size(), 3u);
  EXPECT_EQ((*docs)[0].root["a"].as<int>(), 1);
  EXPECT_TRUE((*docs)[1].root.IsNull());
  EXPECT_EQ((*docs)[2].root["b"][1].as<std::string>(), "y");
  EXPECT_EQ((*docs)[2].number, 3u);
  EXPECT_EQ((*docs)[2].line, 4u);
}

// jbeder/yaml-cpp#1040: YAML::LoadAll loops forever, allocating, on these.
TEST(YamlLoadTest, AStrayCommaDocumentFailsFastNamingWhereItIs) {
  for (std::string text :
       {",", "a: 1\n---\n,\n", "kind: ImagePolicy\n---\n,", "- !+(.,.)\n---\n,"}) {
    auto docs = loadAll(text, "policy.yaml");
    ASSERT_FALSE(docs.ok()) << text;
    EXPECT_EQ(docs.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(docs.status().message(), HasSubstr("policy.yaml, document"));
    EXPECT_THAT(docs.status().message(), HasSubstr("line"));
  }
  auto second = loadAll("a: 1\n---\n,\n", "policy.yaml");
  EXPECT_THAT(second.status().message(), HasSubstr("document 2, line 3, column 1"));
  EXPECT_THAT(second.status().message(), HasSubstr("cannot get past"));
}

TEST(YamlLoadTest, SyntaxErrorsNameTheDocumentAndPosition) {
  auto docs = loadAll("a: 1\n---\nspec: [broken\n", "p.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_THAT(docs.status().message(), HasSubstr("p.yaml, document 2, line"));
  EXPECT_THAT(docs.status().message(), HasSubstr("not valid YAML"));
}

TEST(YamlLoadTest, SizeNodesAndDocumentsAreBounded) {
  Limits small{.maxBytes = 100, .maxNodes = 10, .maxDocuments = 3};
  EXPECT_THAT(loadAll(std::string(101, ' '), "x", small).status().message(),
              HasSubstr("101 bytes is more than the 100 bytes"));
  EXPECT_THAT(loadAll("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "x", small).status().message(),
              HasSubstr("more than 10 nodes"));
  EXPECT_THAT(loadAll("a\n---\nb\n---\nc\n---\nd\n", "x", small).status().message(),
              HasSubstr("more than 3 documents"));
  // The defaults: a megabyte of flow sequence (a quarter of a gigabyte of nodes) is refused
  // before any node is built.
  std::string flow = "[";
  while (flow.size() < 900 * 1024) {
    flow += "1,";
  }
  flow += "1]";
  EXPECT_THAT(loadAll(flow, "x").status().message(), HasSubstr("more than 50000 nodes"));
}

TEST(YamlLoadTest, DeepNestingIsAnErrorNotACrash) {
  auto docs = loadAll(std::string(100000, '['), "x");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().code(), StatusCode::kInvalidArgument);
}

TEST(YamlLoadTest, LoadOneWantsAtMostOneDocument) {
  auto one = loadOne("a: b\n", "kubeconfig k");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)["a"].as<std::string>(), "b");
  EXPECT_TRUE(loadOne("", "k")->IsNull());
  EXPECT_THAT(loadOne("a\n---\nb\n", "kubeconfig k").status().message(),
              HasSubstr("holds 2 YAML documents"));
  EXPECT_FALSE(loadOne(",", "k").ok());
}

}  // namespace
}  // namespace hm::yaml
