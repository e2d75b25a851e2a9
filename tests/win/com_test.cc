#include <string>

#include "agent/win/certification_authority.h"
#include "agent/win/handles.h"
#include "gtest/gtest.h"

namespace pkiwatch::win {
namespace {

TEST(ComApartmentTest, EntersTwiceAndAcrossModels) {
  auto first = ComApartment::Enter();
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto nested = ComApartment::Enter();
  ASSERT_TRUE(nested.ok()) << nested.status().message();
  // The other model on the same thread: usable, not an error.
  auto other = ComApartment::Enter(ComApartment::Kind::kSingleThreaded);
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_TRUE(InitializeComSecurity().ok());
  EXPECT_TRUE(InitializeComSecurity().ok());  // again: RPC_E_TOO_LATE is fine
}

TEST(BstrTest, RoundTripsUtf8) {
  UniqueBstr bstr = MakeBstr("host\\CA \xC3\xA4");
  ASSERT_TRUE(bstr);
  EXPECT_EQ(SysStringLen(bstr.get()), 9u);
}

// The DCOM path to a CA: under wine certcli is not registered, on a host
// without this CA the RPC fails. Either way a failure HRESULT and a message
// naming the call, never a crash or hang.
TEST(CertificationAuthorityTest, UnreachableCaGivesACleanError) {
  auto com = ComApartment::Enter();
  ASSERT_TRUE(com.ok());
  auto name = GetCaName("pkiwatch-no-such-host.invalid\\No Such CA");
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.status().hresult() & 0x80000000u, 0u) << name.status().message();
  const std::string& message = name.status().message();
  EXPECT_TRUE(message.rfind("CoCreateInstance(CLSID_CCertRequest)", 0) == 0 ||
              message.rfind("ICertRequest2::GetCAProperty(CR_PROP_CANAME)", 0) == 0)
      << message;
}

}  // namespace
}  // namespace pkiwatch::win
