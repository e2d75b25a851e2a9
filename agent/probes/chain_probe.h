// The chain probe ("chain"): for every certificate in the configured
// folders, builds its chain with OpenSSL (intermediates from the folders,
// missing issuers fetched from AIA caIssuers URLs) to a trust anchor and
// reports what a Windows client would: untrusted root, no chain, expired,
// bad signature, ... and certificates that expire soon.
//
// Targets: every certificate of the folders, one finding each (target = SHA-1
// thumbprint). Trust anchors are the self-signed certificates of the folders
// plus the trust bundle; a self-signed certificate in the folders is thus
// its own (trusted) chain and is checked for validity only. Unreadable files
// are reported as PROBE_ERROR findings with the file as target.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/probes/cert_source.h"
#include "agent/probes/http_fetch.h"
#include "agent/probes/probe.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

// Certificates at an AIA caIssuers URL (DER, PEM or PKCS#7 certs-only).
// Errors carry the HRESULT-worthy facts in the message (curl or HTTP text).
using IssuerFetcher = std::function<absl::StatusOr<std::vector<X509Ptr>>(const std::string& url)>;

// The production fetcher: HttpGet with `http`, http/https URLs only.
IssuerFetcher HttpIssuerFetcher(HttpOptions http);

struct ChainProbeOptions {
  // WARN when a certificate of the chain expires within this.
  absl::Duration expiry_warn = absl::Hours(24 * 30);
  // Fetch missing issuers from AIA caIssuers (http/https) URLs.
  bool fetch_aia = true;
  // URLs fetched per run at most, over all certificates (each URL once).
  int max_aia_fetches = 16;
};

class ChainProbe : public Probe {
 public:
  // `fetcher` may be empty (no AIA fetching, as with fetch_aia = false).
  // `budget`: wall time of one run (ProbeBudgetFromSeconds); certificates
  // not started when it is spent get a PROBE_ERROR ERROR_TIMEOUT finding.
  static absl::StatusOr<std::unique_ptr<ChainProbe>> Create(std::unique_ptr<CertSource> source,
                                                            ChainProbeOptions options,
                                                            IssuerFetcher fetcher,
                                                            absl::Duration budget);

  const ProbeInfo& info() const override { return kChainProbeInfo; }

  // Reads the folders, then one finding per certificate (folder order) and
  // one PROBE_ERROR finding per unreadable file or folder. Chains are judged
  // at ctx.now. Status and error:
  //   chain complete, every certificate valid        OK
  //   a certificate of the chain expires within
  //   expiry_warn                                    WARN
  //   signature of a chain certificate is bad        FAIL TRUST_E_CERT_SIGNATURE
  //   chain ends in a self-signed certificate that
  //   is not a trust anchor                          FAIL CERT_E_UNTRUSTEDROOT
  //   an issuer is missing (also after AIA)          FAIL CERT_E_CHAINING
  //   a certificate expired or is not yet valid      FAIL CERT_E_EXPIRED
  //   name constraints violated / unsupported        FAIL CERT_E_INVALID_NAME
  //   end-entity used as CA                          FAIL CERT_E_ROLE
  //   path length exceeded                           FAIL CERT_E_PATHLENCONST
  //   unknown critical extension                     FAIL CERT_E_CRITICAL
  //   other OpenSSL verification errors              FAIL CERT_E_MALFORMED
  // When several apply, the first in this order is reported (the order of
  // Windows' base chain policy: signature, root, chain, time) and the others
  // are listed in the detail. Blocks for about the budget plus one
  // certificate (at most max_aia_fetches HTTP timeouts). Safe to call from
  // one thread at a time per object.
  std::vector<v1::Finding> Run(const ProbeContext& ctx) override;

 private:
  ChainProbe(std::unique_ptr<CertSource> source, ChainProbeOptions options, IssuerFetcher fetcher,
             absl::Duration budget)
      : source_(std::move(source)),
        options_(options),
        fetcher_(std::move(fetcher)),
        budget_(budget) {}

  const std::unique_ptr<CertSource> source_;
  const ChainProbeOptions options_;
  const IssuerFetcher fetcher_;
  const absl::Duration budget_;
};

}  // namespace pkiwatch
