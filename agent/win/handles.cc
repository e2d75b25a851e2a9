#include "agent/win/handles.h"

#include "agent/win/strings.h"

namespace pkiwatch::win {

UniqueBstr MakeBstr(std::string_view utf8) {
  const std::wstring wide = Utf8ToWide(utf8);
  return UniqueBstr(SysAllocStringLen(wide.data(), static_cast<UINT>(wide.size())));
}

StatusOr<std::unique_ptr<ComApartment>> ComApartment::Enter(Kind kind) {
  const DWORD model =
      kind == Kind::kMultiThreaded ? COINIT_MULTITHREADED : COINIT_APARTMENTTHREADED;
  const HRESULT hr = CoInitializeEx(nullptr, model);
  if (hr == RPC_E_CHANGED_MODE) return std::unique_ptr<ComApartment>(new ComApartment(false));
  if (FAILED(hr)) return ApiError("CoInitializeEx", "", static_cast<uint32_t>(hr));
  // S_OK and S_FALSE (already initialized in this model) both need a
  // matching CoUninitialize.
  return std::unique_ptr<ComApartment>(new ComApartment(true));
}

ComApartment::~ComApartment() {
  if (must_uninitialize_) CoUninitialize();
}

StatusOr<std::unique_ptr<WinsockScope>> WinsockScope::Enter() {
  WSADATA data;
  // WSAStartup returns its error instead of setting WSAGetLastError.
  const int rc = WSAStartup(MAKEWORD(2, 2), &data);
  if (rc != 0) return ApiError("WSAStartup", "2.2", static_cast<uint32_t>(rc));
  return std::unique_ptr<WinsockScope>(new WinsockScope());
}

WinsockScope::~WinsockScope() { WSACleanup(); }

Status InitializeComSecurity() {
  const HRESULT hr = CoInitializeSecurity(nullptr, -1, nullptr, nullptr,
                                          RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                                          RPC_C_IMP_LEVEL_IMPERSONATE, nullptr, EOAC_NONE, nullptr);
  if (SUCCEEDED(hr) || hr == RPC_E_TOO_LATE) return Status();
  return ApiError("CoInitializeSecurity", "", static_cast<uint32_t>(hr));
}

}  // namespace pkiwatch::win
