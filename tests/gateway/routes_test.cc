// Tests gateway/routes.cc: path rules, built-in routes, declared routes and precedence.
#include "gateway/routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fnjail::gateway {
namespace {

using Status = RouteMatch::Status;
using ::testing::HasSubstr;

Router MakeRouter(std::vector<DeclaredRoute> routes, RouterOptions options = {}) {
  auto r = Router::Build(std::move(routes), options);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error());
  return r ? std::move(*r) : Router();
}

TEST(RoutesTest, InvokeRouteNamesTheFunction) {
  Router router = MakeRouter({});
  RouteMatch m = router.Match("POST", "/v1/functions/hello/invoke?x=1");
  ASSERT_EQ(m.status, Status::kMatched);
  EXPECT_EQ(m.kind, RouteKind::kInvoke);
  EXPECT_EQ(m.function, "hello");
  EXPECT_EQ(m.path, "/v1/functions/hello/invoke");
  EXPECT_EQ(m.query, "x=1");
}

TEST(RoutesTest, InvokeRouteWithWrongMethodIs405WithAllow) {
  Router router = MakeRouter({});
  RouteMatch m = router.Match("GET", "/v1/functions/hello/invoke");
  EXPECT_EQ(m.status, Status::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "POST");
  EXPECT_TRUE(m.function.empty());
}

TEST(RoutesTest, InvalidFunctionNameIs400) {
  Router router = MakeRouter({});
  EXPECT_EQ(router.Match("POST", "/v1/functions/he%6clo/invoke").status, Status::kBadRequest);
  EXPECT_EQ(router.Match("POST", "/v1/functions/-x/invoke").status, Status::kBadRequest);
  std::string long_name(65, 'a');
  EXPECT_EQ(router.Match("POST", "/v1/functions/" + long_name + "/invoke").status,
            Status::kBadRequest);
}

TEST(RoutesTest, OtherPathsUnderFunctionsAre404) {
  Router router = MakeRouter({});
  EXPECT_EQ(router.Match("POST", "/v1/functions/hello").status, Status::kNotFound);
  EXPECT_EQ(router.Match("POST", "/v1/functions/hello/invoke/x").status, Status::kNotFound);
  EXPECT_EQ(router.Match("POST", "/v1/functions/hello/invoke/").status, Status::kNotFound);
}

TEST(RoutesTest, BuiltInProbesAndMetrics) {
  Router router = MakeRouter({});
  EXPECT_EQ(router.Match("GET", "/healthz").kind, RouteKind::kHealth);
  EXPECT_EQ(router.Match("GET", "/healthz").status, Status::kMatched);
  EXPECT_EQ(router.Match("GET", "/readyz").kind, RouteKind::kReady);
  EXPECT_EQ(router.Match("GET", "/metrics").kind, RouteKind::kMetrics);
  RouteMatch post = router.Match("POST", "/healthz");
  EXPECT_EQ(post.status, Status::kMethodNotAllowed);
  EXPECT_EQ(post.allow, "GET");
}

TEST(RoutesTest, MetricsCanBeServedElsewhere) {
  Router router = MakeRouter({}, RouterOptions{.serve_probes = true, .serve_metrics = false});
  EXPECT_EQ(router.Match("GET", "/metrics").status, Status::kNotFound);
}

TEST(RoutesTest, PathRulesRefuseTraversalAndEncodingTricks) {
  Router router = MakeRouter({{"users", "GET", "/users/{id}"}});
  for (const char* target :
       {"/users/..", "/users/.", "/users/%2e%2e", "/users/%2E", "/users/a%2fb", "/users/a%2Fb",
        "/users/a%5cb", "/users/a%00", "/users//x", "//users/1", "/users/%zz", "/users/%4",
        "/users/a b", "/users/\xc3\xa9", "users/1", "*", "http://host/users/1",
        "/users/1#frag", "/users/1?a b", "/users/a\\b"}) {
    RouteMatch m = router.Match("GET", target);
    EXPECT_EQ(m.status, Status::kBadRequest) << target;
    EXPECT_FALSE(m.message.empty()) << target;
  }
}

TEST(RoutesTest, TripleDotIsAnOrdinarySegment) {
  Router router = MakeRouter({{"users", "GET", "/users/{id}"}});
  RouteMatch m = router.Match("GET", "/users/...");
  ASSERT_EQ(m.status, Status::kMatched);
  EXPECT_EQ(m.params[0].second, "...");
}

TEST(RoutesTest, DeclaredRouteDecodesParameters) {
  Router router = MakeRouter({{"orders", "GET", "/users/{user}/orders/{id}"}});
  RouteMatch m = router.Match("GET", "/users/j%40ne/orders/42?full=1");
  ASSERT_EQ(m.status, Status::kMatched);
  EXPECT_EQ(m.kind, RouteKind::kFunctionRoute);
  EXPECT_EQ(m.function, "orders");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"user", "j@ne"}));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"id", "42"}));
  EXPECT_EQ(m.query, "full=1");
}

TEST(RoutesTest, LiteralSegmentsMatchRawBytesOnly) {
  // An escaped literal is not the literal: a proxy rule on `/admin` cannot be side-stepped
  // with `/%61dmin` reaching the same function.
  Router router = MakeRouter({{"admin", "GET", "/admin/panel"}});
  EXPECT_EQ(router.Match("GET", "/admin/panel").status, Status::kMatched);
  EXPECT_EQ(router.Match("GET", "/%61dmin/panel").status, Status::kNotFound);
}

TEST(RoutesTest, TrailingSlashIsAnotherPath) {
  Router router = MakeRouter({{"users", "GET", "/users/{id}"}});
  EXPECT_EQ(router.Match("GET", "/users/1/").status, Status::kNotFound);
  EXPECT_EQ(router.Match("GET", "/users").status, Status::kNotFound);
}

TEST(RoutesTest, LiteralBeatsParameter) {
  Router router = MakeRouter({{"byid", "GET", "/users/{id}"}, {"me", "GET", "/users/me"},
                              {"x", "GET", "/{kind}/me/x"}, {"y", "GET", "/users/{id}/x"}});
  EXPECT_EQ(router.Match("GET", "/users/me").function, "me");
  EXPECT_EQ(router.Match("GET", "/users/7").function, "byid");
  EXPECT_EQ(router.Match("GET", "/users/me/x").function, "y");
  EXPECT_EQ(router.Match("GET", "/teams/me/x").function, "x");
}

TEST(RoutesTest, MethodMismatchListsAllowedMethodsAndOwner) {
  Router router = MakeRouter({{"get", "GET", "/items/{id}"}, {"put", "PUT", "/items/{id}"}});
  RouteMatch m = router.Match("DELETE", "/items/1");
  EXPECT_EQ(m.status, Status::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, PUT");
  EXPECT_FALSE(m.function.empty());
  EXPECT_EQ(router.Match("PUT", "/items/1").function, "put");
}

TEST(RoutesTest, NoRouteIs404) {
  Router router = MakeRouter({{"get", "GET", "/items/{id}"}});
  EXPECT_EQ(router.Match("GET", "/").status, Status::kNotFound);
  EXPECT_EQ(router.Match("GET", "/nothing/here").status, Status::kNotFound);
}

TEST(RoutesTest, BuildRefusesBadRoutesAndReportsEach) {
  auto r = Router::Build({{"a", "get", "/x"},
                          {"b", "GET", "x"},
                          {"c", "GET", "/x/{bad-name}"},
                          {"d", "GET", "/x/{p}/{p}"},
                          {"e", "GET", "/x//y"},
                          {"f", "GET", "/x/../y"},
                          {"g", "GET", "/healthz"},
                          {"h", "POST", "/v1/functions/h/other"},
                          {"i", "GET", "/{only}"},
                          {"j", "GET", "/a%20b"},
                          {"bad name", "GET", "/ok"}});
  ASSERT_FALSE(r.has_value());
  for (const char* fn : {"`a`", "`b`", "`c`", "`d`", "`e`", "`f`", "`g`", "`h`", "`i`", "`j`",
                         "`bad name`"}) {
    EXPECT_THAT(r.error(), HasSubstr(std::string("function ") + fn)) << r.error();
  }
}

TEST(RoutesTest, BuildRefusesAmbiguousRoutes) {
  auto r = Router::Build({{"a", "GET", "/users/{id}"}, {"b", "GET", "/users/{name}"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error(), HasSubstr("is the same as"));
  // Another method is another route.
  EXPECT_TRUE(Router::Build({{"a", "GET", "/users/{id}"}, {"b", "PUT", "/users/{name}"}}));
}

TEST(RoutesTest, DecodePathSegmentRefusesSeparators) {
  EXPECT_EQ(*DecodePathSegment("a%20b"), "a b");
  EXPECT_FALSE(DecodePathSegment("a%2fb"));
  EXPECT_FALSE(DecodePathSegment("a%5Cb"));
  EXPECT_FALSE(DecodePathSegment("%0a"));
  EXPECT_FALSE(DecodePathSegment("%"));
  EXPECT_FALSE(DecodePathSegment("%g0"));
}

TEST(RoutesTest, FunctionNames) {
  EXPECT_TRUE(IsValidFunctionName("hello"));
  EXPECT_TRUE(IsValidFunctionName("a-b_c9"));
  EXPECT_FALSE(IsValidFunctionName(""));
  EXPECT_FALSE(IsValidFunctionName("_a"));
  EXPECT_FALSE(IsValidFunctionName("a.b"));
  EXPECT_FALSE(IsValidFunctionName(std::string(65, 'a')));
}

}  // namespace
}  // namespace fnjail::gateway
