// Kubernetes label selectors (labels.Parse string form), used by EXCLUDE_LABEL_SELECTOR.
#include "core/label_selector.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace iopslimit::core {
namespace {

using Labels = std::map<std::string, std::string>;
using Op = LabelSelector::Op;

LabelSelector mustParse(const std::string& text) {
    auto r = LabelSelector::parse(text);
    EXPECT_TRUE(r.ok()) << "\"" << text << "\": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : LabelSelector{};
}

struct ParseCase {
    std::string text;
    std::vector<LabelSelector::Requirement> want;
};

TEST(LabelSelectorParse, EveryOperator) {
    const std::vector<ParseCase> cases = {
        {"app=web", {{"app", Op::Equals, {"web"}}}},
        {"app==web", {{"app", Op::Equals, {"web"}}}},
        {"app!=web", {{"app", Op::NotEquals, {"web"}}}},
        {"env in (prod,staging)", {{"env", Op::In, {"prod", "staging"}}}},
        {"env notin (dev)", {{"env", Op::NotIn, {"dev"}}}},
        {"gpu", {{"gpu", Op::Exists, {}}}},
        {"!gpu", {{"gpu", Op::DoesNotExist, {}}}},
        {"replicas>3", {{"replicas", Op::GreaterThan, {"3"}}}},
        {"replicas<10", {{"replicas", Op::LessThan, {"10"}}}},
        // Kubernetes accepts an empty value after =, == and !=.
        {"app=", {{"app", Op::Equals, {""}}}},
        {"app==", {{"app", Op::Equals, {""}}}},
        {"app!=", {{"app", Op::NotEquals, {""}}}},
        {"app.kubernetes.io/name=kube-state-metrics",
         {{"app.kubernetes.io/name", Op::Equals, {"kube-state-metrics"}}}},
        {"example.com/My_key-1.x in (A.b_c-9)", {{"example.com/My_key-1.x", Op::In, {"A.b_c-9"}}}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        auto r = LabelSelector::parse(c.text);
        ASSERT_TRUE(r.ok()) << r.error().message;
        const auto& got = r->requirements();
        ASSERT_EQ(got.size(), c.want.size());
        for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].key, c.want[i].key);
            EXPECT_EQ(got[i].op, c.want[i].op);
            EXPECT_EQ(got[i].values, c.want[i].values);
        }
    }
}

TEST(LabelSelectorParse, CommaIsAndAndWhitespaceIsIgnored) {
    auto sel = mustParse("  app = web ,\tenv  in ( prod , staging ) , ! legacy,tier,  count > 2 ");
    const auto& r = sel.requirements();
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(r[0].key, "app");
    EXPECT_EQ(r[0].op, Op::Equals);
    EXPECT_EQ(r[0].values, std::vector<std::string>{"web"});
    EXPECT_EQ(r[1].key, "env");
    EXPECT_EQ(r[1].op, Op::In);
    EXPECT_EQ(r[1].values, (std::vector<std::string>{"prod", "staging"}));
    EXPECT_EQ(r[2].key, "legacy");
    EXPECT_EQ(r[2].op, Op::DoesNotExist);
    EXPECT_EQ(r[3].key, "tier");
    EXPECT_EQ(r[3].op, Op::Exists);
    EXPECT_EQ(r[4].key, "count");
    EXPECT_EQ(r[4].op, Op::GreaterThan);
    EXPECT_EQ(r[4].values, std::vector<std::string>{"2"});
}

// labels.Parse's lexer skips ' ', '\t', '\r' and '\n' alike; a selector copied from a YAML block
// scalar into the environment may carry line breaks.
TEST(LabelSelectorParse, LineBreaksAreWhitespaceAsInKubernetes) {
    for (const char* text : {"app=web,\nenv=prod", "app=web,\r\nenv=prod", "app\n=\nweb,env\t=prod"}) {
        SCOPED_TRACE(text);
        auto r = LabelSelector::parse(text);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->str(), "app=web,env=prod");
    }
}

TEST(LabelSelectorParse, EmptySelectorHasNoRequirementsAndMatchesEverything) {
    for (const char* text : {"", "   ", "\t"}) {
        SCOPED_TRACE(std::string("\"") + text + "\"");
        auto sel = mustParse(text);
        EXPECT_TRUE(sel.empty());
        EXPECT_TRUE(sel.matches({}));
        EXPECT_TRUE(sel.matches({{"a", "b"}}));
    }
    EXPECT_FALSE(mustParse("a").empty());
}

TEST(LabelSelectorParse, MalformedInputIsAnErrorNeverACrash) {
    const std::string longName(64, 'a');
    const std::vector<std::string> cases = {
        "a in b",          // no parentheses
        "a in (b",         // unclosed
        "a in (b c)",      // missing comma
        "a in b)",         //
        "a notin",         //
        "a in",            //
        "=b",              // no key
        "==b",             //
        "!=b",             //
        "a b",             // two identifiers
        "a,,b",            // empty requirement
        ",a",              //
        "a,",              // trailing comma
        ",",               //
        "!",               // bang without key
        "!!a",             //
        "!a=b",            // a does-not-exist requirement takes no value
        "a!b",             //
        "a ~ b",           // unknown operator character
        "a=~b",            //
        "a=b=c",           //
        "a>b",             // > and < need an integer
        "a<",              //
        "a>1.5",           //
        "a (b)",           //
        "(a)",             //
        ")",               //
        "a$b=c",           // invalid key characters
        "a b=c",           //
        "-a=b",            // key must start alphanumeric
        "a-=b",            // and end alphanumeric
        "_a=b",            //
        "a/=b",            // empty name after the prefix
        "/a=b",            // empty prefix
        "a/b/c=d",         // two slashes
        "ex_ample.com/a=b",  // underscore is not allowed in the DNS prefix
        longName + "=x",   // key name longer than 63
        "a=" + longName,   // value longer than 63
        "a=-b",            // value must start alphanumeric
        "a=b/c",           // values have no prefix
        "a in (b,-c)",     //
        "a=\"b\"",         // no quoting
        "a=b;c=d",         //
        std::string(5000, 'a'),  // absurdly long
    };
    for (const auto& c : cases) {
        SCOPED_TRACE("\"" + c.substr(0, 80) + "\"");
        auto r = LabelSelector::parse(c);
        EXPECT_FALSE(r.ok()) << "parsed as \"" << (r.ok() ? r->str() : "") << "\"";
        if (!r.ok()) {
            EXPECT_FALSE(r.error().message.empty());
        }
    }
}

// The key prefix is a DNS-1123 subdomain: lower-case alphanumerics, '-' and '.', each label
// starting and ending alphanumeric, at most 253 characters.
TEST(LabelSelectorParse, KeyPrefixMustBeADnsSubdomain) {
    for (const char* good : {"example.com/a", "a-b.c-d/x", "k8s.io/x", "a/x"}) {
        SCOPED_TRACE(good);
        EXPECT_TRUE(LabelSelector::parse(std::string(good) + "=v").ok());
    }
    for (const std::string& bad : std::vector<std::string>{"Example.com/a", "EXAMPLE.COM/a", "-example.com/a", "example.com-/a", "ex..com/a",
                                  ".example.com/a", std::string(254, 'a') + "/x"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(LabelSelector::parse(bad + "=v").ok());
    }
}

TEST(LabelSelectorParse, KeyAndValueLengthLimitsAreInclusive) {
    const std::string name63(63, 'a');
    EXPECT_TRUE(LabelSelector::parse(name63 + "=" + name63).ok());
    EXPECT_TRUE(LabelSelector::parse("example.com/" + name63).ok());
}

struct MatchCase {
    std::string selector;
    Labels labels;
    bool want;
};

TEST(LabelSelectorMatch, Semantics) {
    const Labels none;
    const Labels web = {{"app", "web"}, {"env", "prod"}, {"replicas", "5"}};
    const std::vector<MatchCase> cases = {
        {"app=web", web, true},
        {"app=db", web, false},
        {"app=web", none, false},
        {"app==web", web, true},
        {"app!=db", web, true},
        {"app!=web", web, false},
        {"app!=web", none, true},  // != matches when the key is absent
        {"env in (prod,staging)", web, true},
        {"env in (dev,staging)", web, false},
        {"env in (prod)", none, false},  // in requires presence
        {"env notin (dev)", web, true},
        {"env notin (prod,dev)", web, false},
        {"env notin (prod)", none, true},  // notin matches when the key is absent
        {"app", web, true},
        {"app", none, false},
        {"!app", web, false},
        {"!app", none, true},
        {"!gpu", web, true},
        {"replicas>3", web, true},
        {"replicas>5", web, false},
        {"replicas<6", web, true},
        {"replicas<5", web, false},
        {"replicas>3", none, false},
        {"app>3", web, false},  // not an integer label: no match
        {"app<3", web, false},
        {"replicas>-1", web, true},
        {"app=", {{"app", ""}}, true},  // empty value matches only the empty label
        {"app=", web, false},
        {"app=", none, false},
        {"app=web,env=prod", web, true},  // comma is AND
        {"app=web,env=dev", web, false},
        {"app=web,!gpu,env in (prod),replicas>1", web, true},
        {"app=web,app=db", web, false},
        {"app.kubernetes.io/name=ksm", {{"app.kubernetes.io/name", "ksm"}}, true},
        {"app.kubernetes.io/name=ksm", {{"name", "ksm"}}, false},
        {"App=web", web, false},  // keys are case-sensitive
        {"app=Web", web, false},  // and values
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.selector);
        auto sel = mustParse(c.selector);
        EXPECT_EQ(sel.matches(c.labels), c.want);
    }
}

TEST(LabelSelectorStr, CanonicalForms) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"app==web", "app=web"},
        {" app = web ", "app=web"},
        {"app!=web", "app!=web"},
        {"env in ( a , b )", "env in (a,b)"},
        {"env notin (a)", "env notin (a)"},
        {"gpu", "gpu"},
        {"! gpu", "!gpu"},
        {"n > 3", "n>3"},
        {"n<3", "n<3"},
        {"app=", "app="},
        {"a=b,c!=d", "a=b,c!=d"},
        {"", ""},
    };
    for (const auto& [in, want] : cases) {
        SCOPED_TRACE(in);
        EXPECT_EQ(mustParse(in).str(), want);
    }
}

TEST(LabelSelectorStr, RoundTripsThroughParse) {
    const std::vector<std::string> selectors = {
        "app=web",
        "app==web",
        "app!=web",
        "app=",
        "app!=",
        "env in (prod,staging)",
        "env notin (dev)",
        "gpu",
        "!gpu",
        "replicas>3",
        "replicas<-2",
        "app.kubernetes.io/name in (a,b.c,d-e_f),!example.com/legacy,tier!=node,count>0",
        " a = b , c in ( d ) ",
    };
    const std::vector<Labels> probes = {
        {},
        {{"app", "web"}},
        {{"app", ""}},
        {{"env", "prod"}, {"gpu", "1"}},
        {{"replicas", "4"}, {"env", "dev"}},
        {{"app.kubernetes.io/name", "b.c"}, {"tier", "web"}, {"count", "1"}},
        {{"a", "b"}, {"c", "d"}},
    };
    for (const auto& text : selectors) {
        SCOPED_TRACE(text);
        auto first = mustParse(text);
        auto second = mustParse(first.str());
        EXPECT_EQ(second.str(), first.str());
        ASSERT_EQ(second.requirements().size(), first.requirements().size());
        for (size_t i = 0; i < first.requirements().size(); ++i) {
            EXPECT_EQ(second.requirements()[i].key, first.requirements()[i].key);
            EXPECT_EQ(second.requirements()[i].op, first.requirements()[i].op);
            EXPECT_EQ(second.requirements()[i].values, first.requirements()[i].values);
        }
        for (const auto& labels : probes) EXPECT_EQ(second.matches(labels), first.matches(labels));
    }
}

}  // namespace
}  // namespace iopslimit::core
