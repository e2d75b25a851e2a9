#include "common/command_line.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pkiwatch {
namespace {

// Owns modifiable copies of `args` and a NULL-terminated argv over them, as
// main() receives them.
class Argv {
 public:
  explicit Argv(std::vector<std::string> args) : args_(std::move(args)) {
    for (std::string& a : args_) pointers_.push_back(a.data());
    pointers_.push_back(nullptr);
  }
  int argc() { return static_cast<int>(args_.size()); }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<char*> pointers_;
};

std::vector<std::string> Args(CommandLine& cl) {
  std::vector<std::string> out;
  for (int i = 0; i < cl.argc(); ++i) out.push_back(cl.argv()[i]);
  return out;
}

using Strings = std::vector<std::string>;

TEST(CommandLineTest, HyphensInFlagNamesBecomeUnderscores) {
  Argv in({"pkiwatch-agent", "--state-dir=/var/lib/pki-watch", "--watch-url",
           "http://a-b/c-d.crl", "--watch-url=http://a-b/c-d.crl", "--list-probes",
           "--once"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(Args(cl), (Strings{"pkiwatch-agent", "--state_dir=/var/lib/pki-watch",
                               "--watch_url", "http://a-b/c-d.crl",
                               "--watch_url=http://a-b/c-d.crl", "--list_probes",
                               "--once"}));
  // argv keeps main()'s shape: argv[argc] is NULL.
  EXPECT_EQ(cl.argc(), 7);
  EXPECT_EQ(cl.argv()[cl.argc()], nullptr);
}

TEST(CommandLineTest, ValueWithEqualsSignKeepsItsHyphens) {
  Argv in({"agent", "--site=a-b=c-d", "--x-y==-z"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(Args(cl), (Strings{"agent", "--site=a-b=c-d", "--x_y==-z"}));
}

TEST(CommandLineTest, ProgramNameIsLeftAlone) {
  Argv in({"--odd-program-name", "--a-b"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(Args(cl), (Strings{"--odd-program-name", "--a_b"}));
}

TEST(CommandLineTest, ArgumentsAfterDoubleDashAreUnchanged) {
  Argv in({"agent", "--state-dir=/s", "--", "--not-a-flag", "-x-y", "plain-arg"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(Args(cl), (Strings{"agent", "--state_dir=/s", "--", "--not-a-flag", "-x-y",
                               "plain-arg"}));
}

TEST(CommandLineTest, PositionalArgumentsAndLoneDashAreUnchanged) {
  Argv in({"agent", "some-file", "-", "a--b"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(Args(cl), (Strings{"agent", "some-file", "-", "a--b"}));
}

TEST(CommandLineTest, SingleDashFlags) {
  Argv in({"agent", "-state-dir=/x-y", "-list-probes", "-v"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(Args(cl), (Strings{"agent", "-state_dir=/x-y", "-list_probes", "-v"}));
}

TEST(CommandLineTest, AllValuesCollectsBothForms) {
  Argv in({"agent", "--watch-url=http://a-b/1.crl", "--other=x", "--watch-url",
           "http://a-b/2.crl", "--watch_url=http://a-b/3.crl", "--watch_url",
           "http://a-b/4.crl"});
  CommandLine cl(in.argc(), in.argv());
  const Strings expected{"http://a-b/1.crl", "http://a-b/2.crl", "http://a-b/3.crl",
                         "http://a-b/4.crl"};
  // The name may be given in either spelling.
  EXPECT_EQ(cl.AllValues("watch-url"), expected);
  EXPECT_EQ(cl.AllValues("watch_url"), expected);
  EXPECT_EQ(cl.AllValues("other"), (Strings{"x"}));
  EXPECT_EQ(cl.AllValues("missing"), (Strings{}));
}

TEST(CommandLineTest, AllValuesCollectsSingleDashForms) {
  // Abseil accepts -name as well as --name, so a repeatable flag must too.
  Argv in({"agent", "-watch-url=http://a/1.crl", "-watch-url", "http://a/2.crl",
           "--watch-url=http://a/3.crl"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(cl.AllValues("watch-url"),
            (Strings{"http://a/1.crl", "http://a/2.crl", "http://a/3.crl"}));
}

TEST(CommandLineTest, AllValuesKeepsEmptyValuesAndSkipsPrefixes) {
  Argv in({"agent", "--tag=", "--tags=no", "--tag-x=no", "--tag", ""});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(cl.AllValues("tag"), (Strings{"", ""}));
}

TEST(CommandLineTest, AllValuesStopsAtDoubleDash) {
  Argv in({"agent", "--watch-url=a", "--", "--watch-url=b", "--watch-url", "c"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(cl.AllValues("watch-url"), (Strings{"a"}));
}

TEST(CommandLineTest, AllValuesIgnoresTrailingFlagWithoutValue) {
  Argv in({"agent", "--watch-url=a", "--watch-url"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(cl.AllValues("watch-url"), (Strings{"a"}));
}

TEST(CommandLineTest, EmptyCommandLine) {
  Argv in({"agent"});
  CommandLine cl(in.argc(), in.argv());
  EXPECT_EQ(cl.argc(), 1);
  EXPECT_EQ(Args(cl), (Strings{"agent"}));
  EXPECT_EQ(cl.argv()[1], nullptr);
  EXPECT_EQ(cl.AllValues("x"), (Strings{}));
}

}  // namespace
}  // namespace pkiwatch
