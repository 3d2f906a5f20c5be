#pragma once
// The Prometheus exposition of the running service: what is in force, what failed, how fast,
// where the pods come from, and each container's IO counters and pressure, read at scrape time.
#include <string>



namespace iopslimit::daemon {

class Daemon;

std::string renderMetrics(const Daemon& daemon);

}  // namespace iopslimit::daemon
