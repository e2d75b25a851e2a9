#include "agent/probes/crl_probe.h"

#include <curl/curl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "common/utf8.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/probes/test_http_server.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::TestHttpServer;

// Every test judges CRLs at this fixed time; the test PKI is dated around it.
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2031, 3, 14, 12, 0, 0),
                                        absl::UTCTimeZone());

constexpr char kCaName[] = "pkiwatch Test CA";

// ---- A tiny PKI made with the OpenSSL API at run time. ----

struct TestCa {
  EvpPkeyPtr key;
  X509Ptr cert;
};

// Fails the current test (and returns false) when an OpenSSL call fails.
bool Ok(int rc, const char* what) {
  if (rc == 1) return true;
  ADD_FAILURE() << what << " failed: " << OpenSslErrors();
  return false;
}

bool AddCertExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) {
    ADD_FAILURE() << "X509V3_EXT_nconf_nid(" << OBJ_nid2sn(nid) << "): " << OpenSslErrors();
    return false;
  }
  const int rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return Ok(rc, "X509_add_ext");
}

// Self-signed CA certificate with SKI/AKI and keyUsage cRLSign.
TestCa MakeCa(std::string_view common_name, long serial) {
  TestCa ca;
  ca.key.reset(EVP_EC_gen("P-256"));
  if (ca.key == nullptr) {
    ADD_FAILURE() << "EVP_EC_gen: " << OpenSslErrors();
    return ca;
  }
  X509Ptr cert(X509_new());
  Ok(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  Ok(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial), "ASN1_INTEGER_set");
  X509_NAME* name = X509_get_subject_name(cert.get());
  Ok(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                reinterpret_cast<const unsigned char*>("pkiwatch"), -1, -1, 0),
     "X509_NAME_add_entry_by_txt(O)");
  const std::string cn(common_name);
  Ok(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0),
     "X509_NAME_add_entry_by_txt(CN)");
  Ok(X509_set_issuer_name(cert.get(), name), "X509_set_issuer_name");
  Asn1TimePtr not_before(ASN1_TIME_set(nullptr, absl::ToTimeT(kNow - absl::Hours(24 * 365))));
  Asn1TimePtr not_after(ASN1_TIME_set(nullptr, absl::ToTimeT(kNow + absl::Hours(24 * 3650))));
  Ok(X509_set1_notBefore(cert.get(), not_before.get()), "X509_set1_notBefore");
  Ok(X509_set1_notAfter(cert.get(), not_after.get()), "X509_set1_notAfter");
  Ok(X509_set_pubkey(cert.get(), ca.key.get()), "X509_set_pubkey");
  AddCertExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddCertExt(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddCertExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  AddCertExt(cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), ca.key.get(), EVP_sha256()) <= 0) {
    ADD_FAILURE() << "X509_sign: " << OpenSslErrors();
  }
  ca.cert = std::move(cert);
  return ca;
}

struct CrlSpec {
  absl::Time this_update = kNow - absl::Hours(1);
  absl::Time next_update = kNow + absl::Hours(24 * 7);
  long number = 42;
  std::vector<long> revoked_serials = {1001, 1002};
  long delta_base = -1;  // >= 0: delta CRL on this base number
};

// DER CRL issued by `ca` (name and AKI) and signed with `signing_key`.
std::string MakeCrl(const TestCa& ca, EVP_PKEY* signing_key, const CrlSpec& spec) {
  X509CrlPtr crl(X509_CRL_new());
  Ok(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2), "X509_CRL_set_version");
  Ok(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.cert.get())),
     "X509_CRL_set_issuer_name");
  Asn1TimePtr last(ASN1_TIME_set(nullptr, absl::ToTimeT(spec.this_update)));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, absl::ToTimeT(spec.next_update)));
  Ok(X509_CRL_set1_lastUpdate(crl.get(), last.get()), "X509_CRL_set1_lastUpdate");
  Ok(X509_CRL_set1_nextUpdate(crl.get(), next.get()), "X509_CRL_set1_nextUpdate");
  for (long serial : spec.revoked_serials) {
    X509_REVOKED* entry = X509_REVOKED_new();
    Asn1IntegerPtr number(ASN1_INTEGER_new());
    ASN1_INTEGER_set(number.get(), serial);
    Ok(X509_REVOKED_set_serialNumber(entry, number.get()), "X509_REVOKED_set_serialNumber");
    Ok(X509_REVOKED_set_revocationDate(entry, last.get()), "X509_REVOKED_set_revocationDate");
    if (!Ok(X509_CRL_add0_revoked(crl.get(), entry), "X509_CRL_add0_revoked")) {
      X509_REVOKED_free(entry);
    }
  }
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  ASN1_INTEGER_set(number.get(), spec.number);
  Ok(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0),
     "X509_CRL_add1_ext_i2d(crlNumber)");
  if (spec.delta_base >= 0) {
    Asn1IntegerPtr base(ASN1_INTEGER_new());
    ASN1_INTEGER_set(base.get(), spec.delta_base);
    Ok(X509_CRL_add1_ext_i2d(crl.get(), NID_delta_crl, base.get(), 1, 0),
       "X509_CRL_add1_ext_i2d(deltaCRLIndicator)");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca.cert.get(), nullptr, nullptr, crl.get(), 0);
  X509_EXTENSION* aki =
      X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
  if (aki == nullptr) {
    ADD_FAILURE() << "AKI: " << OpenSslErrors();
  } else {
    Ok(X509_CRL_add_ext(crl.get(), aki, -1), "X509_CRL_add_ext");
    X509_EXTENSION_free(aki);
  }
  Ok(X509_CRL_sort(crl.get()), "X509_CRL_sort");
  if (X509_CRL_sign(crl.get(), signing_key, EVP_sha256()) <= 0) {
    ADD_FAILURE() << "X509_CRL_sign: " << OpenSslErrors();
    return "";
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509_CRL(crl.get(), &der);
  if (len <= 0) {
    ADD_FAILURE() << "i2d_X509_CRL: " << OpenSslErrors();
    return "";
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string SkiHex(X509* cert) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert);
  if (ski == nullptr) return "";
  return HexLower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                                   static_cast<size_t>(ASN1_STRING_length(ski))));
}

int64_t UnixSeconds(const google::protobuf::Timestamp& ts) { return ts.seconds(); }

// ---- Fixture: the PKI, a temp dir with the CA certificate, a server. ----

class CrlProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new TestCa(MakeCa(kCaName, 1));
    // Same name, different key: only the signature can tell them apart.
    impostor_ = new TestCa(MakeCa(kCaName, 2));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete impostor_;
    ca_ = nullptr;
    impostor_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(ca_->cert, nullptr);
    ASSERT_NE(impostor_->cert, nullptr);
    std::string tmpl = ::testing::TempDir() + "crl_probe_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << "mkdtemp " << tmpl;
    dir_ = tmpl;
    ca_file_ = (dir_ / "ca.pem").string();
    {
      BioPtr bio(BIO_new_file(ca_file_.c_str(), "w"));
      ASSERT_NE(bio, nullptr) << OpenSslErrors();
      ASSERT_EQ(PEM_write_bio_X509(bio.get(), ca_->cert.get()), 1) << OpenSslErrors();
    }

    CrlSpec expired;
    expired.this_update = kNow - absl::Hours(24 * 8);
    expired.next_update = kNow - absl::Hours(24);
    CrlSpec expiring;
    expiring.next_update = kNow + absl::Hours(2);
    CrlSpec delta;
    delta.number = 43;
    delta.delta_base = 42;
    delta.revoked_serials = {1003};

    good_crl_ = MakeCrl(*ca_, ca_->key.get(), CrlSpec{});
    ASSERT_FALSE(good_crl_.empty());
    Serve("/good.crl", good_crl_, "application/pkix-crl");
    Serve("/expired.crl", MakeCrl(*ca_, ca_->key.get(), expired), "application/pkix-crl");
    Serve("/expiring.crl", MakeCrl(*ca_, ca_->key.get(), expiring), "application/pkix-crl");
    Serve("/delta.crl", MakeCrl(*ca_, ca_->key.get(), delta), "application/pkix-crl");
    Serve("/impostor.crl", MakeCrl(*ca_, impostor_->key.get(), CrlSpec{}),
          "application/pkix-crl");
    Serve("/garbage.crl", std::string("\x01\x02garbage\xff\xfe\x00\x30", 14),
          "application/octet-stream");
    Serve("/error-page.crl", "<html><body>Proxy error</body></html>", "text/html");
    server_.server().Get("/missing.crl", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("not here", "text/plain");
    });
    ASSERT_TRUE(server_.Start()) << "cannot start the test HTTP server on 127.0.0.1";

    http_.no_proxy = true;
    http_.connect_timeout = absl::Seconds(5);
    http_.total_timeout = absl::Seconds(10);
  }

  void TearDown() override {
    server_.Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Serve(const std::string& path, std::string body, std::string content_type) {
    server_.server().Get(path, [body = std::move(body), content_type = std::move(content_type)](
                                   const httplib::Request&, httplib::Response& res) {
      res.set_content(body, content_type.c_str());
    });
  }

  v1::CrlWatch Watch(std::string_view path, bool with_issuer = true) {
    v1::CrlWatch w;
    w.set_url(server_.Url(path));
    if (with_issuer) w.set_issuer_cert_file(ca_file_);
    return w;
  }

  // Runs a probe over one watch and returns its single finding.
  v1::Finding RunOne(v1::CrlWatch watch, v1::CrlSettings settings = {}) {
    auto probe = CrlProbe::Create({std::move(watch)}, settings, http_);
    EXPECT_TRUE(probe.ok()) << probe.status();
    if (!probe.ok()) return {};
    std::vector<v1::Finding> findings = (*probe)->Run(ProbeContext{kNow});
    EXPECT_EQ(findings.size(), 1u);
    if (findings.size() != 1) return {};
    return findings[0];
  }

  static void ExpectValidUtf8(const v1::Finding& f) {
    EXPECT_TRUE(IsValidUtf8(f.summary())) << f.summary();
    EXPECT_TRUE(IsValidUtf8(f.error().native_detail()));
    EXPECT_TRUE(IsValidUtf8(f.dimensions().ca()));
    EXPECT_TRUE(IsValidUtf8(f.crl().content_type()));
    EXPECT_EQ(f.summary().find('\n'), std::string::npos) << f.summary();
  }

  static TestCa* ca_;
  static TestCa* impostor_;
  std::filesystem::path dir_;
  std::string ca_file_;
  std::string good_crl_;
  TestHttpServer server_;
  HttpOptions http_;
};

TestCa* CrlProbeTest::ca_ = nullptr;
TestCa* CrlProbeTest::impostor_ = nullptr;

TEST_F(CrlProbeTest, ValidCrlWithIssuerIsOk) {
  // Upper-case scheme and a fragment: the target must be the normalized URL.
  v1::CrlWatch w;
  w.set_url(absl::StrCat("HTTP://127.0.0.1:", server_.port(), "/good.crl#frag"));
  w.set_issuer_cert_file(ca_file_);
  const v1::Finding f = RunOne(w);
  const std::string url = server_.Url("/good.crl");

  EXPECT_EQ(f.probe(), "crl");
  EXPECT_EQ(f.target(), url);
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_EQ(f.error().hresult(), 0u) << f.error().symbolic_name();
  EXPECT_EQ(f.dimensions().url(), url);
  EXPECT_EQ(f.dimensions().url_kind(), v1::URL_KIND_CDP);
  EXPECT_EQ(f.dimensions().ca(), NameToString(X509_get_subject_name(ca_->cert.get())));
  EXPECT_EQ(f.dimensions().ca(), "CN=pkiwatch Test CA,O=pkiwatch");
  EXPECT_EQ(f.dimensions().ca_key_id(), SkiHex(ca_->cert.get()));
  EXPECT_FALSE(f.dimensions().ca_key_id().empty());

  ASSERT_TRUE(f.has_crl());
  const v1::CrlDetail& d = f.crl();
  EXPECT_EQ(d.crl_number(), "42");
  EXPECT_EQ(d.entry_count(), 2u);
  EXPECT_EQ(d.size_bytes(), good_crl_.size());
  EXPECT_FALSE(d.is_delta());
  EXPECT_EQ(d.base_crl_number(), "");
  EXPECT_EQ(d.http_status(), 200u);
  EXPECT_EQ(d.content_type(), "application/pkix-crl");
  EXPECT_TRUE(d.signature_verified());
  EXPECT_EQ(UnixSeconds(d.this_update()), absl::ToUnixSeconds(kNow - absl::Hours(1)));
  EXPECT_EQ(UnixSeconds(d.next_update()), absl::ToUnixSeconds(kNow + absl::Hours(24 * 7)));

  EXPECT_GE(f.observed_at().seconds(), absl::ToUnixSeconds(kNow));
  EXPECT_GE(f.duration().seconds(), 0);
  EXPECT_GE(f.duration().nanos(), 0);
  EXPECT_FALSE(f.summary().empty());
  ExpectValidUtf8(f);
}

TEST_F(CrlProbeTest, ValidCrlWithoutIssurIsOkButUnverified) {
  const v1::Finding f = RunOne(Watch("/good.crl", /*with_issuer=*/false));
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_FALSE(f.crl().signature_verified());
  EXPECT_EQ(f.dimensions().ca(), "CN=pkiwatch Test CA,O=pkiwatch");
}

TEST_F(CrlProbeTest, ExpiredCrlIsRevocationOffline) {
  const v1::Finding f = RunOne(Watch("/expired.crl"));
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_EQ(f.error().hresult(), 0x80092013u);
  EXPECT_EQ(f.dimensions().ca(), "CN=pkiwatch Test CA,O=pkiwatch");
  EXPECT_EQ(UnixSeconds(f.crl().next_update()), absl::ToUnixSeconds(kNow - absl::Hours(24)));
  ExpectValidUtf8(f);
}

TEST_F(CrlProbeTest, CrlExpiringWithinWarningWindowWarns) {
  const v1::Finding f = RunOne(Watch("/expiring.crl"));
  EXPECT_EQ(f.status(), v1::STATUS_WARN) << f.summary();

  // With a warning window shorter than the remaining 2 h it is fine.
  v1::CrlSettings settings;
  settings.set_expiry_warn_seconds(3600);
  const v1::Finding g = RunOne(Watch("/expiring.crl"), settings);
  EXPECT_EQ(g.status(), v1::STATUS_OK) << g.summary();
}

TEST_F(CrlProbeTest, CrlSignedByAnotherKeyFailsSignature) {
  const v1::Finding f = RunOne(Watch("/impostor.crl"));
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "NTE_BAD_SIGNATURE");
  EXPECT_FALSE(f.crl().signature_verified());
  ExpectValidUtf8(f);
}

TEST_F(CrlProbeTest, DeltaCrl) {
  const v1::Finding f = RunOne(Watch("/delta.crl"));
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_EQ(f.dimensions().url_kind(), v1::URL_KIND_DELTA_CDP);
  EXPECT_TRUE(f.crl().is_delta());
  EXPECT_EQ(f.crl().crl_number(), "43");
  EXPECT_EQ(f.crl().base_crl_number(), "42");
  EXPECT_EQ(f.crl().entry_count(), 1u);
}

TEST_F(CrlProbeTest, GarbageIsAsn1BadTag) {
  const v1::Finding f = RunOne(Watch("/garbage.crl"));
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CRYPT_E_ASN1_BADTAG");
  EXPECT_FALSE(f.error().native_detail().empty());
  EXPECT_EQ(f.crl().http_status(), 200u);
  EXPECT_EQ(f.crl().size_bytes(), 14u);
  // Attributed to the configured issuer even though the CRL is unreadable.
  EXPECT_EQ(f.dimensions().ca(), "CN=pkiwatch Test CA,O=pkiwatch");
  EXPECT_EQ(f.dimensions().ca_key_id(), SkiHex(ca_->cert.get()));
  ExpectValidUtf8(f);
}

TEST_F(CrlProbeTest, HtmlErrorPageIsAsn1BadTag) {
  const v1::Finding f = RunOne(Watch("/error-page.crl", /*with_issuer=*/false));
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CRYPT_E_ASN1_BADTAG");
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "text/html"))
      << f.error().native_detail();
  EXPECT_EQ(f.crl().content_type(), "text/html");
  EXPECT_EQ(f.dimensions().ca(), "");
  ExpectValidUtf8(f);
}

TEST_F(CrlProbeTest, HttpNotFoundIsRevocationOffline) {
  const v1::Finding f = RunOne(Watch("/missing.crl"));
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_EQ(f.error().native_detail(),
            absl::StrCat("HTTP 404 from ", server_.Url("/missing.crl")));
  EXPECT_EQ(f.crl().http_status(), 404u);
  ExpectValidUtf8(f);
}

TEST_F(CrlProbeTest, ServerStoppedIsRevocationOffline) {
  auto probe = CrlProbe::Create({Watch("/good.crl")}, {}, http_);
  ASSERT_TRUE(probe.ok()) << probe.status();
  server_.Stop();
  const std::vector<v1::Finding> findings = (*probe)->Run(ProbeContext{kNow});
  ASSERT_EQ(findings.size(), 1u);
  const v1::Finding& f = findings[0];
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_TRUE(absl::StartsWith(f.error().native_detail(),
                               absl::StrCat("curl error ", CURLE_COULDNT_CONNECT, ": ")))
      << f.error().native_detail();
  EXPECT_FALSE(f.has_crl());
  EXPECT_EQ(f.dimensions().url(), server_.Url("/good.crl"));
  EXPECT_EQ(f.dimensions().ca(), "CN=pkiwatch Test CA,O=pkiwatch");
  ExpectValidUtf8(f);
}

TEST_F(CrlProbeTest, OneFindingPerWatchInOrder) {
  std::vector<v1::CrlWatch> watches = {Watch("/good.crl"), Watch("/expired.crl"),
                                       Watch("/garbage.crl"), Watch("/missing.crl")};
  auto probe = CrlProbe::Create(watches, {}, http_);
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ((*probe)->info().name, "crl");
  const std::vector<v1::Finding> findings = (*probe)->Run(ProbeContext{kNow});
  ASSERT_EQ(findings.size(), 4u);
  const std::vector<std::string> targets = (*probe)->targets();
  ASSERT_EQ(targets.size(), 4u);
  for (size_t i = 0; i < findings.size(); ++i) {
    EXPECT_EQ(findings[i].target(), targets[i]);
    EXPECT_EQ(findings[i].target(), watches[i].url());
  }
  EXPECT_EQ(findings[0].status(), v1::STATUS_OK);
  EXPECT_EQ(findings[1].error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_EQ(findings[2].error().symbolic_name(), "CRYPT_E_ASN1_BADTAG");
  EXPECT_EQ(findings[3].error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
}

TEST_F(CrlProbeTest, NoWatchesNoFindings) {
  auto probe = CrlProbe::Create({}, {}, http_);
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_TRUE((*probe)->Run(ProbeContext{kNow}).empty());
}

TEST_F(CrlProbeTest, CreateRejectsInvalidUrl) {
  v1::CrlWatch w;
  w.set_url("not a url");
  const auto probe = CrlProbe::Create({w}, {}, http_);
  ASSERT_FALSE(probe.ok());
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(probe.status().message(), "crl_watches[0].url"))
      << probe.status();
}

TEST_F(CrlProbeTest, CreateRejectsNonHttpUrl) {
  v1::CrlWatch w;
  w.set_url("ldap:///CN=Test%20CA,CN=CDP,DC=corp?certificateRevocationList?base");
  const auto probe = CrlProbe::Create({w}, {}, http_);
  ASSERT_FALSE(probe.ok());
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CrlProbeTest, CreateRejectsDuplicateAfterNormalization) {
  v1::CrlWatch a = Watch("/good.crl");
  v1::CrlWatch b = a;
  b.set_url(absl::StrCat("HTTP://127.0.0.1:", server_.port(), "/good.crl"));
  const auto probe = CrlProbe::Create({a, b}, {}, http_);
  ASSERT_FALSE(probe.ok());
  EXPECT_TRUE(absl::StrContains(probe.status().message(), "crl_watches[1]")) << probe.status();
}

TEST_F(CrlProbeTest, CreateRejectsMissingIssuerFile) {
  v1::CrlWatch w = Watch("/good.crl");
  const std::string missing = (dir_ / "no-such-ca.pem").string();
  w.set_issuer_cert_file(missing);
  const auto probe = CrlProbe::Create({w}, {}, http_);
  ASSERT_FALSE(probe.ok());
  EXPECT_TRUE(absl::StrContains(probe.status().message(), missing)) << probe.status();
}

TEST_F(CrlProbeTest, CreateRejectsIssuerFileWithoutCertificate) {
  const std::string bad = (dir_ / "bad.pem").string();
  {
    std::ofstream out(bad, std::ios::binary);
    out << "this is not a certificate";
  }
  v1::CrlWatch w = Watch("/good.crl");
  w.set_issuer_cert_file(bad);
  const auto probe = CrlProbe::Create({w}, {}, http_);
  ASSERT_FALSE(probe.ok());
  EXPECT_TRUE(absl::StrContains(probe.status().message(), bad)) << probe.status();
}

// ---- MakeCrlFinding: the pure part, on hand-made fetch results. ----

TEST(MakeCrlFindingTest, HostileTextBecomesValidUtf8OnOneLine) {
  HttpResult fetch;
  fetch.curl_code = CURLE_OK;
  fetch.http_status = 200;
  fetch.content_type = std::string("text/\xff\xfe\nhtml") + std::string(5000, 'a');
  fetch.body = "\x30\x82\xff\xff junk";
  fetch.effective_url = "http://example.test/x.crl";
  const v1::Finding f =
      MakeCrlFinding("http://example.test/x.crl", fetch, CrlCheckOptions{kNow});
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CRYPT_E_ASN1_BADTAG");
  EXPECT_TRUE(IsValidUtf8(f.crl().content_type()));
  EXPECT_LE(f.crl().content_type().size(), kCrlProbeMaxContentTypeBytes);
  EXPECT_TRUE(IsValidUtf8(f.error().native_detail()));
  EXPECT_LE(f.error().native_detail().size(), kCrlProbeMaxDetailBytes);
  EXPECT_EQ(f.error().native_detail().find('\n'), std::string::npos);
  EXPECT_TRUE(IsValidUtf8(f.summary()));
}

TEST(MakeCrlFindingTest, CurlFailureTextIsSanitized) {
  HttpResult fetch;
  fetch.curl_code = CURLE_COULDNT_RESOLVE_HOST;
  fetch.curl_error = std::string("Could not resolve host: \xc3\x28") + std::string(4000, 'h');
  const v1::Finding f = MakeCrlFinding("http://nx.example.test/x.crl", fetch,
                                       CrlCheckOptions{kNow});
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_TRUE(absl::StartsWith(f.error().native_detail(), "curl error 6: Could not resolve"));
  EXPECT_TRUE(IsValidUtf8(f.error().native_detail()));
  EXPECT_LE(f.error().native_detail().size(), kCrlProbeMaxDetailBytes);
  EXPECT_EQ(f.observed_at().seconds(), absl::ToUnixSeconds(kNow));
}

TEST(MakeCrlFindingTest, LocalCurlFailureIsProbeError) {
  HttpResult fetch;
  fetch.curl_code = CURLE_FAILED_INIT;
  fetch.curl_error = "curl_easy_init failed";
  const v1::Finding f = MakeCrlFinding("http://a.test/x.crl", fetch, CrlCheckOptions{kNow});
  EXPECT_EQ(f.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(f.error().symbolic_name(), "E_FAIL");
}

TEST(ProbeTableTest, CrlIsDeclaredOnce) {
  ASSERT_NE(FindProbeInfo("crl"), nullptr);
  EXPECT_EQ(FindProbeInfo("crl"), &kCrlProbeInfo);
  EXPECT_EQ(FindProbeInfo("no-such-probe"), nullptr);
  EXPECT_FALSE(AllProbeInfos().empty());
  const std::string table = FormatProbeTable();
  EXPECT_TRUE(absl::StrContains(table, "crl\n")) << table;
  EXPECT_TRUE(absl::StrContains(table, std::string(kCrlProbeInfo.checks))) << table;
}

}  // namespace
}  // namespace pkiwatch
