// Command openapi finishes the spec protoc-gen-openapiv2 writes into what
// the gateway serves (run by gateway/generate.sh):
//
//   - v1Decimal is a plain string (the gateway's JSON form, marshaler.go);
//
//   - enums list their short names too ("buy" besides SIDE_BUY), in the
//     definitions and in query parameters;
//
//   - rpcStatus has the gateway's "reason";
//
//   - the stream routes are Server-Sent Events (text/event-stream, the
//     event's message in x-event-data);
//
//   - the paths and definitions of gateway_paths.json (/healthz, /readyz)
//     are added.
//
//     go run ./openapi GENERATED.json gateway_paths.json OUT.json
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: openapi GENERATED.json EXTRA.json OUT.json")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintf(os.Stderr, "openapi: %v\n", err)
		os.Exit(1)
	}
}

type object = map[string]any

func run(generated, extra, out string) error {
	raw, err := os.ReadFile(generated)
	if err != nil {
		return err
	}
	order, spec, err := readObject(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", generated, err)
	}
	extraRaw, err := os.ReadFile(extra)
	if err != nil {
		return err
	}
	var add object
	if err := json.Unmarshal(extraRaw, &add); err != nil {
		return fmt.Errorf("%s: %w", extra, err)
	}
	paths, _ := spec["paths"].(object)
	definitions, _ := spec["definitions"].(object)
	if paths == nil || definitions == nil {
		return fmt.Errorf("%s has no paths or definitions", generated)
	}
	if err := plainDecimal(definitions); err != nil {
		return err
	}
	shortEnums(definitions, paths)
	if status, ok := definitions["rpcStatus"].(object); ok {
		props, _ := status["properties"].(object)
		props["reason"] = object{"type": "string", "description": "Stable name of the error for programs " +
			"(docs/api.md, \"Error reasons\"; docs/gateway.md, \"Errors\")."}
	}
	if err := eventStreams(paths); err != nil {
		return err
	}
	for _, section := range []string{"paths", "definitions"} {
		into, _ := spec[section].(object)
		from, _ := add[section].(object)
		for k, v := range from {
			if _, taken := into[k]; taken {
				return fmt.Errorf("%s: %s %q is generated already", extra, section, k)
			}
			into[k] = v
		}
	}
	return os.WriteFile(out, writeObject(order, spec), 0o644)
}

// plainDecimal makes v1Decimal the string its value field was.
func plainDecimal(definitions object) error {
	d, _ := definitions["v1Decimal"].(object)
	value, _ := d["properties"].(object)["value"].(object)
	if value == nil {
		return fmt.Errorf("v1Decimal has no value property")
	}
	s := object{"type": "string", "description": fmt.Sprintf("%s\n\nIn JSON a plain string (\"64000.5\"): %s "+
		"Requests may also send a JSON number (64000.5, its digits as written) or {\"value\": \"64000.5\"}.",
		d["description"], value["description"])}
	for _, k := range []string{"pattern", "example"} {
		if v, ok := value[k]; ok {
			s[k] = v
		}
	}
	definitions["v1Decimal"] = s
	return nil
}

// shortEnums adds each enum's short names to every "enum" list: the
// definitions' and the query parameters'.
func shortEnums(definitions, paths object) {
	for _, v := range definitions {
		addShortNames(v.(object))
	}
	for _, p := range paths {
		for _, op := range p.(object) {
			params, _ := op.(object)["parameters"].([]any)
			for _, param := range params {
				param := param.(object)
				addShortNames(param)
				if items, ok := param["items"].(object); ok {
					addShortNames(items)
				}
			}
		}
	}
}

// addShortNames appends "buy", "sell" to an enum [SIDE_UNSPECIFIED,
// SIDE_BUY, SIDE_SELL] (the rule of gateway/jsonforms.go's enumShortName).
func addShortNames(schema object) {
	values, _ := schema["enum"].([]any)
	if len(values) == 0 {
		return
	}
	zero, _ := values[0].(string)
	if !strings.HasSuffix(zero, "_UNSPECIFIED") {
		return
	}
	prefix := strings.TrimSuffix(zero, "UNSPECIFIED")
	for _, v := range append([]any(nil), values...) {
		if name, ok := v.(string); ok && strings.HasPrefix(name, prefix) {
			values = append(values, strings.ToLower(strings.TrimPrefix(name, prefix)))
		}
	}
	schema["enum"] = values
}

// eventStreams turns the generated stream operations (/v1/stream/...) into
// Server-Sent Events: 200 is text/event-stream, each event's data the
// message in x-event-data.
func eventStreams(paths object) error {
	found := 0
	for path, p := range paths {
		if !strings.HasPrefix(path, "/v1/stream/") {
			continue
		}
		op, _ := p.(object)["get"].(object)
		responses, _ := op["responses"].(object)
		ok200, _ := responses["200"].(object)
		result, _ := ok200["schema"].(object)["properties"].(object)["result"].(object)
		if result == nil {
			return fmt.Errorf("%s: no streaming result to turn into events", path)
		}
		op["produces"] = []any{"text/event-stream", "application/json"}
		op["description"] = "Server-Sent Events (docs/gateway.md, \"Event streams\"): one `data: <JSON>` " +
			"event per message of the gRPC stream (x-event-data: a snapshot first, then updates, " +
			"heartbeats and status elements), and `event: end` with {\"code\", \"message\"} when it ends. " +
			"An error before the first event is a JSON error body."
		responses["200"] = object{
			"description":  "text/event-stream: each event's data is one x-event-data message as JSON.",
			"schema":       object{"type": "string"},
			"x-event-data": result,
		}
		found++
	}
	if found != 3 {
		return fmt.Errorf("%d stream paths in the generated spec, want 3 (xctl_http.yaml)", found)
	}
	return nil
}

// readObject decodes a JSON object and the order of its keys.
func readObject(raw []byte) ([]string, object, error) {
	var spec object
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	var order []string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		order = append(order, key.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, err
		}
	}
	return order, spec, nil
}

// writeObject writes spec with its top-level keys in order (the rest
// sorted, as encoding/json writes maps), indented by two spaces.
func writeObject(order []string, spec object) []byte {
	seen := map[string]bool{}
	keys := append([]string(nil), order...)
	for _, k := range order {
		seen[k] = true
	}
	var rest []string
	for k := range spec {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	keys = append(keys, rest...)
	var out bytes.Buffer
	out.WriteString("{\n")
	for i, k := range keys {
		name, _ := json.Marshal(k)
		value, _ := json.MarshalIndent(spec[k], "  ", "  ")
		fmt.Fprintf(&out, "  %s: %s", name, value)
		if i < len(keys)-1 {
			out.WriteByte(',')
		}
		out.WriteByte('\n')
	}
	out.WriteString("}\n")
	return out.Bytes()
}
