package main

import (
	"encoding/json"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// Error bodies have one shape: {"code": <gRPC code>, "reason": "...",
// "message": "..."}, plus "details" for xctld's errors. The reason is stable
// and made for programs to match on: for a request the gateway itself refuses
// before xctld sees it (guard.go, limits.go) one of the constants below, e.g.
// {"code": 7, "reason": "ORIGIN_NOT_ALLOWED", "message": "..."}; for xctld's
// errors the reason of its google.rpc.ErrorInfo (docs/api.md, "Error
// reasons"), with every detail xctld sent (ErrorInfo with BloFin's code,
// RetryInfo, BadRequest) in "details" as protojson objects.
type errorBody struct {
	Code    int               `json:"code"`
	Reason  string            `json:"reason,omitempty"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details,omitempty"`
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

// writeStatus answers with xctld's error st: its code (as the HTTP status
// gRPC-Gateway maps it to), message, reason and details.
func writeStatus(w http.ResponseWriter, httpStatus int, st *status.Status) {
	body := errorBody{Code: int(st.Code()), Message: st.Message()}
	for _, any := range st.Proto().GetDetails() {
		if b, err := protojson.Marshal(any); err == nil {
			body.Details = append(body.Details, b)
		}
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			body.Reason = info.GetReason()
		}
	}
	writeBody(w, httpStatus, body)
}
