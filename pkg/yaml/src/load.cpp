#include "harbormaster/yaml/load.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <sstream>

namespace hm::yaml {
namespace {

struct OverBudget {
  std::string problem;
};

// Walks the event stream keeping nothing but counts, so a hostile text costs time linear in its
// size and no memory. yaml-cpp's looping defect shows as a document that starts where the
// previous one started: the parser did not consume the token it could not handle.
class Preflight : public YAML::EventHandler {
 public:
  explicit Preflight(const Limits& limits) : limits_(limits) {}

  size_t documents() const { return starts_.size(); }
  const std::vector<YAML::Mark>& starts() const { return starts_; }
  // The document a user sees the problem in: the stuck token first shows as the (null) value
  // of the document before it ("---" then ","), then as documents of its own.
  size_t stuckDocument() const {
    const size_t n = starts_.size();
    if (n >= 2 && firstNode_[n - 2] == starts_.back().pos) {
      return n - 1;
    }
    return n;
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (!starts_.empty() && starts_.back().pos == mark.pos) {
      stuck_ = true;
      throw OverBudget{
          "not valid YAML here: the parser cannot get past this point (a stray "
          "character such as ',' where a value should start?)"};
    }
    if (starts_.size() == limits_.maxDocuments) {
      throw OverBudget{"more than " + std::to_string(limits_.maxDocuments) + " documents"};
    }
    starts_.push_back(mark);
    firstNode_.push_back(-1);
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(m);
  }
  bool stuck() const { return stuck_; }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (!firstNode_.empty() && firstNode_.back() < 0) {
      firstNode_.back() = mark.pos;
    }
    if (++nodes_ > limits_.maxNodes) {
      throw OverBudget{"more than " + std::to_string(limits_.maxNodes) +
                       " nodes (values, keys, lists and maps)"};
    }
  }

  const Limits& limits_;
  std::vector<YAML::Mark> starts_;
  std::vector<int> firstNode_;  // per document: where its first node is, -1 for none yet
  size_t nodes_ = 0;
  bool stuck_ = false;
};

std::string where(std::string_view source, size_t document, int line, int column) {
  std::string out(source);
  if (document > 0) {
    out += ", document " + std::to_string(document);
  }
  if (line >= 0) {
    out += ", line " + std::to_string(line + 1) + ", column " + std::to_string(column + 1);
  }
  return out;
}

Status checkSize(std::string_view text, std::string_view source, const Limits& limits) {
  if (text.size() > limits.maxBytes) {
    return invalidArgument(std::string(source) + ": " + std::to_string(text.size()) +
                           " bytes is more than the " + std::to_string(limits.maxBytes) +
                           " bytes a YAML input may have");
  }
  return okStatus();
}

// The document starts of a text that parses within the limits, or why it does not.
StatusOr<std::vector<YAML::Mark>> preflight(std::string_view text, std::string_view source,
                                            const Limits& limits) {
  HM_RETURN_IF_ERROR(checkSize(text, source, limits));
  std::istringstream in{std::string(text)};
  Preflight handler(limits);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(handler)) {
    }
  } catch (const OverBudget& e) {
    const auto& starts = handler.starts();
    const YAML::Mark at = starts.empty() ? YAML::Mark::null_mark() : starts.back();
    const size_t document = handler.stuck() ? handler.stuckDocument() : handler.documents();
    return invalidArgument(where(source, document, at.line, at.column) + ": " + e.problem);
  } catch (const YAML::Exception& e) {
    return invalidArgument(where(source, handler.documents(), e.mark.line, e.mark.column) +
                           ": not valid YAML: " + e.msg);
  }
  return handler.starts();
}

}  // namespace

StatusOr<std::vector<Document>> loadAll(std::string_view text, std::string_view source,
                                        const Limits& limits) {
  auto starts = preflight(text, source, limits);
  if (!starts.ok()) {
    return starts.status();
  }
  std::vector<YAML::Node> nodes;
  try {
    // The same parser over the same text: it now terminates within the limits.
    nodes = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return invalidArgument(where(source, 0, e.mark.line, e.mark.column) +
                           ": not valid YAML: " + e.msg);
  }
  if (nodes.size() != starts->size()) {
    return internalError(std::string(source) + ": the YAML parser read " +
                         std::to_string(nodes.size()) + " documents where it first saw " +
                         std::to_string(starts->size()));
  }
  std::vector<Document> docs;
  docs.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    docs.push_back(
        Document{std::move(nodes[i]), i + 1, static_cast<size_t>((*starts)[i].line + 1)});
  }
  return docs;
}

StatusOr<YAML::Node> loadOne(std::string_view text, std::string_view source, const Limits& limits) {
  auto docs = loadAll(text, source, limits);
  if (!docs.ok()) {
    return docs.status();
  }
  if (docs->size() > 1) {
    return invalidArgument(std::string(source) + ": holds " + std::to_string(docs->size()) +
                           " YAML documents where one was expected");
  }
  return docs->empty() ? YAML::Node() : std::move(docs->front().root);
}

}  // namespace hm::yaml
