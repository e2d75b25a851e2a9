#include "common/crl.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/error_catalogue.h"
#include "common/openssl_util.h"

namespace pkiwatch {
namespace {

namespace fs = std::filesystem;

const fs::path kCrlDir =
    fs::path(PKIWATCH_FIXTURES_DIR) / "crl" / "boringssl-crl_unittest";

// One verification time for the BoringSSL corpus, read off the files' own
// annotations and dates (crl/INDEX.tsv): the valid CRLs run 2017-03-02 to
// 2017-06-02; bad_nextupdate_too_old ("nextUpdate is before verification
// time") ends 2017-03-08 00:11:22; bad_thisupdate_in_future starts
// 2017-03-10 00:11:22; bad_thisupdate_too_old ("thisUpdate more than 7 days
// before verification time") starts 2017-03-01 00:11:22. Only
// 2017-03-08 00:11:22 < now < 2017-03-10 00:11:22 satisfies all of them; the
// midpoint, 2017-03-09 00:11:22 UTC, is the time the corpus was built for.
absl::Time VerifyTime() {
  return absl::FromCivil(absl::CivilSecond(2017, 3, 9, 0, 11, 22),
                         absl::UTCTimeZone());
}

// PEM blocks of an annotated fixture file by name ("CRL", "CA CERTIFICATE",
// "CERTIFICATE", "CA CERTIFICATE 2"), DER-decoded by PEM_read_bio.
std::map<std::string, std::string> ReadPemBlocks(const fs::path& path) {
  std::map<std::string, std::string> blocks;
  absl::StatusOr<std::string> bytes = ReadFileBytes(path.string());
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok()) return blocks;
  BioPtr bio(BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size())));
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) == 0) {
      ERR_clear_error();  // PEM_R_NO_START_LINE at the end of the file
      break;
    }
    blocks[name] = std::string(reinterpret_cast<char*>(data),
                               static_cast<size_t>(len));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
  return blocks;
}

X509Ptr CertFromDer(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

enum class Expect {
  kParseError,  // Crl::Parse fails (InvalidArgument)
  kOk,          // STATUS_OK, signature verified
  kOkRevoked,   // STATUS_OK, signature verified, the leaf is listed
  kWarn,
  kFail,
};

struct CorpusCase {
  const char* file;
  Expect expect;
  uint32_t hresult = 0;
  // The CRL signer: "CA CERTIFICATE", or "CA CERTIFICATE 2" (the old key in
  // the key rollover files).
  const char* issuer_block = "CA CERTIFICATE";
  const char* detail_part = "";
};

// Every file of the corpus, with the verdict a Windows-minded CRL monitor
// gives it. Coverage questions (IDP scope versus one certificate, the
// leaf's own CDP) are not properties of the CRL and are left to the chain
// engine: those CRLs are healthy CRLs.
const CorpusCase kCorpus[] = {
    {"bad_crldp_has_crlissuer.pem", Expect::kOk},
    {"bad_fake_critical_crlentryextension.pem", Expect::kFail,
     hr::kCertECritical, "CA CERTIFICATE", "unknown critical extension"},
    {"bad_fake_critical_extension.pem", Expect::kFail, hr::kCertECritical,
     "CA CERTIFICATE", "unknown critical extension"},
    {"bad_idp_contains_wrong_uri.pem", Expect::kOk},
    {"bad_idp_indirectcrl.pem", Expect::kOk},
    {"bad_idp_onlycontainscacerts.pem", Expect::kOk},
    {"bad_idp_onlycontainscacerts_no_basic_constraints.pem", Expect::kOk},
    {"bad_idp_onlycontainsusercerts.pem", Expect::kOk},
    {"bad_idp_uri_and_onlycontainscacerts.pem", Expect::kOk},
    {"bad_idp_uri_and_onlycontainsusercerts.pem", Expect::kOk},
    {"bad_key_rollover_signature.pem", Expect::kFail, hr::kNteBadSignature,
     "CA CERTIFICATE 2", "X509_CRL_verify"},
    {"bad_nextupdate_too_old.pem", Expect::kFail, hr::kCryptERevocationOffline,
     "CA CERTIFICATE",
     "CRL expired: nextUpdate 2017-03-08T00:11:22Z passed 1d0h ago"},
    {"bad_signature.pem", Expect::kFail, hr::kNteBadSignature,
     "CA CERTIFICATE", "X509_CRL_verify"},
    {"bad_thisupdate_in_future.pem", Expect::kWarn, 0, "CA CERTIFICATE",
     "thisUpdate in the future: clock skew?"},
    // Chrome's 7-day freshness rule is not Windows policy: still valid.
    {"bad_thisupdate_too_old.pem", Expect::kOk},
    {"bad_wrong_issuer.pem", Expect::kFail, hr::kCertEIssuerChaining,
     "CA CERTIFICATE", "does not match the CA subject"},
    {"good.pem", Expect::kOk},
    {"good_fake_extension.pem", Expect::kOk},
    {"good_fake_extension_no_nextupdate.pem", Expect::kOk, 0, "CA CERTIFICATE",
     "no nextUpdate"},
    {"good_generalizedtime.pem", Expect::kOk},
    {"good_idp_contains_uri.pem", Expect::kOk},
    {"good_idp_onlycontainscacerts.pem", Expect::kOk},
    {"good_idp_onlycontainsusercerts.pem", Expect::kOk},
    {"good_idp_onlycontainsusercerts_no_basic_constraints.pem", Expect::kOk},
    {"good_idp_uri_and_onlycontainscacerts.pem", Expect::kOk},
    {"good_idp_uri_and_onlycontainsusercerts.pem", Expect::kOk},
    {"good_issuer_name_normalization.pem", Expect::kOk},
    {"good_issuer_no_keyusage.pem", Expect::kOk},
    {"good_key_rollover.pem", Expect::kOk, 0, "CA CERTIFICATE 2"},
    {"good_no_crldp.pem", Expect::kOk},
    {"good_no_nextupdate.pem", Expect::kOk, 0, "CA CERTIFICATE",
     "no nextUpdate"},
    {"good_no_version.pem", Expect::kOk},
    {"invalid_garbage_after_crlentryextensions.pem", Expect::kParseError},
    {"invalid_garbage_after_extensions.pem", Expect::kParseError},
    {"invalid_garbage_after_nextupdate.pem", Expect::kParseError},
    {"invalid_garbage_after_revocationdate.pem", Expect::kParseError},
    {"invalid_garbage_after_revokedcerts.pem", Expect::kParseError},
    {"invalid_garbage_after_signaturevalue.pem", Expect::kParseError},
    {"invalid_garbage_after_thisupdate.pem", Expect::kParseError},
    {"invalid_garbage_crlentry.pem", Expect::kParseError},
    {"invalid_garbage_issuer_name.pem", Expect::kParseError},
    {"invalid_garbage_revocationdate.pem", Expect::kParseError},
    {"invalid_garbage_revoked_serial_number.pem", Expect::kParseError},
    {"invalid_garbage_signaturealgorithm.pem", Expect::kParseError},
    {"invalid_garbage_signaturevalue.pem", Expect::kParseError},
    {"invalid_garbage_tbs_signature_algorithm.pem", Expect::kParseError},
    {"invalid_garbage_tbscertlist.pem", Expect::kParseError},
    {"invalid_garbage_thisupdate.pem", Expect::kParseError},
    {"invalid_garbage_version.pem", Expect::kParseError},
    {"invalid_idp_dpname_choice_extra_data.pem", Expect::kParseError},
    {"invalid_idp_empty_sequence.pem", Expect::kParseError},
    {"invalid_idp_onlycontains_user_and_ca_certs.pem", Expect::kParseError},
    // The v1 leaf is what is invalid here, not the CRL.
    {"invalid_idp_onlycontainsusercerts_v1_leaf.pem", Expect::kOk},
    {"invalid_issuer_keyusage_no_crlsign.pem", Expect::kFail,
     hr::kCertEWrongUsage, "CA CERTIFICATE", "cRLSign"},
    {"invalid_key_rollover_issuer_keyusage_no_crlsign.pem", Expect::kFail,
     hr::kCertEWrongUsage, "CA CERTIFICATE 2", "cRLSign"},
    {"invalid_mismatched_signature_algorithm.pem", Expect::kFail,
     hr::kNteBadSignature, "CA CERTIFICATE", "X509_CRL_verify"},
    // An empty revokedCertificates SEQUENCE and an explicit v1 version are
    // DER encoding slips that change no meaning; tolerated.
    {"invalid_revoked_empty_sequence.pem", Expect::kOk},
    {"invalid_v1_explicit.pem", Expect::kOk},
    {"invalid_v1_with_crlentryextension.pem", Expect::kParseError},
    {"invalid_v1_with_extension.pem", Expect::kParseError},
    {"invalid_v3.pem", Expect::kParseError},
    {"revoked.pem", Expect::kOkRevoked},
    {"revoked_fake_crlentryextension.pem", Expect::kOkRevoked},
    {"revoked_generalized_revocationdate.pem", Expect::kOkRevoked},
    {"revoked_key_rollover.pem", Expect::kOkRevoked, 0, "CA CERTIFICATE 2"},
    {"revoked_no_nextupdate.pem", Expect::kOkRevoked, 0, "CA CERTIFICATE",
     "no nextUpdate"},
};

class CrlCorpusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(kCrlDir)) {
      GTEST_SKIP() << "fixtures directory missing: " << kCrlDir;
    }
  }
};

TEST_F(CrlCorpusTest, EveryFileIsInTheTable) {
  std::set<std::string> listed;
  for (const CorpusCase& c : kCorpus) listed.insert(c.file);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kCrlDir)) {
    if (entry.path().extension() != ".pem") continue;
    ++files;
    EXPECT_TRUE(listed.count(entry.path().filename().string()))
        << "no expectation for " << entry.path().filename();
  }
  EXPECT_EQ(files, static_cast<int>(std::size(kCorpus)));
}

TEST_F(CrlCorpusTest, EvaluatesEveryFile) {
  for (const CorpusCase& c : kCorpus) {
    SCOPED_TRACE(c.file);
    std::map<std::string, std::string> blocks = ReadPemBlocks(kCrlDir / c.file);
    ASSERT_TRUE(blocks.count("CRL"));
    ASSERT_TRUE(blocks.count("CERTIFICATE"));
    ASSERT_TRUE(blocks.count(c.issuer_block));

    absl::StatusOr<Crl> crl = Crl::Parse(blocks["CRL"]);
    if (c.expect == Expect::kParseError) {
      ASSERT_FALSE(crl.ok());
      EXPECT_EQ(crl.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(crl.status().message().find("Crl::Parse"), std::string::npos);
      continue;
    }
    ASSERT_TRUE(crl.ok()) << crl.status();

    X509Ptr issuer = CertFromDer(blocks[c.issuer_block]);
    X509Ptr leaf = CertFromDer(blocks["CERTIFICATE"]);
    ASSERT_NE(issuer, nullptr);
    ASSERT_NE(leaf, nullptr);

    CrlCheckOptions options;
    options.now = VerifyTime();
    options.issuer = issuer.get();
    CrlVerdict verdict = EvaluateCrl(*crl, options);
    EXPECT_NE(verdict.detail.find(c.detail_part), std::string::npos)
        << verdict.detail;

    switch (c.expect) {
      case Expect::kOk:
      case Expect::kOkRevoked:
        EXPECT_EQ(verdict.status, v1::STATUS_OK) << verdict.detail;
        EXPECT_EQ(verdict.hresult, 0u);
        EXPECT_TRUE(verdict.signature_verified);
        EXPECT_EQ(crl->IsRevoked(X509_get0_serialNumber(leaf.get())),
                  c.expect == Expect::kOkRevoked);
        EXPECT_EQ(crl->IsRevoked(leaf.get()), c.expect == Expect::kOkRevoked);
        break;
      case Expect::kWarn:
        EXPECT_EQ(verdict.status, v1::STATUS_WARN) << verdict.detail;
        EXPECT_EQ(verdict.hresult, 0u);
        break;
      case Expect::kFail:
        EXPECT_EQ(verdict.status, v1::STATUS_FAIL) << verdict.detail;
        EXPECT_EQ(verdict.hresult, c.hresult)
            << FormatError(verdict.hresult) << " / " << verdict.detail;
        break;
      case Expect::kParseError:
        break;
    }
  }
}

TEST_F(CrlCorpusTest, GoodCrlInfo) {
  std::map<std::string, std::string> blocks = ReadPemBlocks(kCrlDir / "good.pem");
  absl::StatusOr<Crl> crl = Crl::Parse(blocks["CRL"]);
  ASSERT_TRUE(crl.ok()) << crl.status();
  const CrlInfo& info = crl->info();
  EXPECT_EQ(info.issuer, "CN=Test Intermediate CA");
  EXPECT_EQ(info.this_update,
            absl::FromCivil(absl::CivilSecond(2017, 3, 2, 0, 11, 22),
                            absl::UTCTimeZone()));
  ASSERT_TRUE(info.next_update.has_value());
  EXPECT_EQ(*info.next_update,
            absl::FromCivil(absl::CivilSecond(2017, 6, 2, 0, 11, 22),
                            absl::UTCTimeZone()));
  EXPECT_EQ(info.entry_count, 0u);
  EXPECT_FALSE(info.is_delta);
  EXPECT_EQ(info.der_size, blocks["CRL"].size());

  // The whole annotated file parses too: text before the first PEM block is
  // skipped and the first "CRL" block is taken.
  absl::StatusOr<std::string> file = ReadFileBytes((kCrlDir / "good.pem").string());
  ASSERT_TRUE(file.ok());
  absl::StatusOr<Crl> from_file = Crl::Parse(*file);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->info().der_size, info.der_size);

  // Without an issuer no signature is claimed.
  CrlCheckOptions options;
  options.now = VerifyTime();
  CrlVerdict verdict = EvaluateCrl(*crl, options);
  EXPECT_EQ(verdict.status, v1::STATUS_OK);
  EXPECT_FALSE(verdict.signature_verified);

  // Expiry warning window and the clock-skew tolerance.
  options.now = *info.next_update - absl::Hours(2);
  verdict = EvaluateCrl(*crl, options);
  EXPECT_EQ(verdict.status, v1::STATUS_WARN);
  EXPECT_NE(verdict.detail.find("CRL expires soon"), std::string::npos);
  EXPECT_NE(verdict.detail.find("2h0m"), std::string::npos) << verdict.detail;
  options.now = info.this_update - absl::Minutes(4);
  EXPECT_EQ(EvaluateCrl(*crl, options).status, v1::STATUS_OK);
  options.now = info.this_update - absl::Minutes(6);
  EXPECT_EQ(EvaluateCrl(*crl, options).status, v1::STATUS_WARN);
  // Exactly at nextUpdate the CRL is no longer usable.
  options.now = *info.next_update;
  verdict = EvaluateCrl(*crl, options);
  EXPECT_EQ(verdict.status, v1::STATUS_FAIL);
  EXPECT_EQ(verdict.hresult, hr::kCryptERevocationOffline);
}

TEST_F(CrlCorpusTest, ParseErrorsNameOpenSsl) {
  std::map<std::string, std::string> blocks =
      ReadPemBlocks(kCrlDir / "invalid_garbage_tbscertlist.pem");
  absl::StatusOr<Crl> crl = Crl::Parse(blocks["CRL"]);
  ASSERT_FALSE(crl.ok());
  EXPECT_NE(crl.status().message().find("d2i_X509_CRL failed: error:"),
            std::string::npos)
      << crl.status();
}

TEST_F(CrlCorpusTest, EveryTruncationOfAValidCrlIsAParseError) {
  std::map<std::string, std::string> blocks = ReadPemBlocks(kCrlDir / "revoked.pem");
  const std::string& der = blocks["CRL"];
  ASSERT_GT(der.size(), 100u);
  for (size_t len = 0; len < der.size(); ++len) {
    absl::StatusOr<Crl> crl = Crl::Parse(std::string_view(der).substr(0, len));
    EXPECT_FALSE(crl.ok()) << "prefix of " << len << " bytes parsed";
  }
  // And trailing bytes after a complete CRL are refused.
  absl::StatusOr<Crl> trailing = Crl::Parse(der + std::string("\0\0", 2));
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("trailing"), std::string::npos);
}

TEST(CrlParseTest, GarbageNeverParsesAndNeverCrashes) {
  EXPECT_FALSE(Crl::Parse("").ok());
  EXPECT_FALSE(Crl::Parse(std::string(1, '\0')).ok());
  EXPECT_FALSE(Crl::Parse("not a CRL at all").ok());
  EXPECT_FALSE(Crl::Parse("-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n").ok());
  EXPECT_FALSE(Crl::Parse("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
  EXPECT_FALSE(Crl::Parse("\x30\x82\xff\xff").ok());
  uint32_t state = 4242;
  for (int round = 0; round < 500; ++round) {
    std::string bytes;
    size_t len = 1 + round % 300;
    for (size_t i = 0; i < len; ++i) {
      state = state * 1664525u + 1013904223u;
      bytes.push_back(static_cast<char>(state >> 24));
    }
    if (round % 2 == 0) bytes[0] = '\x30';  // look like DER
    absl::StatusOr<Crl> crl = Crl::Parse(bytes);
    EXPECT_FALSE(crl.ok());
    if (!crl.ok()) {
      EXPECT_EQ(crl.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

// --- CRLs generated with the OpenSSL API: delta and indirect CRLs. --------

struct TestCa {
  EvpPkeyPtr key;
  X509Ptr cert;
};

EvpPkeyPtr NewKey() {
  return EvpPkeyPtr(EVP_EC_gen("P-256"));
}

X509NamePtr MakeName(const char* cn) {
  X509NamePtr name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1,
                             0);
  return name;
}

void AddCertExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << OpenSslErrors();
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Ptr MakeCert(const char* subject, const char* issuer_cn, long serial,
                 EVP_PKEY* subject_key, EVP_PKEY* signing_key, bool ca) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_set_subject_name(cert.get(), MakeName(subject).get());
  X509_set_issuer_name(cert.get(), MakeName(issuer_cn).get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * 365);
  X509_set_pubkey(cert.get(), subject_key);
  if (ca) {
    AddCertExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    AddCertExt(cert.get(), cert.get(), NID_key_usage,
               "critical,keyCertSign,cRLSign");
    AddCertExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  }
  EXPECT_GT(X509_sign(cert.get(), signing_key, EVP_sha256()), 0);
  return cert;
}

TestCa MakeCa(const char* cn) {
  TestCa ca;
  ca.key = NewKey();
  ca.cert = MakeCert(cn, cn, 1, ca.key.get(), ca.key.get(), true);
  return ca;
}

void AddCrlExt(X509_CRL* crl, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, nullptr, nullptr, crl, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << OpenSslErrors();
  X509_CRL_add_ext(crl, ext, -1);
  X509_EXTENSION_free(ext);
}

void AddIntegerExt(X509_CRL* crl, int nid, const char* decimal, bool critical) {
  BIGNUM* bn = nullptr;
  ASSERT_GT(BN_dec2bn(&bn, decimal), 0);
  BignumPtr bn_owner(bn);
  Asn1IntegerPtr value(BN_to_ASN1_INTEGER(bn, nullptr));
  ASSERT_EQ(X509_CRL_add1_ext_i2d(crl, nid, value.get(), critical ? 1 : 0,
                                  X509V3_ADD_DEFAULT),
            1);
}

void AddRevoked(X509_CRL* crl, long serial, time_t when,
                const char* certificate_issuer_cn) {
  X509_REVOKED* rev = X509_REVOKED_new();
  Asn1IntegerPtr s(ASN1_INTEGER_new());
  ASN1_INTEGER_set(s.get(), serial);
  X509_REVOKED_set_serialNumber(rev, s.get());
  Asn1TimePtr t(ASN1_TIME_set(nullptr, when));
  X509_REVOKED_set_revocationDate(rev, t.get());
  if (certificate_issuer_cn != nullptr) {
    GeneralNamesPtr names(GENERAL_NAMES_new());
    GENERAL_NAME* gn = GENERAL_NAME_new();
    gn->type = GEN_DIRNAME;
    gn->d.directoryName = MakeName(certificate_issuer_cn).release();
    sk_GENERAL_NAME_push(names.get(), gn);
    X509_REVOKED_add1_ext_i2d(rev, NID_certificate_issuer, names.get(), 1,
                              X509V3_ADD_DEFAULT);
  }
  X509_CRL_add0_revoked(crl, rev);
}

struct CrlSpec {
  const char* crl_number = "1";
  const char* base_crl_number = nullptr;   // deltaCRLIndicator when set
  const char* freshest_url = nullptr;      // FreshestCRL when set
};

const time_t kThisUpdate = 1700000000;  // 2023-11-14T22:13:20Z

X509CrlPtr NewCrl(const TestCa& ca, const CrlSpec& spec) {
  X509CrlPtr crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);  // v2
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.cert.get()));
  Asn1TimePtr last(ASN1_TIME_set(nullptr, kThisUpdate));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, kThisUpdate + 7 * 86400));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  AddCrlExt(crl.get(), ca.cert.get(), NID_authority_key_identifier,
            "keyid:always");
  AddIntegerExt(crl.get(), NID_crl_number, spec.crl_number, false);
  if (spec.base_crl_number != nullptr) {
    // RFC 5280 5.2.4: deltaCRLIndicator is always critical.
    AddIntegerExt(crl.get(), NID_delta_crl, spec.base_crl_number, true);
  }
  if (spec.freshest_url != nullptr) {
    AddCrlExt(crl.get(), ca.cert.get(), NID_freshest_crl,
              (std::string("URI:") + spec.freshest_url).c_str());
  }
  return crl;
}

std::string SignToDer(X509_CRL* crl, const TestCa& ca) {
  X509_CRL_sort(crl);
  EXPECT_GT(X509_CRL_sign(crl, ca.key.get(), EVP_sha256()), 0)
      << OpenSslErrors();
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl, &der);
  EXPECT_GT(len, 0);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::Time ThisUpdate() { return absl::FromTimeT(kThisUpdate); }

TEST(GeneratedCrlTest, BaseAndDeltaCrl) {
  TestCa ca = MakeCa("Generated Issuing CA");
  ASSERT_NE(ca.cert, nullptr);

  // A CRL number beyond 64 bits, as ADCS never produces but RFC 5280 allows
  // (up to 20 octets): the decimal form must still be exact.
  CrlSpec base_spec;
  base_spec.crl_number = "1180591620717411303424";  // 2^70
  base_spec.freshest_url = "http://crl.example.com/pki/Generated+.crl";
  X509CrlPtr base = NewCrl(ca, base_spec);
  AddRevoked(base.get(), 0x1001, kThisUpdate - 3600, nullptr);
  std::string base_der = SignToDer(base.get(), ca);

  CrlSpec delta_spec;
  delta_spec.crl_number = "1180591620717411303425";
  delta_spec.base_crl_number = "1180591620717411303424";
  X509CrlPtr delta = NewCrl(ca, delta_spec);
  AddRevoked(delta.get(), 0x1002, kThisUpdate - 60, nullptr);
  AddRevoked(delta.get(), 0x1003, kThisUpdate - 30, nullptr);
  std::string delta_der = SignToDer(delta.get(), ca);

  absl::StatusOr<Crl> base_crl = Crl::Parse(base_der);
  ASSERT_TRUE(base_crl.ok()) << base_crl.status();
  EXPECT_EQ(base_crl->info().issuer, "CN=Generated Issuing CA");
  EXPECT_EQ(base_crl->info().crl_number, "1180591620717411303424");
  EXPECT_FALSE(base_crl->info().is_delta);
  EXPECT_EQ(base_crl->info().base_crl_number, "");
  EXPECT_EQ(base_crl->info().entry_count, 1u);
  EXPECT_EQ(base_crl->info().freshest_crl_urls,
            std::vector<std::string>{"http://crl.example.com/pki/Generated+.crl"});
  EXPECT_EQ(base_crl->info().authority_key_id_hex.size(), 40u);  // SHA-1 keyid

  absl::StatusOr<Crl> delta_crl = Crl::Parse(delta_der);
  ASSERT_TRUE(delta_crl.ok()) << delta_crl.status();
  EXPECT_TRUE(delta_crl->info().is_delta);
  EXPECT_EQ(delta_crl->info().crl_number, "1180591620717411303425");
  EXPECT_EQ(delta_crl->info().base_crl_number, "1180591620717411303424");
  EXPECT_EQ(delta_crl->info().entry_count, 2u);
  EXPECT_TRUE(delta_crl->info().unknown_critical_extensions.empty());
  EXPECT_EQ(delta_crl->info().authority_key_id_hex,
            base_crl->info().authority_key_id_hex);

  CrlCheckOptions options;
  options.now = ThisUpdate() + absl::Hours(1);
  options.issuer = ca.cert.get();
  for (const Crl* crl : {&*base_crl, &*delta_crl}) {
    CrlVerdict verdict = EvaluateCrl(*crl, options);
    EXPECT_EQ(verdict.status, v1::STATUS_OK) << verdict.detail;
    EXPECT_TRUE(verdict.signature_verified);
  }

  // Another CA with the same name but another key: signature fails.
  TestCa impostor = MakeCa("Generated Issuing CA");
  options.issuer = impostor.cert.get();
  CrlVerdict verdict = EvaluateCrl(*delta_crl, options);
  EXPECT_EQ(verdict.status, v1::STATUS_FAIL);
  EXPECT_EQ(verdict.hresult, hr::kNteBadSignature);
  EXPECT_FALSE(verdict.signature_verified);

  // PEM "X509 CRL" parses to the same CRL.
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_X509_CRL(bio.get(), delta.get()), 1);
  char* pem = nullptr;
  long pem_len = BIO_get_mem_data(bio.get(), &pem);
  absl::StatusOr<Crl> from_pem =
      Crl::Parse(std::string_view(pem, static_cast<size_t>(pem_len)));
  ASSERT_TRUE(from_pem.ok()) << from_pem.status();
  EXPECT_EQ(from_pem->info().base_crl_number, "1180591620717411303424");
  EXPECT_EQ(from_pem->info().der_size, delta_der.size());
}

TEST(GeneratedCrlTest, IndirectCrlMatchesEntriesByCertificateIssuer) {
  TestCa ca = MakeCa("Indirect CRL Issuer");
  TestCa other = MakeCa("Other CA");

  CrlSpec spec;
  spec.crl_number = "7";
  X509CrlPtr crl = NewCrl(ca, spec);
  {
    // Built by hand: the config syntax for an IDP needs a CONF section.
    ISSUING_DIST_POINT* idp = ISSUING_DIST_POINT_new();
    idp->indirectCRL = 1;
    idp->distpoint = DIST_POINT_NAME_new();
    idp->distpoint->type = 0;
    idp->distpoint->name.fullname = GENERAL_NAMES_new();
    GENERAL_NAME* uri = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, "http://crl.example.com/indirect.crl", -1);
    GENERAL_NAME_set0_value(uri, GEN_URI, s);
    sk_GENERAL_NAME_push(idp->distpoint->name.fullname, uri);
    ASSERT_EQ(X509_CRL_add1_ext_i2d(crl.get(), NID_issuing_distribution_point,
                                    idp, 1, X509V3_ADD_DEFAULT),
              1);
    ISSUING_DIST_POINT_free(idp);
  }
  // Entry 0x01 belongs to the CRL issuer; from 0x02 on, entries carry the
  // certificateIssuer extension naming "Other CA" (which carries over to the
  // following entries, RFC 5280 5.3.3).
  AddRevoked(crl.get(), 0x01, kThisUpdate - 100, nullptr);
  AddRevoked(crl.get(), 0x02, kThisUpdate - 50, "Other CA");
  std::string der = SignToDer(crl.get(), ca);

  absl::StatusOr<Crl> parsed = Crl::Parse(der);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->info().indirect);
  EXPECT_FALSE(parsed->info().is_delta);
  EXPECT_EQ(parsed->info().crl_number, "7");
  EXPECT_EQ(parsed->info().entry_count, 2u);
  EXPECT_EQ(parsed->info().idp_urls,
            std::vector<std::string>{"http://crl.example.com/indirect.crl"});
  // certificateIssuer is critical but understood.
  EXPECT_TRUE(parsed->info().unknown_critical_extensions.empty());

  EvpPkeyPtr leaf_key = NewKey();
  X509Ptr own_leaf_1 = MakeCert("leaf 1", "Indirect CRL Issuer", 0x01,
                                leaf_key.get(), ca.key.get(), false);
  X509Ptr own_leaf_2 = MakeCert("leaf 2", "Indirect CRL Issuer", 0x02,
                                leaf_key.get(), ca.key.get(), false);
  X509Ptr other_leaf_2 = MakeCert("other leaf 2", "Other CA", 0x02,
                                  leaf_key.get(), other.key.get(), false);
  X509Ptr other_leaf_1 = MakeCert("other leaf 1", "Other CA", 0x01,
                                  leaf_key.get(), other.key.get(), false);
  EXPECT_TRUE(parsed->IsRevoked(own_leaf_1.get()));
  EXPECT_FALSE(parsed->IsRevoked(own_leaf_2.get()));
  EXPECT_TRUE(parsed->IsRevoked(other_leaf_2.get()));
  EXPECT_FALSE(parsed->IsRevoked(other_leaf_1.get()));
  // By serial alone, only the CRL issuer's own entries count.
  EXPECT_TRUE(parsed->IsRevoked(X509_get0_serialNumber(own_leaf_1.get())));
  EXPECT_FALSE(parsed->IsRevoked(X509_get0_serialNumber(other_leaf_2.get())));

  CrlCheckOptions options;
  options.now = ThisUpdate() + absl::Hours(1);
  options.issuer = ca.cert.get();
  CrlVerdict verdict = EvaluateCrl(*parsed, options);
  EXPECT_EQ(verdict.status, v1::STATUS_OK) << verdict.detail;
  EXPECT_TRUE(verdict.signature_verified);
}

TEST(GeneratedCrlTest, CrlIsMovable) {
  TestCa ca = MakeCa("Move CA");
  X509CrlPtr crl = NewCrl(ca, CrlSpec{});
  std::string der = SignToDer(crl.get(), ca);
  absl::StatusOr<Crl> parsed = Crl::Parse(der);
  ASSERT_TRUE(parsed.ok());
  Crl moved = std::move(*parsed);
  EXPECT_NE(moved.get(), nullptr);
  EXPECT_EQ(moved.info().crl_number, "1");
  std::vector<Crl> crls;
  crls.push_back(std::move(moved));
  EXPECT_EQ(crls[0].info().issuer, "CN=Move CA");
}

}  // namespace
}  // namespace pkiwatch
