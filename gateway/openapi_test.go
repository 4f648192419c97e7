package main

// The spec the gateway serves (openapi/main.go finishes it): the event
// streams and the health routes are in it, decimals are strings, enums list
// their short names; and the methods it declares are the only ones served.

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

func TestOpenAPIListsStreamsHealthAndPlainDecimals(t *testing.T) {
	s := newServer(t)
	status, body := s.do(t, "GET", "/openapi.json", "")
	if status != 200 {
		t.Fatalf("/openapi.json = %d", status)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Produces  []string `json:"produces"`
			Responses map[string]struct {
				EventData struct {
					Ref string `json:"$ref"`
				} `json:"x-event-data"`
			} `json:"responses"`
		} `json:"paths"`
		Definitions map[string]struct {
			Type string   `json:"type"`
			Enum []string `json:"enum"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal([]byte(body), &spec); err != nil {
		t.Fatal(err)
	}
	for path, event := range map[string]string{
		"/v1/stream/prices":    "#/definitions/v1StreamPricesResponse",
		"/v1/stream/positions": "#/definitions/v1StreamPositionsResponse",
		"/v1/stream/kpis":      "#/definitions/v1StreamKpisResponse",
	} {
		get, ok := spec.Paths[path]["get"]
		if !ok || !slices.Contains(get.Produces, "text/event-stream") || get.Responses["200"].EventData.Ref != event {
			t.Errorf("%s: %+v, want a GET producing text/event-stream of %s", path, spec.Paths[path], event)
		}
		if len(spec.Paths[path]) != 1 {
			t.Errorf("%s declares %d methods, want GET only", path, len(spec.Paths[path]))
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if _, ok := spec.Paths[path]["get"]; !ok {
			t.Errorf("no GET %s in the spec", path)
		}
	}
	if d := spec.Definitions["v1Decimal"]; d.Type != "string" {
		t.Errorf("v1Decimal is %+v, want type string", d)
	}
	if e := spec.Definitions["v1Side"].Enum; !slices.Contains(e, "buy") || !slices.Contains(e, "SIDE_BUY") {
		t.Errorf("v1Side enum %v, want the full and the short names", e)
	}
	// The methods the spec does not declare are 405 with Allow, here too.
	for _, path := range []string{"/healthz", "/readyz", "/v1/stream/kpis"} {
		req, _ := http.NewRequest("POST", s.http.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
			t.Errorf("POST %s = %d Allow %q, want 405 Allow GET", path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}
