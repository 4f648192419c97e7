#include "server/api/listen_queue.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"

namespace xctl::api {

int AcceptQueueLength(int port) {
  int total = 0;
  bool read_any = false;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(path);
    if (!in) continue;
    read_any = true;
    std::string line;
    std::getline(in, line);  // the header
    // "sl local_address rem_address st tx_queue:rx_queue ...", hex; for a
    // socket in LISTEN (st 0A) rx_queue is the accept queue's length.
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues;
      if (!(fields >> slot >> local >> remote >> state >> queues) || state != "0A") continue;
      const size_t colon = local.rfind(':');
      const size_t queue_colon = queues.find(':');
      if (colon == std::string::npos || queue_colon == std::string::npos) continue;
      int local_port = 0;
      int queued = 0;
      if (!absl::SimpleHexAtoi(local.substr(colon + 1), &local_port) || local_port != port ||
          !absl::SimpleHexAtoi(queues.substr(queue_colon + 1), &queued)) {
        continue;
      }
      total += queued;
    }
  }
  return read_any ? total : -1;
}

}  // namespace xctl::api
