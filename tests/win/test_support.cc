#include "tests/win/test_support.h"

#include <atomic>
#include <fstream>
#include <iterator>

#include "agent/win/handles.h"
#include "agent/win/strings.h"

namespace pkiwatch::win::testing {

bool RunningUnderWine() {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

std::string WinePath(std::string_view unix_path) {
  if (unix_path.empty() || unix_path.front() != '/') return std::string(unix_path);
  std::string path = "Z:";
  for (char c : unix_path) path.push_back(c == '/' ? '\\' : c);
  return path;
}

std::string HttpFixtureDir() { return WinePath(PKIWATCH_WIN_TEST_DIR); }

std::optional<uint16_t> HttpFixturePort() {
  std::ifstream in(HttpFixtureDir() + "\\port");
  unsigned port = 0;
  if (!(in >> port) || port == 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

std::vector<uint8_t> ReadBinaryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string UniqueName(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "-" + std::to_string(GetCurrentProcessId()) + "-" +
         std::to_string(counter.fetch_add(1));
}

namespace {

// `registry`: the registry-backed physical store instead of the system
// store collection - deleting through the collection does not persist under
// wine.
StatusOr<UniqueCertStore> OpenStore(StoreLocation location, std::string_view store, bool create,
                                    bool registry = false) {
  const std::wstring name = Utf8ToWide(store);
  DWORD flags = location == StoreLocation::kLocalMachine ? CERT_SYSTEM_STORE_LOCAL_MACHINE
                                                         : CERT_SYSTEM_STORE_CURRENT_USER;
  flags |= create ? 0 : CERT_STORE_OPEN_EXISTING_FLAG;
  UniqueCertStore handle(CertOpenStore(
      registry ? CERT_STORE_PROV_SYSTEM_REGISTRY_W : CERT_STORE_PROV_SYSTEM_W, 0, 0,
      flags | CERT_STORE_ENUM_ARCHIVED_FLAG, name.c_str()));
  if (!handle) return LastError("CertOpenStore", StoreDisplayName(location, store));
  return handle;
}

}  // namespace

Status AddCertificateToStore(StoreLocation location, std::string_view store,
                             const std::vector<uint8_t>& der, bool archived) {
  auto handle = OpenStore(location, store, /*create=*/true);
  if (!handle.ok()) return handle.status();
  PCCERT_CONTEXT added = nullptr;
  if (!CertAddEncodedCertificateToStore(handle->get(), X509_ASN_ENCODING, der.data(),
                                        static_cast<DWORD>(der.size()),
                                        CERT_STORE_ADD_REPLACE_EXISTING, &added)) {
    return LastError("CertAddEncodedCertificateToStore", StoreDisplayName(location, store));
  }
  UniqueCertContext owned(added);
  if (archived) {
    // Any value marks a certificate archived; wine treats an empty blob as
    // "remove the property", so one byte is stored.
    BYTE marker = 0;
    CRYPT_DATA_BLOB value{1, &marker};
    if (!CertSetCertificateContextProperty(owned.get(), CERT_ARCHIVED_PROP_ID, 0, &value)) {
      return LastError("CertSetCertificateContextProperty(CERT_ARCHIVED_PROP_ID)", "");
    }
  }
  return Status();
}

Status RemoveCertificateFromStore(StoreLocation location, std::string_view store,
                                  std::string_view thumbprint) {
  auto handle = OpenStore(location, store, /*create=*/false, /*registry=*/true);
  if (!handle.ok()) {
    return handle.status().code() == StatusCode::kNotFound ? Status() : handle.status();
  }
  PCCERT_CONTEXT previous = nullptr;
  while (PCCERT_CONTEXT cert = CertEnumCertificatesInStore(handle->get(), previous)) {
    uint8_t hash[20];
    DWORD size = sizeof hash;
    if (CertGetCertificateContextProperty(cert, CERT_SHA1_HASH_PROP_ID, hash, &size) &&
        HexUpper(hash, size) == thumbprint) {
      // CertDeleteCertificateFromStore frees the context it is given.
      PCCERT_CONTEXT duplicate = CertDuplicateCertificateContext(cert);
      CertFreeCertificateContext(cert);
      if (!CertDeleteCertificateFromStore(duplicate)) {
        return LastError("CertDeleteCertificateFromStore", thumbprint);
      }
      return Status();
    }
    previous = cert;
  }
  return Status();
}

Status RemoveCertificatesBySubject(StoreLocation location, std::string_view store,
                                   std::string_view subject_part) {
  auto certificates = EnumerateSystemStore(location, store);
  if (!certificates.ok()) {
    return certificates.status().code() == StatusCode::kNotFound ? Status() : certificates.status();
  }
  for (const StoreCertificate& cert : *certificates) {
    if (cert.subject.find(subject_part) == std::string::npos) continue;
    if (Status s = RemoveCertificateFromStore(location, store, cert.thumbprint); !s.ok()) return s;
  }
  return Status();
}

Status DeleteSystemStore(StoreLocation location, std::string_view store) {
  const std::wstring name = Utf8ToWide(store);
  const DWORD flags = (location == StoreLocation::kLocalMachine ? CERT_SYSTEM_STORE_LOCAL_MACHINE
                                                                : CERT_SYSTEM_STORE_CURRENT_USER) |
                      CERT_STORE_DELETE_FLAG;
  // With CERT_STORE_DELETE_FLAG nothing is returned; success is last error 0.
  SetLastError(0);
  CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, flags, name.c_str());
  const DWORD error = GetLastError();
  if (error == 0 || error == ERROR_FILE_NOT_FOUND) return Status();
  return ApiError("CertOpenStore(CERT_STORE_DELETE_FLAG)", store, error);
}

std::string SimpleTaskXml(std::string_view description) {
  return std::string(
             "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n"
             "<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n"
             "  <RegistrationInfo><Description>") +
         std::string(description) +
         "</Description></RegistrationInfo>\n"
         "  <Settings><Enabled>true</Enabled><AllowStartOnDemand>true</AllowStartOnDemand>"
         "</Settings>\n"
         "  <Actions><Exec><Command>cmd.exe</Command><Arguments>/c exit 0</Arguments></Exec>"
         "</Actions>\n"
         "</Task>\n";
}

}  // namespace pkiwatch::win::testing
