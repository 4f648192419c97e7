// Transport security of xctld's gRPC port (docs/security.md, "Encryption in transit: TLS"):
// the server credentials from the TLS config, with the private key file's
// mode checked, and matching credentials for the listener watchdog's probe.
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "server/config/config.h"

namespace xctl::api {

// TLS when `tls` names a certificate and key (PEM), else plaintext. Refuses
// a key file readable by group or others (mode & 077), naming the file and
// the `chmod 600` that fixes it, and files that cannot be read.
[[nodiscard]] absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsConfig& tls);

// Credentials for a health call to xctld's own port: plaintext, or TLS that
// does not verify the certificate (the probe only asks whether the listener
// accepts; it sends no token and reads nothing secret).
std::shared_ptr<grpc::ChannelCredentials> ProbeCredentials(const TlsConfig& tls);

}  // namespace xctl::api
