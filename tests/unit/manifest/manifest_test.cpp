#include "harbormaster/manifest/manifest.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace hm::manifest {
namespace {

using ::testing::HasSubstr;

constexpr const char* kHelmOutput = R"(---
# Source: shop/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
---
# Source: shop/templates/empty.yaml
# renders nothing
---
# Source: shop/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: harbor.example.com/shop/migrate:2
      containers:
      - name: web
        image: harbor.example.com/shop/web:1.4
---
apiVersion: v1
kind: List
items:
- apiVersion: batch/v1
  kind: CronJob
  metadata: {name: nightly, namespace: batch}
  spec:
    jobTemplate: {spec: {template: {spec: {containers: [{name: job, image: busybox:1}]}}}}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: settings}
)";

TEST(ManifestTest, ReadsDocumentsListsAndTheTemplateHelmNames) {
  auto objects = parse(kHelmOutput, "rendered.yaml");
  ASSERT_TRUE(objects.ok()) << objects.status().message();
  ASSERT_EQ(objects->size(), 4u) << "the empty document is skipped, the List gives its items";
  EXPECT_EQ((*objects)[0].origin, "shop/templates/service.yaml");
  EXPECT_EQ((*objects)[1].object["kind"], "Deployment");
  EXPECT_EQ((*objects)[1].document, 3u);
  EXPECT_EQ((*objects)[1].origin, "shop/templates/web.yaml");
  EXPECT_EQ((*objects)[2].listItem, "items[0]");
  EXPECT_EQ((*objects)[3].listItem, "items[1]");
  EXPECT_EQ((*objects)[2].origin, "") << "no # Source: above the List";

  Workloads w = workloads(*objects, "shop");
  ASSERT_EQ(w.workloads.size(), 2u);
  EXPECT_EQ(w.workloads[0].kind, "Deployment");
  EXPECT_EQ(w.workloads[0].nameSpace, "shop") << "no metadata.namespace: the default given";
  ASSERT_EQ(w.workloads[0].images.size(), 2u);
  EXPECT_EQ(w.workloads[0].images[0].path, "spec.template.spec.initContainers[0].image");
  EXPECT_EQ(w.workloads[0].images[0].container, "migrate");
  EXPECT_EQ(w.workloads[0].images[1].image, "harbor.example.com/shop/web:1.4");
  EXPECT_EQ(w.workloads[1].kind, "CronJob");
  EXPECT_EQ(w.workloads[1].nameSpace, "batch");
  EXPECT_EQ(w.workloads[1].images[0].path,
            "spec.jobTemplate.spec.template.spec.containers[0].image");
  EXPECT_EQ(w.skipped, (std::map<std::string, size_t>{{"ConfigMap", 1}, {"Service", 1}}));
}

TEST(ManifestTest, ReadsJsonObjectsArraysAndLists) {
  auto one = parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-"},
                       "spec":{"containers":[{"name":"a","image":"nginx:1"}]}})",
                   "pod.json");
  ASSERT_TRUE(one.ok()) << one.status().message();
  Workloads w = workloads(*one, "default");
  ASSERT_EQ(w.workloads.size(), 1u);
  EXPECT_EQ(w.workloads[0].name, "web-*");
  EXPECT_TRUE(w.workloads[0].images[0].pod);
  auto list = parse(R"({"apiVersion":"v1","kind":"DeploymentList","items":[
                        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"}},
                        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"b"}}]})",
                    "list.json");
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(list->size(), 2u)
      << "any kind ending in List with items is a list (kubectl get -o json)";
  auto array =
      parse(R"([{"apiVersion":"v1","kind":"Service"},{"apiVersion":"v1","kind":"Pod"}])", "a.json");
  ASSERT_TRUE(array.ok());
  EXPECT_EQ((*array)[1].document, 2u);
}

TEST(ManifestTest, BadInputNamesTheSourceTheDocumentAndWhatIsWrong) {
  struct Case {
    std::string text;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"apiVersion: v1\nkind: Service\n---\nmetadata: {name: x}\n",
            "m.yaml, document 2 (line 3): has no kind"},
           {"kind: Deployment\n", "m.yaml, document 1 (line 1): Deployment has no apiVersion"},
           {"- a\n- b\n", "not a Kubernetes object"},
           {"apiVersion: v1\nkind: List\nitems: {a: b}\n", "items must be a list"},
           {"apiVersion: v1\nkind: List\nitems: [{kind: Pod}]\n",
            "items[0]: Pod has no apiVersion"},
           {"a: [b\n", "not valid YAML"},
           {"{\"kind\": ", "m.yaml: not valid JSON"},
           {"apiVersion: v1\nkind: Pod\n? [a]\n: b\n", "a mapping key that is not a plain value"},
       }) {
    auto r = parse(c.text, "m.yaml");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_THAT(r.status().message(), HasSubstr(c.says)) << c.text;
  }
}

TEST(ManifestTest, AliasesThatMultiplyStopAtTheBudget) {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) {
      bomb += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    }
    bomb += "]\n";
  }
  auto r = parse("apiVersion: v1\nkind: ConfigMap\n" + bomb, "bomb.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("too many values once aliases are expanded"));
  Limits small;
  small.maxBytes = 10;
  EXPECT_THAT(parse("apiVersion: v1\nkind: Pod\n", "big.yaml", small).status().message(),
              HasSubstr("more than the 10"));
}

TEST(ManifestTest, NamespacesInTheManifestsLendTheirLabels) {
  auto objects =
      parse("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {env: production}}\n",
            "ns.yaml");
  ASSERT_TRUE(objects.ok());
  Workloads w = workloads(*objects, "default");
  EXPECT_EQ(w.namespaceLabels["shop"],
            (std::map<std::string, std::string>{{"env", "production"},
                                                {"kubernetes.io/metadata.name", "shop"}}));
  EXPECT_EQ(w.skipped["Namespace"], 1u);
}

TEST(ManifestTest, LoadsFilesFoldersInNameOrderAndStdin) {
  hm::testing::TempDir dir;
  dir.write("b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n");
  dir.write("a.json", R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}})");
  dir.write("notes.txt", "not a manifest");
  std::filesystem::create_directories(dir.file("sub"));
  std::ofstream(dir.file("sub/c.yml")) << "apiVersion: v1\nkind: Service\nmetadata: {name: c}\n";
  auto flat = load({dir.path()}, false, "");
  ASSERT_TRUE(flat.ok()) << flat.status().message();
  ASSERT_EQ(flat->size(), 2u);
  EXPECT_EQ((*flat)[0].object["metadata"]["name"], "a");
  EXPECT_EQ((*flat)[1].object["metadata"]["name"], "b");
  auto deep = load({dir.path()}, true, "");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->size(), 3u);
  auto mixed = load({dir.file("b.yaml"), "-"}, false, "apiVersion: v1\nkind: Pod\n");
  ASSERT_TRUE(mixed.ok());
  ASSERT_EQ(mixed->size(), 2u);
  EXPECT_EQ((*mixed)[1].source, "stdin");
  auto missing = load({dir.file("nope.yaml")}, false, "");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("nope.yaml"));
}

TEST(ManifestTest, GroupOfApiVersion) {
  EXPECT_EQ(groupOf("apps/v1"), "apps");
  EXPECT_EQ(groupOf("v1"), "");
  EXPECT_EQ(groupOf("batch/v1"), "batch");
}

}  // namespace
}  // namespace hm::manifest
