#pragma once
// The Prometheus exposition of the running service: what is in force, what failed, how fast,
// where the pods come from, and each container's IO counters and pressure, read at scrape time.
#include <string>

#include "daemon/service.h"

namespace iopslimit::daemon {

std::string renderMetrics(const Service& service);

}  // namespace iopslimit::daemon
