package main

import (
	"encoding/json"
	"net/http"

	"google.golang.org/grpc/codes"
)

// Error bodies have one shape, gRPC-Gateway's: {"code": <gRPC code>,
// "message": "..."}. A request the gateway itself refuses before xctld sees
// it (guard.go, limits.go) also carries a stable "reason" a client can match
// on, e.g. {"code": 7, "reason": "ORIGIN_NOT_ALLOWED", "message": "..."}.
type errorBody struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
}

// The reasons of the gateway's own refusals (docs/gateway.md, docs/security.md).
const (
	reasonHostNotAllowed       = "HOST_NOT_ALLOWED"       // 403: Host is not an --allowed-hosts name
	reasonOriginNotAllowed     = "ORIGIN_NOT_ALLOWED"     // 403: Origin is not an allowed origin
	reasonCrossSite            = "CROSS_SITE_REQUEST"     // 403: Sec-Fetch-Site: cross-site
	reasonUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE" // 415: a body that is not application/json
	reasonTooManyStreams       = "TOO_MANY_STREAMS"       // 503: --max-streams event streams are open
)

// writeError answers like gRPC-Gateway's errors: {"code","message"}.
func writeError(w http.ResponseWriter, httpStatus int, code codes.Code, message string) {
	writeBody(w, httpStatus, errorBody{Code: int(code), Message: message})
}

// writeRefusal is writeError with a reason.
func writeRefusal(w http.ResponseWriter, httpStatus int, code codes.Code, reason, message string) {
	writeBody(w, httpStatus, errorBody{Code: int(code), Reason: reason, Message: message})
}

func writeBody(w http.ResponseWriter, httpStatus int, body errorBody) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	// encoding/json, not %q: Go's quoting (\x00) is not JSON.
	b, _ := json.Marshal(body)
	_, _ = w.Write(b)
}
