#include "parser_test_support.hpp"

using namespace cbuild::dockerfile;
using namespace cbuild::dockerfile::test;

TEST_CASE("heredocs: body lines are consumed and attached, not dumped", "[parser]") {
  Dockerfile f = parse_ok("FROM a\nRUN <<EOF\necho hi\n  RUN not an instruction\nEOF\nUSER u\n");
  CHECK(dump(f) == "(from \"a\")\n(run \"<<EOF\")\n(user \"u\")");
  const Instruction& run = f.instructions[1];
  REQUIRE(run.heredocs.size() == 1);
  CHECK(run.heredocs[0].name == "EOF");
  CHECK(run.heredocs[0].content == "echo hi\n  RUN not an instruction\n");
  CHECK(run.heredocs[0].expand);
  CHECK_FALSE(run.heredocs[0].chomp);
  CHECK(run.heredocs[0].fd == -1);
  CHECK(run.start_line == 2);
  CHECK(run.end_line == 5);
}

TEST_CASE("heredocs: <<- strips leading tabs from body and terminator", "[parser]") {
  Dockerfile f = parse_ok("RUN <<-EOT\n\t\techo a\n\tb\t\n\tEOT\n");
  const Heredoc& h = f.instructions[0].heredocs.at(0);
  CHECK(h.chomp);
  CHECK(h.content == "echo a\nb\t\n");
  // Without '-', a tab-indented terminator does not end the body.
  CHECK_THAT(error_of("RUN <<EOT\nx\n\tEOT\n"), Catch::StartsWith("Dockerfile:1: unterminated heredoc \"EOT\""));
}

TEST_CASE("heredocs: quoted delimiters disable expansion", "[parser]") {
  for (const char* word : {"<<\"EOF\"", "<<'EOF'", "<<E\"O\"F", "<<-'EOF'", "<< \"EOF\""}) {
    Dockerfile f = parse_ok(std::string("RUN ") + word + "\n$x\nEOF\n");
    INFO(word);
    REQUIRE(f.instructions[0].heredocs.size() == 1);
    CHECK(f.instructions[0].heredocs[0].name == "EOF");
    CHECK_FALSE(f.instructions[0].heredocs[0].expand);
    CHECK(f.instructions[0].heredocs[0].content == "$x\n");
  }
  CHECK(parse_ok("RUN << EOF\nx\nEOF\n").instructions[0].heredocs.at(0).expand);
}

TEST_CASE("heredocs: several per instruction, read in order", "[parser]") {
  Dockerfile f = parse_ok("COPY <<a.txt <<b.txt file /dst/\nA\na.txt\nB1\nB2\nb.txt\nFROM x\n");
  CHECK(dump(f) == "(copy \"<<a.txt\" \"<<b.txt\" \"file\" \"/dst/\")\n(from \"x\")");
  const auto& docs = f.instructions[0].heredocs;
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].name == "a.txt");
  CHECK(docs[0].content == "A\n");
  CHECK(docs[1].name == "b.txt");
  CHECK(docs[1].content == "B1\nB2\n");
  CHECK(f.instructions[0].end_line == 6);
}

TEST_CASE("heredocs: a file descriptor prefix", "[parser]") {
  Dockerfile f = parse_ok("RUN 3<<EOF cat /dev/fd/3\nx\nEOF\n");
  CHECK(f.instructions[0].args == std::vector<std::string>{"3<<EOF cat /dev/fd/3"});
  CHECK(f.instructions[0].heredocs.at(0).fd == 3);
  CHECK(parse_ok("RUN 0<<EOF\nEOF\n").instructions[0].heredocs.at(0).fd == 0);
}

TEST_CASE("heredocs: under ONBUILD, attached to the wrapped instruction", "[parser]") {
  Dockerfile f = parse_ok("ONBUILD RUN <<EOF\necho\nEOF\nFROM a\n");
  CHECK(dump(f) == "(onbuild (run \"<<EOF\"))\n(from \"a\")");
  REQUIRE(f.instructions[0].onbuild);
  CHECK(f.instructions[0].onbuild->heredocs.at(0).content == "echo\n");
  CHECK(f.instructions[0].onbuild->end_line == 3);
}

TEST_CASE("heredocs: only RUN, COPY and ADD in shell form open heredocs", "[parser]") {
  CHECK(dump_of("CMD <<EOF\nRUN x\nEOF\n") == "(cmd \"<<EOF\")\n(run \"x\")\n(eof \"\")");
  CHECK(dump_of("RUN [\"cat\", \"<<EOF\"]\nRUN x\n") == "(run \"cat\" \"<<EOF\")\n(run \"x\")");
  CHECK(dump_of("ADD <<EOF /x\nhi\nEOF\n") == "(add \"<<EOF\" \"/x\")");
}

TEST_CASE("heredocs: words that are not heredocs", "[parser]") {
  // `cat<<EOF` is one word not starting with <<; `<<<` is a here-string; an unbalanced
  // quote makes the shell lexer fail, and then the line opens no heredoc (as upstream).
  CHECK(dump_of("RUN cat<<EOF\nRUN x\n") == "(run \"cat<<EOF\")\n(run \"x\")");
  CHECK(dump_of("RUN cat <<<EOF\nRUN x\n") == "(run \"cat <<<EOF\")\n(run \"x\")");
  CHECK(dump_of("RUN echo \"<<EOF\nRUN x\n") == "(run \"echo \\\"<<EOF\")\n(run \"x\")");
  CHECK(dump_of("RUN echo '<<EOF'\nRUN x\n") == "(run \"echo '<<EOF'\")\n(run \"x\")");
  CHECK(dump_of("RUN <<\nRUN x\n") == "(run \"<<\")\n(run \"x\")");
  CHECK(dump_of("RUN <<EOF a\"\nRUN x\n") == "(run \"<<EOF a\\\"\")\n(run \"x\")");
}

TEST_CASE("heredocs: unterminated is an error naming FILE:LINE", "[parser]") {
  std::string e = error_of("FROM a\nRUN cat <<EOF\nline\n");
  CHECK(e == "Dockerfile:2: unterminated heredoc \"EOF\"\nRUN cat <<EOF\n        ^");
  CHECK_THAT(error_of("RUN <<A <<B\nA\nB-not\n"), Catch::StartsWith("Dockerfile:1: unterminated heredoc \"B\""));
}
