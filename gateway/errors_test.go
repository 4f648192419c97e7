package main

import (
	"strings"
	"testing"
)

// xctld's errors come through with their reason and details (docs/api.md,
// "Error reasons"): a field violation names the field, every error has an
// ErrorInfo in the xctl.dev domain.
func TestXctldErrorsCarryTheirReasonAndDetails(t *testing.T) {
	s := newServer(t)
	order := `{"strategy_id":"ext","symbol":"BTC-USDT","side":"SIDE_BUY","type":"ORDER_TYPE_MARKET","quantity":{"value":"-1"}}`
	status, body := s.do(t, "POST", "/v1/orders", order)
	for _, want := range []string{`"code":3`, `"reason":"INVALID_ARGUMENT"`,
		`"@type":"type.googleapis.com/google.rpc.ErrorInfo"`, `"domain":"xctl.dev"`,
		`"@type":"type.googleapis.com/google.rpc.BadRequest"`, `"field":"quantity"`} {
		if status != 400 || !strings.Contains(body, want) {
			t.Fatalf("POST /v1/orders with quantity -1 = %d %s, want 400 with %s", status, body, want)
		}
	}
}
