// Throughput of CRL handling for a large CRL: a 10,000-entry CRL (made at
// start with the OpenSSL API, signed with ECDSA P-256 by a test CA) is
// parsed (Crl::Parse), parsed and judged with signature verification
// (EvaluateCrl against the issuer), and turned into a probe finding
// (MakeCrlFinding, the CRL probe's pure part). Prints entries/s and bytes/s.
//
//   crl_bench [--entries N] [benchmark flags]

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/probes/crl_probe.h"
#include "common/crl.h"
#include "common/openssl_util.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch {
namespace {

int g_entries = 10000;

struct BenchCrl {
  testing::TestKeyCert ca;
  std::string der;
  absl::Time now;
  std::string error;
};

std::string Fail(const char* what) { return std::string(what) + ": " + OpenSslErrors(); }

// The CA and the CRL, made once.
const BenchCrl& TheCrl() {
  static const BenchCrl* crl = [] {
    auto* out = new BenchCrl;
    out->now = absl::Now();
    testing::TestCertSpec spec;
    spec.common_name = "pkiwatch Bench CA";
    spec.is_ca = true;
    spec.key_usage = "critical,keyCertSign,cRLSign";
    spec.not_before = out->now - absl::Hours(24);
    spec.not_after = out->now + absl::Hours(24 * 365);
    absl::StatusOr<testing::TestKeyCert> ca = testing::MakeTestCert(spec);
    if (!ca.ok()) {
      out->error = std::string(ca.status().message());
      return out;
    }
    out->ca = std::move(*ca);

    X509CrlPtr crl(X509_CRL_new());
    Asn1TimePtr last(ASN1_TIME_set(nullptr, absl::ToTimeT(out->now - absl::Hours(1))));
    Asn1TimePtr next(ASN1_TIME_set(nullptr, absl::ToTimeT(out->now + absl::Hours(24 * 7))));
    if (crl == nullptr || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(out->ca.cert.get())) != 1 ||
        X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
        X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
      out->error = Fail("X509_CRL header");
      return out;
    }
    // ADCS-like entries: 16-byte serials with a reason code.
    for (int i = 0; i < g_entries; ++i) {
      X509_REVOKED* entry = X509_REVOKED_new();
      BignumPtr bn(BN_new());
      Asn1IntegerPtr serial;
      if (entry == nullptr || bn == nullptr || BN_set_word(bn.get(), 0x6100000000ULL + i) != 1 ||
          BN_lshift(bn.get(), bn.get(), 64) != 1 ||
          (serial.reset(BN_to_ASN1_INTEGER(bn.get(), nullptr)), serial == nullptr) ||
          X509_REVOKED_set_serialNumber(entry, serial.get()) != 1 ||
          X509_REVOKED_set_revocationDate(entry, last.get()) != 1) {
        X509_REVOKED_free(entry);
        out->error = Fail("X509_REVOKED");
        return out;
      }
      ASN1_ENUMERATED* reason = ASN1_ENUMERATED_new();
      if (reason == nullptr || ASN1_ENUMERATED_set(reason, 1 /* keyCompromise */) != 1 ||
          X509_REVOKED_add1_ext_i2d(entry, NID_crl_reason, reason, 0, 0) != 1) {
        ASN1_ENUMERATED_free(reason);
        X509_REVOKED_free(entry);
        out->error = Fail("crlReason");
        return out;
      }
      ASN1_ENUMERATED_free(reason);
      if (X509_CRL_add0_revoked(crl.get(), entry) != 1) {
        X509_REVOKED_free(entry);
        out->error = Fail("X509_CRL_add0_revoked");
        return out;
      }
    }
    Asn1IntegerPtr number(ASN1_INTEGER_new());
    ASN1_INTEGER_set(number.get(), 4711);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, out->ca.cert.get(), nullptr, nullptr, crl.get(), 0);
    X509_EXTENSION* aki =
        X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
    const bool ext_ok = aki != nullptr && X509_CRL_add_ext(crl.get(), aki, -1) == 1 &&
                        X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) == 1;
    X509_EXTENSION_free(aki);
    if (!ext_ok || X509_CRL_sort(crl.get()) != 1 ||
        X509_CRL_sign(crl.get(), out->ca.key.get(), EVP_sha256()) <= 0) {
      out->error = Fail("X509_CRL extensions/sign");
      return out;
    }
    unsigned char* der = nullptr;
    const int len = i2d_X509_CRL(crl.get(), &der);
    if (len <= 0) {
      out->error = Fail("i2d_X509_CRL");
      return out;
    }
    out->der.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    std::printf("CRL: %d entries, %zu bytes DER\n", g_entries, out->der.size());
    return out;
  }();
  return *crl;
}

void Account(benchmark::State& state, const BenchCrl& c) {
  state.SetItemsProcessed(state.iterations() * g_entries);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(c.der.size()));
  state.counters["entries"] = g_entries;
}

void BM_CrlParse(benchmark::State& state) {
  const BenchCrl& c = TheCrl();
  if (!c.error.empty()) {
    state.SkipWithError(c.error.c_str());
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<Crl> crl = Crl::Parse(c.der);
    if (!crl.ok()) {
      state.SkipWithError(std::string(crl.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(crl->info().entry_count);
  }
  Account(state, c);
}
BENCHMARK(BM_CrlParse)->Unit(benchmark::kMillisecond);

void BM_CrlParseVerify(benchmark::State& state) {
  const BenchCrl& c = TheCrl();
  if (!c.error.empty()) {
    state.SkipWithError(c.error.c_str());
    return;
  }
  CrlCheckOptions options;
  options.now = c.now;
  options.issuer = c.ca.cert.get();
  for (auto _ : state) {
    absl::StatusOr<Crl> crl = Crl::Parse(c.der);
    if (!crl.ok()) {
      state.SkipWithError(std::string(crl.status().message()).c_str());
      return;
    }
    const CrlVerdict verdict = EvaluateCrl(*crl, options);
    if (!verdict.signature_verified) {
      state.SkipWithError(("signature not verified: " + verdict.detail).c_str());
      return;
    }
    benchmark::DoNotOptimize(verdict.status);
  }
  Account(state, c);
}
BENCHMARK(BM_CrlParseVerify)->Unit(benchmark::kMillisecond);

// The CRL probe's whole evaluation of one fetched CRL (parse, verify, AKI,
// finding with its strings), without the network.
void BM_MakeCrlFinding(benchmark::State& state) {
  const BenchCrl& c = TheCrl();
  if (!c.error.empty()) {
    state.SkipWithError(c.error.c_str());
    return;
  }
  HttpResult fetch;
  fetch.http_status = 200;
  fetch.content_type = "application/pkix-crl";
  fetch.body = c.der;
  fetch.effective_url = "http://pki.corp.example/CertEnroll/Bench%20CA.crl";
  CrlCheckOptions options;
  options.now = c.now;
  options.issuer = c.ca.cert.get();
  for (auto _ : state) {
    const v1::Finding f = MakeCrlFinding(fetch.effective_url, fetch, options);
    if (f.status() != v1::STATUS_OK) {
      state.SkipWithError(("unexpected verdict: " + f.summary()).c_str());
      return;
    }
    benchmark::DoNotOptimize(f.crl().entry_count());
  }
  Account(state, c);
}
BENCHMARK(BM_MakeCrlFinding)->Unit(benchmark::kMillisecond);

// A tiny CRL for the smoke run: the cost per CRL that does not depend on size.
void BM_CrlParseVerifySmall(benchmark::State& state) {
  const BenchCrl& c = TheCrl();
  if (!c.error.empty()) {
    state.SkipWithError(c.error.c_str());
    return;
  }
  // Reuse the CA; sign a CRL without entries once.
  static const std::string small = [&c] {
    X509CrlPtr crl(X509_CRL_new());
    Asn1TimePtr last(ASN1_TIME_set(nullptr, absl::ToTimeT(c.now - absl::Hours(1))));
    Asn1TimePtr next(ASN1_TIME_set(nullptr, absl::ToTimeT(c.now + absl::Hours(24))));
    X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
    X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(c.ca.cert.get()));
    X509_CRL_set1_lastUpdate(crl.get(), last.get());
    X509_CRL_set1_nextUpdate(crl.get(), next.get());
    if (X509_CRL_sign(crl.get(), c.ca.key.get(), EVP_sha256()) <= 0) return std::string();
    unsigned char* der = nullptr;
    const int len = i2d_X509_CRL(crl.get(), &der);
    if (len <= 0) return std::string();
    std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    return out;
  }();
  if (small.empty()) {
    state.SkipWithError("cannot make the small CRL");
    return;
  }
  CrlCheckOptions options;
  options.now = c.now;
  options.issuer = c.ca.cert.get();
  for (auto _ : state) {
    absl::StatusOr<Crl> crl = Crl::Parse(small);
    if (!crl.ok()) {
      state.SkipWithError(std::string(crl.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(EvaluateCrl(*crl, options).status);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CrlParseVerifySmall)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pkiwatch

int main(int argc, char** argv) {
  // Our own flag first; the rest goes to Google Benchmark.
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--entries") == 0 && i + 1 < argc) {
      const long n = std::strtol(argv[++i], nullptr, 10);
      if (n <= 0 || n > 10000000) {
        std::fprintf(stderr, "--entries must be 1..10000000\n");
        return 2;
      }
      pkiwatch::g_entries = static_cast<int>(n);
      continue;
    }
    rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
