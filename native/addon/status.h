// status.h — a core result carried across threads: the code and the
// details zb_last_error() gave on the thread that failed. No Node-API include here.
#ifndef ZEROBUFFER_ADDON_STATUS_H
#define ZEROBUFFER_ADDON_STATUS_H

#include <string>

#include "zerobuffer.h"

namespace zbnode {

struct Status {
  int code = 0;         // 0 or a negative ZB_E* code
  std::string message;  // zb_last_error() of the failing thread

  bool ok() const { return code == 0; }
  // Captures zb_last_error() now, on the thread that saw rc.
  static Status FromCore(int rc) {
    Status s;
    s.code = rc;
    if (rc < 0) {
      const char *detail = zb_last_error();
      s.message = detail != nullptr && *detail ? detail : zb_strerror(rc);
    }
    return s;
  }
  static Status Make(int rc, std::string message) {
    Status s;
    s.code = rc;
    s.message = std::move(message);
    return s;
  }
};

}  // namespace zbnode

#endif
