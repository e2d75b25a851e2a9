#pragma once

#include "pkiwatch/v1/config.pb.h"
#include "pkiwatch/v1/ingest.pb.h"

namespace pkiwatch::agent {

// What the collector needs to know about this host to place its findings:
// name, site, OS and proxy. The POSIX build reads uname/gethostname and the
// proxy environment; the Windows build (agent/win) reads the AD site and
// WinHTTP proxy.
v1::HostFacts CollectHostFacts(const v1::AgentConfig& config);

}  // namespace pkiwatch::agent
