// OCSP response evaluation throughput (common/ocsp.h): parse, find the
// responder, verify the signature, check the delegate, match the CertID and
// judge the times, for a P-256 test PKI made at start. Prints responses
// verified per second ("responses_per_second"); asserts nothing about time.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "common/ocsp.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::MakeOcspResponse;
using ::pkiwatch::testing::MakeTestCert;
using ::pkiwatch::testing::MakeTestHierarchy;
using ::pkiwatch::testing::TestCertSpec;
using ::pkiwatch::testing::TestHierarchy;
using ::pkiwatch::testing::TestKeyCert;
using ::pkiwatch::testing::TestOcspResponseSpec;

struct Setup {
  bool ok = false;
  absl::Time now;
  TestHierarchy pki;
  TestKeyCert leaf;
  TestKeyCert delegate;
  std::string by_issuer;    // response signed by the issuing CA
  std::string by_delegate;  // response signed by an OCSP signing delegate
};

const Setup& GetSetup() {
  static const Setup* setup = [] {
    auto* s = new Setup;
    s->now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    absl::StatusOr<TestHierarchy> pki = MakeTestHierarchy(s->now);
    if (!pki.ok()) return s;
    s->pki = *std::move(pki);
    TestCertSpec spec;
    spec.common_name = "leaf.example";
    spec.serial = 0x1001;
    spec.not_before = s->now - absl::Hours(24);
    spec.not_after = s->now + absl::Hours(24 * 300);
    absl::StatusOr<TestKeyCert> leaf = MakeTestCert(spec, &s->pki.issuing);
    spec.common_name = "OCSP signer";
    spec.serial = 0x2001;
    spec.extended_key_usage = "OCSPSigning";
    absl::StatusOr<TestKeyCert> delegate = MakeTestCert(spec, &s->pki.issuing);
    if (!leaf.ok() || !delegate.ok()) return s;
    s->leaf = *std::move(leaf);
    s->delegate = *std::move(delegate);
    TestOcspResponseSpec r;
    r.cert = s->leaf.cert.get();
    r.issuer = s->pki.issuing.cert.get();
    r.signer = &s->pki.issuing;
    r.this_update = s->now - absl::Hours(1);
    r.next_update = s->now + absl::Hours(24);
    absl::StatusOr<std::string> by_issuer = MakeOcspResponse(r);
    r.signer = &s->delegate;
    absl::StatusOr<std::string> by_delegate = MakeOcspResponse(r);
    if (!by_issuer.ok() || !by_delegate.ok()) return s;
    s->by_issuer = *std::move(by_issuer);
    s->by_delegate = *std::move(by_delegate);
    s->ok = true;
    return s;
  }();
  return *setup;
}

void Evaluate(benchmark::State& state, bool delegated) {
  const Setup& s = GetSetup();
  if (!s.ok) {
    state.SkipWithError("test PKI could not be made");
    return;
  }
  OcspCheckOptions options;
  options.now = s.now;
  options.cert = s.leaf.cert.get();
  options.issuer = s.pki.issuing.cert.get();
  const std::string& der = delegated ? s.by_delegate : s.by_issuer;
  for (auto _ : state) {
    OcspVerdict v = EvaluateOcspResponse(der, options);
    if (v.status != v1::STATUS_OK) {
      state.SkipWithError(v.detail.c_str());
      return;
    }
    benchmark::DoNotOptimize(v);
  }
  state.counters["responses_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_EvaluateSignedByIssuer(benchmark::State& state) { Evaluate(state, false); }
void BM_EvaluateSignedByDelegate(benchmark::State& state) { Evaluate(state, true); }

void BM_BuildRequest(benchmark::State& state) {
  const Setup& s = GetSetup();
  if (!s.ok) {
    state.SkipWithError("test PKI could not be made");
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<OcspRequest> req =
        BuildOcspRequest(s.leaf.cert.get(), s.pki.issuing.cert.get(), {.nonce = true});
    benchmark::DoNotOptimize(req);
  }
  state.counters["requests_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_EvaluateSignedByIssuer);
BENCHMARK(BM_EvaluateSignedByDelegate);
BENCHMARK(BM_BuildRequest);

}  // namespace
}  // namespace pkiwatch

BENCHMARK_MAIN();
