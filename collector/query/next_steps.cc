#include "collector/query/next_steps.h"

#include "common/error_catalogue.h"

namespace pkiwatch::query {
namespace {

void Add(std::vector<std::string>* out, std::initializer_list<const char*> steps) {
  for (const char* s : steps) out->emplace_back(s);
}

}  // namespace

std::vector<std::string> NextSteps(std::string_view probe, uint32_t hresult, v1::Blame blame) {
  std::vector<std::string> steps;
  switch (blame) {
    case v1::BLAME_ENDPOINT:
      Add(&steps, {"The fault is at the endpoint or CA: most hosts in most sites fail."});
      break;
    case v1::BLAME_NETWORK_SEGMENT:
      Add(&steps,
          {"The fault is on the network path of the listed sites: check DNS resolution of "
           "the host, routing, the site's proxy and firewalls (TCP 80/443) from there."});
      break;
    case v1::BLAME_CLIENT:
      Add(&steps,
          {"The fault is on the failing hosts: compare their clock with a reference (over 5 "
           "minutes breaks Kerberos and validity checks), check the WinHTTP proxy "
           "(netsh winhttp show proxy), local firewall and antivirus/EDR interception, and "
           "the Cryptographic Services service (CryptSvc)."});
      break;
    default:
      break;
  }

  switch (hresult) {
    case hr::kCryptERevocationOffline:
      Add(&steps, {"Fetch the URL from an affected host (certutil -urlfetch -verify <cert>) and "
                   "compare with a healthy one.",
                   "On the CDP/OCSP server: is the web server up, is the CRL file present and "
                   "current (nextUpdate), is the CA publishing (certutil -crl)?"});
      break;
    case hr::kCryptEAsn1BadTag:
    case hr::kCryptEAsn1Error:
      Add(&steps, {"The URL answers with something that is not a CRL (an HTML error or "
                   "login page, a proxy block page): open it from an affected host and check "
                   "the web server's MIME mapping and the proxy."});
      break;
    case hr::kNteBadSignature:
    case hr::kCertEIssuerChaining:
      Add(&steps, {"The CRL is not signed by the expected CA key: check for a CA key renewal "
                   "(CRLs signed by the new key, clients holding the old CA certificate) and "
                   "that the CDP serves the right CA's CRL."});
      break;
    case hr::kCryptERevoked:
      Add(&steps, {"The certificate is revoked: renew or re-enroll it; find out why it was "
                   "revoked on the CA."});
      break;
    case hr::kCertEExpired:
      Add(&steps, {"A certificate in the chain is outside its validity period: renew it; if "
                   "it looks valid, compare the host's clock and time zone with a reference."});
      break;
    case hr::kCertEUntrustedRoot:
      Add(&steps, {"The issuing root is not in the host's trusted root store: check the GPO "
                   "that distributes it and the AuthRoot automatic update (event 4107)."});
      break;
    case hr::kRpcSServerUnavailable:
      Add(&steps, {"The CA does not answer over RPC/DCOM: certutil -ping -config "
                   "\"host\\CA name\"; check TCP 135 and the dynamic RPC ports to the CA, and "
                   "that the CA service (certsvc) runs."});
      break;
    case hr::kCertsrvETemplateDenied:
      Add(&steps, {"The CA denies the template (CA event 53): grant Read and Enroll (and "
                   "Autoenroll) on the template and on the CA to the requester; a new group "
                   "membership needs a new logon/boot (Kerberos ticket)."});
      break;
    case hr::kCertsrvEUnsupportedCertType:
      Add(&steps, {"The CA does not offer the template: publish it on the CA "
                   "(certtmpl.msc / certsrv.msc, Certificate Templates to Issue)."});
      break;
    case hr::kNteDeviceNotReady:
      Add(&steps, {"The key provider cannot create keys (TPM not ready for the Microsoft "
                   "Platform Crypto Provider): check the TPM (tpm.msc) or change the "
                   "template's provider."});
      break;
    default:
      break;
  }
  if (probe == "crl" && steps.size() <= 1) {
    Add(&steps, {"Open the CDP URL from an affected host and check the CRL's nextUpdate "
                 "(certutil -dump <file.crl>)."});
  }
  if (steps.empty()) {
    Add(&steps, {"Open the host detail of an affected host and read the native error detail."});
  }
  return steps;
}

}  // namespace pkiwatch::query
