#include "server/api/transport_security.h"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <utility>

#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/log.h"

namespace xctl::api {
namespace {

// A private key anyone on the machine can read is no secret.
absl::Status CheckKeyFileMode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return absl::OkStatus();  // reading reports it
  if ((st.st_mode & 077) == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "tls.key_file: %s is readable by group or others (mode %04o): run chmod 600 %s",
      LogQuote(path), st.st_mode & 07777, path));
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsConfig& tls) {
  if (tls.cert_file.empty()) return grpc::InsecureServerCredentials();
  if (absl::Status mode = CheckKeyFileMode(tls.key_file); !mode.ok()) return mode;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  for (auto [path, out] : {std::pair{&tls.cert_file, &pair.cert_chain},
                           {&tls.key_file, &pair.private_key}}) {
    std::ifstream in(*path, std::ios::binary);
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat("tls: cannot read ", LogQuote(*path)));
    }
    out->assign(std::istreambuf_iterator<char>(in), {});
  }
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back(std::move(pair));
  spdlog::info("event=tls_enabled cert_file={}", LogQuote(tls.cert_file));
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> ProbeCredentials(const TlsConfig& tls) {
  if (tls.cert_file.empty()) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace xctl::api
