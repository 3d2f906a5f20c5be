#pragma once
// The part of a kubeconfig that reaching the API server needs (e.g. the kubelet's own
// /etc/kubernetes/kubelet.conf): the current context's server, CA, client certificate and
// token. A small reader for the block-style YAML kubeconfigs are written in; flow collections
// other than the empty ones ({} and []) are not supported and are reported.
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/result.h"

namespace iopslimit::core {

// What a kubeconfig gives is exactly what the API server needs.
using KubeconfigCredentials = ApiServerConfig;

// text: the file's content; dir: its directory, for relative paths.
Result<KubeconfigCredentials> parseKubeconfig(std::string_view text, std::string_view dir);

// RFC 4648 base64 (whitespace ignored); error on anything else.
Result<std::string> decodeBase64(std::string_view in);

}  // namespace iopslimit::core
