#include "agent/win/certificates.h"

#include <utility>

#include "agent/win/handles.h"
#include "agent/win/strings.h"
#include "agent/win/template_extension.h"

namespace pkiwatch::win {
namespace {


std::string NameToString(const CERT_NAME_BLOB& name) {
  CERT_NAME_BLOB blob = name;
  const DWORD type = CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG;
  const DWORD size = CertNameToStrW(X509_ASN_ENCODING, &blob, type, nullptr, 0);
  if (size <= 1) return std::string();
  std::wstring text(size, L'\0');
  CertNameToStrW(X509_ASN_ENCODING, &blob, type, text.data(), size);
  text.resize(size - 1);  // the terminating NUL
  return WideToUtf8(text);
}

std::vector<uint8_t> ExtensionValue(PCCERT_CONTEXT cert, const char* oid) {
  const CERT_INFO* info = cert->pCertInfo;
  const CERT_EXTENSION* extension =
      CertFindExtension(oid, info->cExtension, info->rgExtension);
  if (extension == nullptr) return {};
  return std::vector<uint8_t>(extension->Value.pbData,
                              extension->Value.pbData + extension->Value.cbData);
}

bool HasProperty(PCCERT_CONTEXT cert, DWORD property) {
  DWORD size = 0;
  return CertGetCertificateContextProperty(cert, property, nullptr, &size) != FALSE;
}

std::string Thumbprint(PCCERT_CONTEXT cert) {
  uint8_t hash[20];
  DWORD size = sizeof hash;
  if (!CertGetCertificateContextProperty(cert, CERT_SHA1_HASH_PROP_ID, hash, &size)) return "";
  return HexUpper(hash, size);
}

std::optional<int64_t> FileTimeToUnix(const FILETIME& t) {
  return FileTimeTicksToUnixSeconds((static_cast<uint64_t>(t.dwHighDateTime) << 32) |
                                    t.dwLowDateTime);
}

StoreCertificate Describe(PCCERT_CONTEXT cert) {
  StoreCertificate out;
  out.der.assign(cert->pbCertEncoded, cert->pbCertEncoded + cert->cbCertEncoded);
  out.thumbprint = Thumbprint(cert);
  out.subject = NameToString(cert->pCertInfo->Subject);
  out.issuer = NameToString(cert->pCertInfo->Issuer);
  out.not_after_unix = FileTimeToUnix(cert->pCertInfo->NotAfter);
  out.archived = HasProperty(cert, CERT_ARCHIVED_PROP_ID);
  out.has_private_key = HasProperty(cert, CERT_KEY_PROV_INFO_PROP_ID);
  out.template_extension = ExtensionValue(cert, szOID_CERTIFICATE_TEMPLATE);
  out.template_name_extension = ExtensionValue(cert, szOID_ENROLL_CERTTYPE_EXTENSION);
  if (auto ext = DecodeTemplateExtension(out.template_extension)) {
    out.template_oid = ext->oid;
    out.template_major_version = ext->major_version;
    out.template_minor_version = ext->minor_version.value_or(0);
  }
  if (auto name = DecodeTemplateNameExtension(out.template_name_extension)) {
    out.template_name = *name;
  }
  return out;
}

StatusOr<UniqueCertContext> ContextFromDer(const std::vector<uint8_t>& der) {
  UniqueCertContext cert(CertCreateCertificateContext(
      X509_ASN_ENCODING, der.data(), static_cast<DWORD>(der.size())));
  if (!cert) return LastError("CertCreateCertificateContext", "");
  return cert;
}

// Appends the URLs CryptGetObjectUrl finds for `oid` (OK with none).
Status AppendObjectUrls(PCCERT_CONTEXT cert, LPCSTR oid, const char* what,
                        std::vector<std::string>* out) {
  DWORD size = 0;
  if (!CryptGetObjectUrl(oid, const_cast<CERT_CONTEXT*>(cert), CRYPT_GET_URL_FROM_EXTENSION,
                         nullptr, &size, nullptr, nullptr, nullptr)) {
    const DWORD error = GetLastError();
    // No such extension in this certificate.
    if (error == static_cast<DWORD>(CRYPT_E_NOT_FOUND) || error == ERROR_FILE_NOT_FOUND ||
        error == 0) {
      return Status();
    }
    return ApiError("CryptGetObjectUrl", what, error);
  }
  std::vector<uint64_t> buffer((size + sizeof(uint64_t) - 1) / sizeof(uint64_t) + 1);
  auto* urls = reinterpret_cast<CRYPT_URL_ARRAY*>(buffer.data());
  if (!CryptGetObjectUrl(oid, const_cast<CERT_CONTEXT*>(cert), CRYPT_GET_URL_FROM_EXTENSION, urls,
                         &size, nullptr, nullptr, nullptr)) {
    return LastError("CryptGetObjectUrl", what);
  }
  for (DWORD i = 0; i < urls->cUrl; ++i) out->push_back(WideToUtf8(urls->rgwszUrl[i]));
  return Status();
}

}  // namespace

std::string StoreDisplayName(StoreLocation location, std::string_view store) {
  return std::string(location == StoreLocation::kLocalMachine ? "LocalMachine\\" : "CurrentUser\\") +
         std::string(store);
}

StatusOr<std::vector<StoreCertificate>> EnumerateSystemStore(StoreLocation location,
                                                             std::string_view store) {
  const std::wstring name = Utf8ToWide(store);
  const DWORD flags = (location == StoreLocation::kLocalMachine ? CERT_SYSTEM_STORE_LOCAL_MACHINE
                                                                : CERT_SYSTEM_STORE_CURRENT_USER) |
                      CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG |
                      CERT_STORE_ENUM_ARCHIVED_FLAG;
  UniqueCertStore handle(
      CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, flags, name.c_str()));
  if (!handle) return LastError("CertOpenStore", StoreDisplayName(location, store));

  std::vector<StoreCertificate> certificates;
  // CertEnumCertificatesInStore frees the previous context it is given and
  // returns a new one; the owner takes each in turn.
  PCCERT_CONTEXT previous = nullptr;
  while (PCCERT_CONTEXT cert = CertEnumCertificatesInStore(handle.get(), previous)) {
    certificates.push_back(Describe(cert));
    previous = cert;
  }
  const DWORD error = GetLastError();
  if (error != static_cast<DWORD>(CRYPT_E_NOT_FOUND) && error != ERROR_NO_MORE_FILES &&
      error != 0) {
    return ApiError("CertEnumCertificatesInStore", StoreDisplayName(location, store), error);
  }
  return certificates;
}

StatusOr<ChainReport> VerifyChain(const std::vector<uint8_t>& der, const ChainOptions& options) {
  auto cert = ContextFromDer(der);
  if (!cert.ok()) return cert.status();

  CERT_CHAIN_PARA para{};
  para.cbSize = sizeof para;
  para.dwUrlRetrievalTimeout = static_cast<DWORD>(options.url_timeout.count());
  DWORD flags = CERT_CHAIN_REVOCATION_ACCUMULATIVE_TIMEOUT;
  if (options.check_revocation) flags |= CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT;
  if (options.cache_only) flags |= CERT_CHAIN_CACHE_ONLY_URL_RETRIEVAL;
  const HCERTCHAINENGINE engine = options.machine_engine ? HCCE_LOCAL_MACHINE : nullptr;

  UniqueChainContext chain;
  PCCERT_CHAIN_CONTEXT raw_chain = nullptr;
  if (!CertGetCertificateChain(engine, cert->get(), nullptr, nullptr, &para, flags, nullptr,
                               &raw_chain)) {
    return LastError("CertGetCertificateChain", "");
  }
  chain.reset(raw_chain);

  ChainReport report;
  report.error_status = chain.get()->TrustStatus.dwErrorStatus;
  report.info_status = chain.get()->TrustStatus.dwInfoStatus;
  if (chain.get()->cChain > 0) {
    const CERT_SIMPLE_CHAIN* simple = chain.get()->rgpChain[0];
    for (DWORD i = 0; i < simple->cElement; ++i) {
      const CERT_CHAIN_ELEMENT* element = simple->rgpElement[i];
      ChainElementStatus status;
      status.subject = NameToString(element->pCertContext->pCertInfo->Subject);
      status.error_status = element->TrustStatus.dwErrorStatus;
      status.info_status = element->TrustStatus.dwInfoStatus;
      if (element->pRevocationInfo != nullptr) {
        status.revocation_result = element->pRevocationInfo->dwRevocationResult;
        if (report.revocation_error == 0 && *status.revocation_result != 0) {
          report.revocation_error = *status.revocation_result;
        }
      }
      report.elements.push_back(std::move(status));
    }
  }

  CERT_CHAIN_POLICY_PARA policy_para{};
  policy_para.cbSize = sizeof policy_para;
  CERT_CHAIN_POLICY_STATUS policy_status{};
  policy_status.cbSize = sizeof policy_status;
  if (!CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_BASE, chain.get(), &policy_para,
                                        &policy_status)) {
    return LastError("CertVerifyCertificateChainPolicy", "CERT_CHAIN_POLICY_BASE");
  }
  report.policy_status = policy_status.dwError;
  return report;
}

StatusOr<CertificateUrls> GetCertificateUrls(const std::vector<uint8_t>& der) {
  auto cert = ContextFromDer(der);
  if (!cert.ok()) return cert.status();
  CertificateUrls urls;
  if (Status s = AppendObjectUrls(cert->get(), URL_OID_CERTIFICATE_CRL_DIST_POINT, "CDP",
                                  &urls.crl_distribution_points);
      !s.ok()) {
    return s;
  }
  if (Status s = AppendObjectUrls(cert->get(), URL_OID_CERTIFICATE_ISSUER, "AIA caIssuers",
                                  &urls.ca_issuers);
      !s.ok()) {
    return s;
  }
  if (Status s = AppendObjectUrls(cert->get(), URL_OID_CERTIFICATE_OCSP, "AIA OCSP", &urls.ocsp);
      !s.ok()) {
    return s;
  }
  return urls;
}

StatusOr<std::vector<std::vector<uint8_t>>> RetrieveUrl(std::string_view url,
                                                        std::chrono::milliseconds timeout,
                                                        bool allow_cache) {
  const std::wstring wide = Utf8ToWide(url);
  DWORD flags = allow_cache ? 0 : CRYPT_WIRE_ONLY_RETRIEVAL;
  void* object = nullptr;
  // No object OID: the raw bytes as a CRYPT_BLOB_ARRAY.
  if (!CryptRetrieveObjectByUrlW(wide.c_str(), nullptr, flags, static_cast<DWORD>(timeout.count()),
                                 &object, nullptr, nullptr, nullptr, nullptr)) {
    return LastError("CryptRetrieveObjectByUrlW", url);
  }
  UniqueCryptMemory<void*> owned(object);
  const auto* blobs = static_cast<const CRYPT_BLOB_ARRAY*>(object);
  std::vector<std::vector<uint8_t>> result;
  size_t total = 0;
  for (DWORD i = 0; blobs != nullptr && i < blobs->cBlob; ++i) {
    const CRYPT_DATA_BLOB& blob = blobs->rgBlob[i];
    result.emplace_back(blob.pbData, blob.pbData + blob.cbData);
    total += blob.cbData;
  }
  // No bytes is no object (wine reports a refused connection this way).
  if (total == 0) {
    return Status::Error(0x80092004u, "CryptRetrieveObjectByUrlW(" + std::string(url) +
                                          "): succeeded without data; " +
                                          DescribeError(0x80092004u));
  }
  return result;
}

}  // namespace pkiwatch::win
