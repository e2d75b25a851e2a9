// The enrollment path to an enterprise CA over DCOM, as `certutil -ping` and
// the autoenrollment guide test it: ICertRequest2::GetCAProperty(config,
// CR_PROP_CANAME). Success means RPC/DCOM, authentication and the CA service
// all work; the HRESULT of a failure is the one autoenrollment would see
// (RPC_S_SERVER_UNAVAILABLE 0x800706BA, E_ACCESSDENIED, ...).
#pragma once

#include <string>
#include <string_view>

#include "agent/win/status.h"

namespace pkiwatch::win {

// `config` is "host\CA common name". Returns the CA's name as the CA
// reports it. Needs COM initialized on the calling thread (ComApartment).
// When certcli is not registered (not a Windows client; wine), the error is
// CoCreateInstance's REGDB_E_CLASSNOTREG.
StatusOr<std::string> GetCaName(std::string_view config);

}  // namespace pkiwatch::win
