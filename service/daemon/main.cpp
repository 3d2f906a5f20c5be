#include "daemon/daemon.h"

int main(int argc, char** argv) { return iopslimit::daemon::runDaemon(argc, argv); }
