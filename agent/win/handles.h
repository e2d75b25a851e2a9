// RAII owners for every Win32 handle kind the agent touches. One move-only
// owner type per resource kind, copy deleted; feature code never calls
// CloseHandle, RegCloseKey, Release or SysFreeString by hand.
#pragma once

#include <memory>
#include <utility>

#include "agent/win/status.h"
#include "agent/win/win32.h"

namespace pkiwatch::win {

// Owns one value of type T; Traits says which value means "nothing" and how
// to close. Not thread-safe (like unique_ptr).
template <typename T, typename Traits>
class UniqueResource {
 public:
  UniqueResource() = default;
  explicit UniqueResource(T value) : value_(value) {}
  ~UniqueResource() { reset(); }
  UniqueResource(UniqueResource&& other) noexcept : value_(other.release()) {}
  UniqueResource& operator=(UniqueResource&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueResource(const UniqueResource&) = delete;
  UniqueResource& operator=(const UniqueResource&) = delete;

  T get() const { return value_; }
  bool valid() const { return Traits::IsValid(value_); }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing.
  T release() {
    T value = value_;
    value_ = Traits::Invalid();
    return value;
  }
  void reset(T value = Traits::Invalid()) {
    if (Traits::IsValid(value_)) Traits::Close(value_);
    value_ = value;
  }
  // For out-parameters: closes the current value and returns its address.
  T* put() {
    reset();
    return &value_;
  }

 private:
  T value_ = Traits::Invalid();
};

namespace handle_traits {

template <typename T, T kInvalid, auto kClose>
struct Simple {
  static T Invalid() { return kInvalid; }
  static bool IsValid(T value) { return value != kInvalid; }
  static void Close(T value) { kClose(value); }
};

struct KernelHandle {
  static HANDLE Invalid() { return nullptr; }
  // Some APIs return NULL on failure, others INVALID_HANDLE_VALUE.
  static bool IsValid(HANDLE h) { return h != nullptr && h != INVALID_HANDLE_VALUE; }
  static void Close(HANDLE h) { CloseHandle(h); }
};

struct RegKey {
  static HKEY Invalid() { return nullptr; }
  static bool IsValid(HKEY h) { return h != nullptr; }
  static void Close(HKEY h) { RegCloseKey(h); }
};

struct CertStore {
  static HCERTSTORE Invalid() { return nullptr; }
  static bool IsValid(HCERTSTORE h) { return h != nullptr; }
  static void Close(HCERTSTORE h) { CertCloseStore(h, 0); }
};

template <typename P>
struct LocalMemory {
  static P Invalid() { return nullptr; }
  static bool IsValid(P p) { return p != nullptr; }
  static void Close(P p) { LocalFree(reinterpret_cast<HLOCAL>(p)); }
};

template <typename P>
struct GlobalMemory {
  static P Invalid() { return nullptr; }
  static bool IsValid(P p) { return p != nullptr; }
  static void Close(P p) { GlobalFree(reinterpret_cast<HGLOBAL>(p)); }
};

template <typename P>
struct CryptMemory {
  static P Invalid() { return nullptr; }
  static bool IsValid(P p) { return p != nullptr; }
  static void Close(P p) { CryptMemFree(p); }
};

inline void CloseEvt(EVT_HANDLE h) { EvtClose(h); }
inline void CloseSc(SC_HANDLE h) { CloseServiceHandle(h); }
inline void FreeCert(PCCERT_CONTEXT c) { CertFreeCertificateContext(c); }
inline void FreeChain(PCCERT_CHAIN_CONTEXT c) { CertFreeCertificateChain(c); }
inline void FreeNcrypt(NCRYPT_HANDLE h) { NCryptFreeObject(h); }
inline void CloseWinHttp(HINTERNET h) { WinHttpCloseHandle(h); }
inline void FreeBstr(BSTR s) { SysFreeString(s); }
inline void UnbindLdap(LDAP* ld) { ldap_unbind(ld); }
inline void FreeLdapMessage(LDAPMessage* message) { ldap_msgfree(message); }
inline void FreeLdapValues(PWCHAR* values) { ldap_value_freeW(values); }
inline void FreeLdapBinaryValues(berval** values) { ldap_value_free_len(values); }
inline void FreeLdapText(PWCHAR text) { ldap_memfreeW(text); }
inline void CloseSocket(SOCKET s) { closesocket(s); }
// Not "FreeAddrInfo": ws2tcpip.h defines that as a macro.
inline void ReleaseAddrInfo(ADDRINFOW* list) { FreeAddrInfoW(list); }

}  // namespace handle_traits

using UniqueHandle = UniqueResource<HANDLE, handle_traits::KernelHandle>;
using UniqueHkey = UniqueResource<HKEY, handle_traits::RegKey>;
using UniqueEvtHandle =
    UniqueResource<EVT_HANDLE, handle_traits::Simple<EVT_HANDLE, nullptr, handle_traits::CloseEvt>>;
using UniqueScHandle =
    UniqueResource<SC_HANDLE, handle_traits::Simple<SC_HANDLE, nullptr, handle_traits::CloseSc>>;
using UniqueCertStore = UniqueResource<HCERTSTORE, handle_traits::CertStore>;
using UniqueCertContext = UniqueResource<
    PCCERT_CONTEXT, handle_traits::Simple<PCCERT_CONTEXT, nullptr, handle_traits::FreeCert>>;
using UniqueChainContext =
    UniqueResource<PCCERT_CHAIN_CONTEXT,
                   handle_traits::Simple<PCCERT_CHAIN_CONTEXT, nullptr, handle_traits::FreeChain>>;
// Provider and key handles (both NCRYPT_HANDLE, freed by NCryptFreeObject).
using UniqueNcryptHandle = UniqueResource<
    NCRYPT_HANDLE, handle_traits::Simple<NCRYPT_HANDLE, NCRYPT_HANDLE{0}, handle_traits::FreeNcrypt>>;
using UniqueWinHttpHandle = UniqueResource<
    HINTERNET, handle_traits::Simple<HINTERNET, nullptr, handle_traits::CloseWinHttp>>;
using UniqueBstr =
    UniqueResource<BSTR, handle_traits::Simple<BSTR, nullptr, handle_traits::FreeBstr>>;
// wldap32: a session (ldap_unbind also frees a session that never bound),
// a search result, the value arrays of ldap_get_valuesW and
// ldap_get_values_lenW, and strings such as ldap_get_dnW's.
using UniqueLdap =
    UniqueResource<LDAP*, handle_traits::Simple<LDAP*, nullptr, handle_traits::UnbindLdap>>;
using UniqueLdapMessage = UniqueResource<
    LDAPMessage*, handle_traits::Simple<LDAPMessage*, nullptr, handle_traits::FreeLdapMessage>>;
using UniqueLdapValues =
    UniqueResource<PWCHAR*, handle_traits::Simple<PWCHAR*, nullptr, handle_traits::FreeLdapValues>>;
using UniqueLdapBinaryValues = UniqueResource<
    berval**, handle_traits::Simple<berval**, nullptr, handle_traits::FreeLdapBinaryValues>>;
using UniqueLdapText =
    UniqueResource<PWCHAR, handle_traits::Simple<PWCHAR, nullptr, handle_traits::FreeLdapText>>;
using UniqueSocket =
    UniqueResource<SOCKET, handle_traits::Simple<SOCKET, INVALID_SOCKET, handle_traits::CloseSocket>>;
// A GetAddrInfoW result list.
using UniqueAddrInfo =
    UniqueResource<ADDRINFOW*, handle_traits::Simple<ADDRINFOW*, nullptr, handle_traits::ReleaseAddrInfo>>;
template <typename P>
using UniqueLocalMemory = UniqueResource<P, handle_traits::LocalMemory<P>>;
template <typename P>
using UniqueGlobalMemory = UniqueResource<P, handle_traits::GlobalMemory<P>>;
template <typename P>
using UniqueCryptMemory = UniqueResource<P, handle_traits::CryptMemory<P>>;

// A BSTR copy of a UTF-8 string (empty on allocation failure).
UniqueBstr MakeBstr(std::string_view utf8);

// A VARIANT cleared (VariantClear) on destruction.
class UniqueVariant {
 public:
  UniqueVariant() { VariantInit(&value_); }
  ~UniqueVariant() { VariantClear(&value_); }
  UniqueVariant(const UniqueVariant&) = delete;
  UniqueVariant& operator=(const UniqueVariant&) = delete;

  const VARIANT& get() const { return value_; }
  VARIANT* get_mutable() { return &value_; }
  // For out-parameters: clears the current value first.
  VARIANT* put() {
    VariantClear(&value_);
    return &value_;
  }

 private:
  VARIANT value_;
};

// Owning COM interface pointer (AddRef on copy is not offered: move-only, so
// ownership is always obvious).
template <typename T>
class ComPtr {
 public:
  ComPtr() = default;
  ~ComPtr() { reset(); }
  ComPtr(ComPtr&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
  ComPtr& operator=(ComPtr&& other) noexcept {
    if (this != &other) {
      reset();
      ptr_ = std::exchange(other.ptr_, nullptr);
    }
    return *this;
  }
  ComPtr(const ComPtr&) = delete;
  ComPtr& operator=(const ComPtr&) = delete;

  T* get() const { return ptr_; }
  T* operator->() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }
  void reset() {
    if (ptr_ != nullptr) std::exchange(ptr_, nullptr)->Release();
  }
  // For out-parameters: releases the current pointer first.
  T** put() {
    reset();
    return &ptr_;
  }
  void** put_void() { return reinterpret_cast<void**>(put()); }

 private:
  T* ptr_ = nullptr;
};

// COM initialized on the calling thread for the owner's lifetime. Must be
// destroyed on the thread that created it.
class ComApartment {
 public:
  enum class Kind { kMultiThreaded, kSingleThreaded };

  // Also succeeds when the thread already has COM in the other apartment
  // kind (RPC_E_CHANGED_MODE): COM is usable then, and this owner does not
  // uninitialize what it did not initialize.
  static StatusOr<std::unique_ptr<ComApartment>> Enter(Kind kind = Kind::kMultiThreaded);
  ~ComApartment();
  ComApartment(const ComApartment&) = delete;
  ComApartment& operator=(const ComApartment&) = delete;

 private:
  explicit ComApartment(bool must_uninitialize) : must_uninitialize_(must_uninitialize) {}
  bool must_uninitialize_;
};

// Windows Sockets 2.2 initialized (WSAStartup) for the owner's lifetime;
// WSACleanup on destruction. Winsock counts these, so independent owners on
// any threads may overlap.
class WinsockScope {
 public:
  static StatusOr<std::unique_ptr<WinsockScope>> Enter();
  ~WinsockScope();
  WinsockScope(const WinsockScope&) = delete;
  WinsockScope& operator=(const WinsockScope&) = delete;

 private:
  WinsockScope() = default;
};

// Process-wide COM security: packet-privacy authentication and impersonation
// for outgoing calls (the CA's DCOM interface and the Task Scheduler need
// it). Call once after entering an apartment; a second call, or one after
// COM set defaults itself (RPC_E_TOO_LATE), is not an error.
Status InitializeComSecurity();

}  // namespace pkiwatch::win
