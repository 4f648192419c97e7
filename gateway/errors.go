package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

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
	reasonUnknownEnumValue     = "UNKNOWN_ENUM_VALUE"     // 400: an enum name the field does not have (jsonforms.go)
	reasonInvalidDecimal       = "INVALID_DECIMAL"        // 400: a decimal that is neither a string, a number nor {"value"}
)

// valueError is a request value the gateway cannot read (jsonforms.go):
// an unknown enum name or a decimal of the wrong JSON type. gRPC-Gateway
// keeps only the text of a decoding error (status.Errorf("%v")), so the
// text carries everything and parseValueError reads it back.
type valueError struct {
	Reason    string
	Field     string   // the field's path, "side", "strategy.status"
	Value     string   // as sent: JSON, or the query parameter quoted
	Accepted  []string // short enum names ("buy", "sell")
	FullNames []string // the same values' full names ("SIDE_BUY", "SIDE_SELL")
}

// decimalForms is what a decimal field accepts.
const decimalForms = `a string ("1.5"), a number (1.5) or {"value":"1.5"}`

func (e *valueError) Error() string {
	if e.Reason == reasonInvalidDecimal {
		return fmt.Sprintf("%s: not a decimal: %s; accepted: %s", e.Field, e.Value, decimalForms)
	}
	return fmt.Sprintf("%s: unknown value %s; accepted: %s (or %s)", e.Field, e.Value,
		strings.Join(e.Accepted, ", "), strings.Join(e.FullNames, ", "))
}

var (
	enumErrorText    = regexp.MustCompile(`^(\S+): unknown value (".*"); accepted: ([^()]*) \(or ([^()]*)\)$`)
	decimalErrorText = regexp.MustCompile(`^(\S+): not a decimal: (.*); accepted: `)
)

// parseValueError reads back a valueError's text; nil for any other text.
func parseValueError(text string) *valueError {
	if m := enumErrorText.FindStringSubmatch(text); m != nil {
		return &valueError{Reason: reasonUnknownEnumValue, Field: m[1], Value: m[2],
			Accepted: strings.Split(m[3], ", "), FullNames: strings.Split(m[4], ", ")}
	}
	if m := decimalErrorText.FindStringSubmatch(text); m != nil {
		return &valueError{Reason: reasonInvalidDecimal, Field: m[1], Value: m[2]}
	}
	return nil
}

// status is e as xctld would send it: INVALID_ARGUMENT with an ErrorInfo
// (the reason; metadata field, value and, for enums, accepted: the short
// names, comma-separated) and a BadRequest naming the field.
func (e *valueError) status() *status.Status {
	metadata := map[string]string{"field": e.Field, "value": e.Value}
	if len(e.Accepted) > 0 {
		metadata["accepted"] = strings.Join(e.Accepted, ",")
	}
	st, err := status.New(codes.InvalidArgument, e.Error()).WithDetails(
		&errdetails.ErrorInfo{Reason: e.Reason, Domain: "xctl.dev", Metadata: metadata},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: e.Field, Description: e.Error()}}})
	if err != nil {
		return status.New(codes.InvalidArgument, e.Error())
	}
	return st
}

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
	if st.Code() == codes.InvalidArgument && len(st.Proto().GetDetails()) == 0 {
		if e := parseValueError(st.Message()); e != nil {
			st = e.status()
		}
	}
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
