// Heredoc delimiter rules, checked against the behaviour BuildKit's parser tests describe.
#include "dockerfile/parser_internal.hpp"
#include "parser_test_support.hpp"

using namespace cbuild::dockerfile;
using namespace cbuild::dockerfile::test;
using detail::heredoc_from_word;
using detail::heredocs_from_line;

namespace {
struct Expected {
  const char* name;
  const char* content;
  bool expand;
  bool chomp;
  int fd;
};
}  // namespace

TEST_CASE("heredoc words: delimiters, quoting and expansion", "[parser]") {
  const std::string text =
      "FROM alpine\n"
      "RUN <<EMPTY\nEMPTY\n"
      "RUN 3<<EMPTY2\nEMPTY2\n"
      "RUN <<INDENT\n\tfoo\n\tbar\nINDENT\n"
      "RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n"
      "RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n"
      "RUN <<COMMENT\n# internal comment\necho foo bar # trailing comment\nCOMMENT\n"
      "RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n"
      "COPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF\n"
      "COPY <<X <<Y /dest\nY\nX\nX\nY\n"
      "RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX\n"
      "RUN <<eo'f'\necho foo\neof\n"
      "RUN <<eo\\'f\necho foo\neo'f\n"
      "RUN <<'e'o\\'f\necho foo\neo'f\n"
      "RUN <<'one two'\necho bar\none two\n"
      "RUN <<$EOF\n$EOF\n"
      "RUN <<  EOF  > foo\nEOF\n"
      "RUN \"<<NOHEREDOC\"\n"
      "USER <<INVALID\n";
  const std::vector<std::vector<Expected>> expected = {
      {},
      {{"EMPTY", "", true, false, -1}},
      {{"EMPTY2", "", true, false, 3}},
      {{"INDENT", "\tfoo\n\tbar\n", true, false, -1}},
      {{"UNINDENT2", "baz\nquux\n", true, true, -1}},  // tabs stripped here (ast.hpp)
      {{"NOEXPAND", "don't expand $NAME\n", false, true, -1}},
      {{"COMMENT", "# internal comment\necho foo bar # trailing comment\n", true, false, -1}},
      {{"MOUNT", "echo hello\n", true, false, -1}},
      {{"EOF", "\"foo\"\n'bar'\n", true, false, -1}},
      {{"X", "Y\n", true, false, -1}, {"Y", "X\n", true, false, -1}},
      {{"COMPLEX", "print('hello world')\n", true, false, -1}},
      {{"eof", "echo foo\n", false, false, -1}},
      {{"eo'f", "echo foo\n", true, false, -1}},
      {{"eo'f", "echo foo\n", false, false, -1}},
      {{"one two", "echo bar\n", false, false, -1}},
      {{"$EOF", "", true, false, -1}},
      {{"EOF", "", true, false, -1}},
      {},
      {},
  };
  Dockerfile f = parse_ok(text);
  REQUIRE(f.instructions.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(f.instructions[i].original);
    const auto& docs = f.instructions[i].heredocs;
    REQUIRE(docs.size() == expected[i].size());
    for (std::size_t j = 0; j < docs.size(); ++j) {
      CHECK(docs[j].name == expected[i][j].name);
      CHECK(docs[j].content == expected[i][j].content);
      CHECK(docs[j].expand == expected[i][j].expand);
      CHECK(docs[j].chomp == expected[i][j].chomp);
      CHECK(docs[j].fd == expected[i][j].fd);
    }
  }
}

TEST_CASE("heredoc words: single words", "[parser]") {
  for (const char* word : {"<<EOF", "<<'EOF'", "<<\"EOF\"", "<<-EOF", "<<-'EOF'", "<<-\"EOF\"", "<<EO\"F\"",
                           "<< EOF", "<<- EOF"}) {
    INFO(word);
    auto heredoc = heredoc_from_word(word);
    REQUIRE(heredoc.ok());
    REQUIRE(heredoc->has_value());
    CHECK((*heredoc)->name == "EOF");
  }
  for (const char* word : {"", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"}) {
    INFO(word);
    auto heredoc = heredoc_from_word(word);
    REQUIRE(heredoc.ok());
    CHECK_FALSE(heredoc->has_value());
  }
  for (const char* word : {"<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""}) {
    INFO(word);
    auto heredoc = heredoc_from_word(word);
    REQUIRE_FALSE(heredoc.ok());
    CHECK_THAT(heredoc.error().message, Catch::StartsWith("failed to process"));
  }
}

TEST_CASE("heredoc words: found on a whole line", "[parser]") {
  auto names = [](std::string_view line) {
    auto docs = heredocs_from_line(line);
    REQUIRE(docs.ok());
    std::vector<std::string> out;
    for (const Heredoc& h : *docs) out.push_back(h.name);
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(names("RUN <<EOF") == V{"EOF"});
  CHECK(names("RUN <<- EOF").empty());  // words "<<-" and "EOF": the lexer keeps blanks only right after <<
  CHECK(names("RUN << -EOF") == V{"-EOF"});
  CHECK(names("RUN 4<<EOF") == V{"EOF"});
  CHECK(names("RUN <<EOF <<EOF2") == V{"EOF", "EOF2"});
  CHECK(names("RUN '<<EOF'").empty());
  CHECK(names("RUN \"<<EOF\"").empty());
  CHECK(names("RUN echo ${a:-x y} <<EOF") == V{"EOF"});
  CHECK(names("RUN <<EOF${a} <<$b") == V{"EOF${a}", "$b"});
  // Upstream's lexer restarts the word it is building when it meets `${a:-...}` or
  // `${a/p/r}`, so these words are "${a:-b}" and "${a/b/c}" and open no heredoc; a bad
  // substitution hides every heredoc of the line.
  CHECK(names("RUN cat <<EOF${a:-b}").empty());
  CHECK(names("RUN <<EOF${a/b/c}").empty());
  CHECK(names("RUN <<EOF ${a!b}").empty());
  CHECK(names("RUN <<EOF ${}").empty());
}
