// Every native check of pkiwatch-diag, run once on the local machine:
// registry policy, the autoenrollment tasks, CryptSvc, automatic root
// update, WinHTTP proxy, the clock against its time source (SNTP), key
// providers, the machine's certificates (chain and revocation, CDP/AIA
// retrieval), CA reachability over DCOM, and the event parsers over the
// recent PKI events.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "agent/win/certificates.h"
#include "agent/win/diag_report.h"
#include "agent/win/enrollment_services.h"

namespace pkiwatch::win {

struct DiagOptions {
  // Folder of SystemTask/UserTask (tests point it at a test folder).
  std::string task_folder = "\\Microsoft\\Windows\\CertificateServicesClient";
  // CAs to ping ("host\CA name"); the Group Policy EnrollmentServices are
  // added.
  std::vector<std::string> ca_configs;
  // Where the enterprise CAs are looked up when none is configured
  // (default: a DC of this computer's domain).
  LdapTarget ca_discovery;
  StoreLocation store_location = StoreLocation::kLocalMachine;
  std::string store = "My";
  // Without network: chains use cached URLs only, no URL is fetched and the
  // clock is not measured.
  bool network = true;
  std::chrono::milliseconds url_timeout{10000};
  // Time source for the clock check ("host", "host:port", "[v6]:port");
  // empty: the first peer of W32Time's NtpServer.
  std::string ntp_server;
  std::chrono::milliseconds ntp_timeout{5000};
  size_t max_urls = 20;          // URLs fetched at most
  size_t max_certificates = 50;  // certificates checked at most
  bool key_providers = true;
  // Instead of the live event logs, parse the <Event> records of this file:
  // XML (EvtRender, evtxexport or Get-WinEvent output) or, for a name ending
  // in .evtx, an exported event log read with EvtQuery.
  std::string events_file;
  size_t max_events = 500;       // per channel
};

// Runs every check; never fails as a whole: a check that cannot run is an
// ERROR verdict naming the API and the code. Enters COM itself.
std::vector<DiagVerdict> RunDiagChecks(const DiagOptions& options);

}  // namespace pkiwatch::win
