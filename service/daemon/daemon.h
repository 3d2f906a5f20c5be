#pragma once
namespace iopslimit::daemon {
// Parses the command line and environment, wires the parts together and runs.
int runDaemon(int argc, char** argv);
}  // namespace iopslimit::daemon
