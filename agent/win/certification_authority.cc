#include "agent/win/certification_authority.h"

#include "agent/win/handles.h"
#include "agent/win/strings.h"

namespace pkiwatch::win {
namespace {

// certcli.h declares these but no mingw-w64 import library defines them.
// Values from the Windows SDK's certcli.h (CCertRequest coclass and the
// ICertRequest2 interface).
constexpr CLSID kClsidCertRequest = {
    0x98aff3f0, 0x5524, 0x11d0, {0x88, 0x12, 0x00, 0xa0, 0xc9, 0x03, 0xb8, 0x3c}};
constexpr IID kIidCertRequest2 = {
    0xa4772988, 0x4a85, 0x4fa9, {0x82, 0x4e, 0xb5, 0xcf, 0x5c, 0x16, 0x40, 0x5a}};
// PROPTYPE_STRING from certsrv.h (the one constant needed from that header).
constexpr LONG kPropTypeString = 4;

}  // namespace

StatusOr<std::string> GetCaName(std::string_view config) {
  ComPtr<ICertRequest2> request;
  HRESULT hr = CoCreateInstance(kClsidCertRequest, nullptr, CLSCTX_INPROC_SERVER,
                                kIidCertRequest2, request.put_void());
  if (FAILED(hr)) return ApiError("CoCreateInstance", "CLSID_CCertRequest", hr);
  UniqueBstr config_string = MakeBstr(config);
  UniqueVariant value;
  hr = request->GetCAProperty(config_string.get(), CR_PROP_CANAME, 0, kPropTypeString, 0,
                              value.put());
  if (FAILED(hr)) return ApiError("ICertRequest2::GetCAProperty(CR_PROP_CANAME)", config, hr);
  if (value.get().vt != VT_BSTR) {
    return Status::Error(0x8000FFFFu, "ICertRequest2::GetCAProperty(CR_PROP_CANAME)(" +
                                          std::string(config) + "): returned VARIANT type " +
                                          std::to_string(value.get().vt) + ", expected VT_BSTR");
  }
  return WideToUtf8(std::wstring_view(value.get().bstrVal, SysStringLen(value.get().bstrVal)));
}

}  // namespace pkiwatch::win
