package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The method guard needs no xctld: it answers from the embedded spec, and
// passes what it allows to the next handler.
func TestMethodGuard(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	guard, err := newMethodGuard(openapiSpec, next)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/v1/orders", http.StatusTeapot, ""},
		{"POST", "/v1/orders", http.StatusTeapot, ""},
		{"PUT", "/v1/orders", 405, "GET, POST"},
		{"GET", "/v1/orders:cancel", 405, "POST"},
		{"TRACE", "/v1/kpis", 405, "GET"},
		{"PATCH", "/v1/strategies/demo", http.StatusTeapot, ""},
		{"POST", "/v1/strategies/demo", 405, "DELETE, GET, PATCH"},
		// The verb is not part of the id: only the stop route matches.
		{"PATCH", "/v1/strategies/demo:stop", 405, "POST"},
		{"POST", "/v1/strategies/demo:stop", http.StatusTeapot, ""},
		{"DELETE", "/v1/strategies/demo/balance", 405, "GET"},
		// Paths the spec does not have go on (gRPC-Gateway's 404).
		{"GET", "/v1/nothing", http.StatusTeapot, ""},
		{"GET", "/v1/strategies/a:b", http.StatusTeapot, ""},
		{"GET", "/v1/strategies/a/b/c", http.StatusTeapot, ""},
	} {
		rec := httptest.NewRecorder()
		guard.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status || rec.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s = %d Allow %q, want %d Allow %q", c.method, c.path, rec.Code,
				rec.Header().Get("Allow"), c.status, c.allow)
		}
		if rec.Code == 405 {
			var body struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != 12 ||
				rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("%s %s: body %q (%v), Content-Type %q", c.method, c.path, rec.Body.String(), err,
					rec.Header().Get("Content-Type"))
			}
		}
	}
}

// Error bodies are JSON whatever the message holds (Go's %q quoting is not).
func TestWriteErrorIsJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, 400, 3, "bad \x00\x7f\xff \u2028 \"quoted\"")
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
}
