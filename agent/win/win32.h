// The one header that includes <windows.h> (and the Win32 SDK headers the
// agent uses). Everything under agent/win includes this instead, so that the
// macros that change what <windows.h> declares are the same in every
// translation unit; portable code never includes it.
//
// Named win32.h rather than windows.h so that it cannot shadow the SDK
// header for anyone who puts agent/win on an include path.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef UNICODE
#define UNICODE
#endif
#ifndef _UNICODE
#define _UNICODE
#endif
// Windows 10 APIs and structures (EvtSubscribe, NCrypt, Task Scheduler 2.0
// need Vista; nothing newer than Windows 10 is used).
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00
#endif

// CERT_CHAIN_PARA with dwUrlRetrievalTimeout and the other fields added
// after Windows 2000 (the SDK hides them behind this macro).
#ifndef CERT_CHAIN_PARA_HAS_EXTRA_FIELDS
#define CERT_CHAIN_PARA_HAS_EXTRA_FIELDS
#endif

// Windows Sockets 2 before <windows.h>: the convention that keeps the old
// winsock.h out whatever else is included later.
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

// Order matters below: these need the types <windows.h> declared, and
// WIN32_LEAN_AND_MEAN left the COM and crypto headers out.
#include <objbase.h>
#include <oleauto.h>
#include <wincrypt.h>
#include <ncrypt.h>
#include <winhttp.h>
#include <winevt.h>
#include <winsvc.h>
#include <aclapi.h>
#include <sddl.h>
#include <taskschd.h>
#include <certcli.h>
#include <dsgetdc.h>
#include <lmcons.h>
#include <lmapibuf.h>
#include <lmjoin.h>
#include <winldap.h>
