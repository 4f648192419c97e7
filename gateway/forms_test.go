package main

// The JSON forms people type (jsonforms.go, marshaler.go), end to end
// through a real xctld: decimals as plain strings both ways, short enum
// names in bodies and queries, and the 400 that lists what is accepted.

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// decodeJSON parses body or fails the test.
func decodeJSON(t *testing.T, body string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, body)
	}
	return out
}

// path follows keys and list indexes ("order", "quantity") through v.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestDecimalsArePlainStringsBothWays(t *testing.T) {
	s := newServer(t)
	order := `{"strategy_id":"ext","symbol":"BTC-USDT","side":"SIDE_BUY","type":"ORDER_TYPE_MARKET","quantity":QTY}`
	for _, qty := range []string{`"1"`, `{"value":"1"}`, `1`, ` "2" `} {
		status, body := s.do(t, "POST", "/v1/orders", strings.Replace(order, "QTY", qty, 1))
		if status != 200 {
			t.Fatalf("quantity %s: %d %s", qty, status, body)
		}
		got := decodeJSON(t, body)
		want := strings.Trim(strings.TrimSpace(qty), `"`)
		if qty == `{"value":"1"}` {
			want = "1"
		}
		if q := path(got, "order", "quantity"); q != want {
			t.Errorf("quantity %s came back as %#v, want the string %q: %s", qty, q, want, body)
		}
		if p, ok := path(got, "order", "average_price").(string); !ok || p == "" {
			t.Errorf("average_price is not a plain string: %s", body)
		}
		if strings.Contains(body, `"value"`) {
			t.Errorf("a response still has a Decimal object: %s", body)
		}
	}
	// A JSON number keeps its digits as written: 1.5 reaches xctld as "1.5"
	// (refused or filled by xctld's own rules, never by the gateway).
	status, body := s.do(t, "POST", "/v1/orders", strings.Replace(order, "QTY", `0.0000000001`, 1))
	if status != 400 || !strings.Contains(body, `0.0000000001`) || !strings.Contains(body, `"field":"quantity"`) {
		t.Errorf("quantity 0.0000000001 (10 places) = %d %s, want xctld's 400 naming the field and the digits", status, body)
	}
	// Every Decimal of every response is a string: lists, nested, KPIs.
	for _, route := range []struct{ path, key string }{
		{"/v1/prices/BTC-USDT", `"bid":"`},
		{"/v1/instruments", `"lot_size":"`},
		{"/v1/strategies/ext/balance", `"equity":"`},
		{"/v1/strategies/ext/positions", `"quantity":"`},
		{"/v1/orders", `"quantity":"`},
		{"/v1/kpis", `"equity":"`},
	} {
		status, body := s.do(t, "GET", route.path, "")
		if status != 200 || !strings.Contains(body, route.key) || strings.Contains(body, `"value"`) {
			t.Errorf("GET %s = %d %s, want %s... and no Decimal object", route.path, status, body, route.key)
		}
	}
	// Decimals of the wrong JSON type: 400 INVALID_DECIMAL naming the field.
	status, body = s.do(t, "POST", "/v1/orders", strings.Replace(order, "QTY", `true`, 1))
	got := decodeJSON(t, body)
	if status != 400 || got["reason"] != "INVALID_DECIMAL" || !strings.HasPrefix(got["message"].(string), "quantity: not a decimal: true") {
		t.Errorf("quantity true = %d %s, want 400 INVALID_DECIMAL", status, body)
	}
	// A long value is cut in the message, which stays one line.
	status, body = s.do(t, "POST", "/v1/orders", strings.Replace(order, `"side":"SIDE_BUY"`, `"side":"`+strings.Repeat("é", 5000)+`\n"`, 1))
	if got := decodeJSON(t, body); status != 400 || got["reason"] != "UNKNOWN_ENUM_VALUE" || len(got["message"].(string)) > 200 {
		t.Errorf("a 10 kB side = %d %s, want 400 UNKNOWN_ENUM_VALUE with a short message", status, body)
	}
	// In a nested message: the TP/SL of an order.
	tpsl := `{"strategy_id":"ext","symbol":"ETH-USDT","side":"buy","type":"limit","quantity":"1","price":"1","take_profit":{"trigger_price":[1]}}`
	status, body = s.do(t, "POST", "/v1/orders", tpsl)
	if got := decodeJSON(t, body); status != 400 || got["reason"] != "INVALID_DECIMAL" ||
		!strings.Contains(body, `"field":"take_profit.trigger_price"`) {
		t.Errorf("take_profit.trigger_price [1] = %d %s, want 400 INVALID_DECIMAL naming the nested field", status, body)
	}
}

func TestDecimalsInStreamEventsArePlainStrings(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.http.URL+"/v1/stream/prices?pairs=BTC-USDT", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, data, err := readEvent(bufio.NewReader(resp.Body))
	if err != nil {
		t.Fatal(err)
	}
	bid, ok := path(decodeJSON(t, data), "snapshot", "ticks", 0, "bid").(string)
	if !ok || bid == "" || strings.Contains(data, `"value"`) {
		t.Fatalf("the snapshot's bid is not a plain string: %s", data)
	}
}

func TestShortEnumNamesInBodiesAndQueries(t *testing.T) {
	s := newServer(t)
	for _, side := range []string{`"buy"`, `"SELL"`, `"Buy"`, `"SIDE_SELL"`, `1`} {
		body := `{"strategy_id":"ext","symbol":"BTC-USDT","side":` + side + `,"type":"market","quantity":"1"}`
		status, out := s.do(t, "POST", "/v1/orders", body)
		if status != 200 || !strings.Contains(out, `"status":"ORDER_STATUS_FILLED"`) {
			t.Fatalf("side %s: %d %s", side, status, out)
		}
	}
	// Net position now long 1 (buy, sell, buy, sell, buy): close it, so
	// there is a closed row and an open-free book.
	if status, out := s.do(t, "POST", "/v1/positions:close", `{"strategy_id":"ext","symbol":"BTC-USDT"}`); status != 200 {
		t.Fatalf("close: %d %s", status, out)
	}
	for _, q := range []string{"closed", "CLOSED", "position_status_closed", "POSITION_STATUS_CLOSED", "2"} {
		status, out := s.do(t, "GET", "/v1/positions?status="+q, "")
		got := decodeJSON(t, out)
		positions, _ := got["positions"].([]any)
		if status != 200 || len(positions) == 0 {
			t.Fatalf("?status=%s = %d %s, want closed positions", q, status, out)
		}
		for _, p := range positions {
			if path(p, "status") != "POSITION_STATUS_CLOSED" {
				t.Errorf("?status=%s listed %v", q, p)
			}
		}
	}
	status, out := s.do(t, "GET", "/v1/strategies?status=running&mode=paper", "")
	if status != 200 || !strings.Contains(out, `"id":"ext"`) {
		t.Errorf("?status=running&mode=paper = %d %s", status, out)
	}
	status, out = s.do(t, "GET", "/v1/orders?status=filled&page_size=1", "")
	if status != 200 || !strings.Contains(out, `"status":"ORDER_STATUS_FILLED"`) {
		t.Errorf("/v1/orders?status=filled = %d %s", status, out)
	}
}

func TestUnknownEnumNamesListTheAcceptedOnes(t *testing.T) {
	s := newServer(t)
	cases := []struct {
		method, path, body, field, accepted, message string
	}{
		{"GET", "/v1/positions?status=done", "", "status", "open,closed",
			`status: unknown value "done"; accepted: open, closed (or POSITION_STATUS_OPEN, POSITION_STATUS_CLOSED)`},
		{"GET", "/v1/strategies?mode=demo", "", "mode", "paper,live",
			`mode: unknown value "demo"; accepted: paper, live (or TRADING_MODE_PAPER, TRADING_MODE_LIVE)`},
		{"POST", "/v1/orders", `{"strategy_id":"ext","symbol":"BTC-USDT","side":"long","type":"market","quantity":"1"}`,
			"side", "buy,sell", `side: unknown value "long"; accepted: buy, sell (or SIDE_BUY, SIDE_SELL)`},
		{"POST", "/v1/orders", `{"strategy_id":"ext","symbol":"BTC-USDT","side":"buy","type":"stop","quantity":"1"}`,
			"type", "market,limit,post_only,ioc,fok",
			`type: unknown value "stop"; accepted: market, limit, post_only, ioc, fok (or ORDER_TYPE_MARKET, ORDER_TYPE_LIMIT, ORDER_TYPE_POST_ONLY, ORDER_TYPE_IOC, ORDER_TYPE_FOK)`},
	}
	for _, c := range cases {
		status, body := s.do(t, c.method, c.path, c.body)
		got := decodeJSON(t, body)
		if status != 400 || got["code"] != float64(3) || got["reason"] != "UNKNOWN_ENUM_VALUE" || got["message"] != c.message {
			t.Errorf("%s %s = %d %s\nwant 400 UNKNOWN_ENUM_VALUE with message %s", c.method, c.path, status, body, c.message)
			continue
		}
		info := path(got, "details", 0)
		if path(info, "@type") != "type.googleapis.com/google.rpc.ErrorInfo" ||
			path(info, "metadata", "field") != c.field || path(info, "metadata", "accepted") != c.accepted {
			t.Errorf("%s %s: ErrorInfo %v, want field %s accepted %s", c.method, c.path, info, c.field, c.accepted)
		}
		if path(got, "details", 1, "fieldViolations", 0, "field") != c.field {
			t.Errorf("%s %s: no BadRequest naming %s: %s", c.method, c.path, c.field, body)
		}
	}
}

// The text of a valueError reads back as the same error (gRPC-Gateway
// passes only the text on).
func TestValueErrorTextRoundTrips(t *testing.T) {
	for _, e := range []*valueError{
		{Reason: reasonUnknownEnumValue, Field: "strategy.status", Value: `"a (b); accepted: c"`,
			Accepted: []string{"stopped", "running"}, FullNames: []string{"STRATEGY_STATUS_STOPPED", "STRATEGY_STATUS_RUNNING"}},
		{Reason: reasonInvalidDecimal, Field: "take_profit.trigger_price", Value: `{"x": [1; 2]}`},
	} {
		back := parseValueError(e.Error())
		if back == nil || back.Error() != e.Error() || back.Reason != e.Reason || back.Field != e.Field || back.Value != e.Value {
			t.Errorf("%q read back as %#v", e.Error(), back)
		}
	}
	for _, text := range []string{"quantity: must be greater than 0", `proto: unexpected token "1"`} {
		if parseValueError(text) != nil {
			t.Errorf("%q read as a valueError", text)
		}
	}
}
