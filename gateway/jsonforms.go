package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The JSON forms people type, rewritten to and from protojson's by walking
// the message descriptors (the proto wire format is unchanged):
//
//   - Decimal (xctl.v1.Decimal) is a plain JSON string, "1.5", both ways; a
//     request may also send a JSON number (1.5, its digits kept as written)
//     or the protojson object {"value":"1.5"}.
//   - An enum in a request may be its short lower-case name ("buy" for
//     SIDE_BUY, "post_only" for ORDER_TYPE_POST_ONLY), in any letter case,
//     besides its full name or number; responses keep the full names.
//
// Keys keep their order and every other value its bytes, so what protojson
// would say about the rest of a request (unknown fields, bad types) is said
// as before.

// decimalMessage is the proto message carried as a plain JSON string.
const decimalMessage protoreflect.FullName = "xctl.v1.Decimal"

// jsonRewriter rewrites the JSON of a message; decimal and enum are applied
// to every Decimal and enum value in it (nil: left as is).
type jsonRewriter struct {
	decimal func(raw json.RawMessage, field string) (json.RawMessage, error)
	enum    func(ed protoreflect.EnumDescriptor, raw json.RawMessage, field string) (json.RawMessage, error)
}

// requestForms turns what people type into protojson's forms.
var requestForms = jsonRewriter{decimal: decimalFromJSON, enum: enumFromJSON}

// responseForms turns protojson's Decimal objects into plain strings.
var responseForms = jsonRewriter{decimal: decimalToJSON}

// message rewrites raw, the JSON of a message of type md; field is the path
// of the message in the request ("" at the top, "strategy." inside).
func (w jsonRewriter) message(md protoreflect.MessageDescriptor, raw json.RawMessage, field string) (json.RawMessage, error) {
	return w.object(raw, func(key string, v json.RawMessage) (json.RawMessage, error) {
		if fd := fieldByKey(md, key); fd != nil {
			return w.field(fd, v, field+string(fd.Name()))
		}
		return v, nil
	})
}

// field rewrites the value of one field: each element of a list, each value
// of a map, or the single value.
func (w jsonRewriter) field(fd protoreflect.FieldDescriptor, raw json.RawMessage, field string) (json.RawMessage, error) {
	switch {
	case isNull(raw):
		return raw, nil
	case fd.IsMap():
		var values map[string]json.RawMessage
		if !w.touches(fd.MapValue()) || json.Unmarshal(raw, &values) != nil {
			return raw, nil
		}
		return w.object(raw, func(key string, v json.RawMessage) (json.RawMessage, error) {
			return w.value(fd.MapValue(), v, fmt.Sprintf("%s[%s]", field, key))
		})
	case fd.IsList():
		var items []json.RawMessage
		if !w.touches(fd) || json.Unmarshal(raw, &items) != nil {
			return raw, nil
		}
		for i, item := range items {
			v, err := w.value(fd, item, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			items[i] = v
		}
		return json.Marshal(items)
	}
	return w.value(fd, raw, field)
}

// value rewrites one value of fd's type.
func (w jsonRewriter) value(fd protoreflect.FieldDescriptor, raw json.RawMessage, field string) (json.RawMessage, error) {
	if isNull(raw) {
		return raw, nil
	}
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if w.enum != nil && fd.Enum().FullName() != "google.protobuf.NullValue" {
			return w.enum(fd.Enum(), raw, field)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := fd.Message()
		switch {
		case md.FullName() == decimalMessage:
			if w.decimal != nil {
				return w.decimal(raw, field)
			}
		case md.ParentFile().Package() == "google.protobuf":
			// Well-known types have JSON forms of their own (Timestamp,
			// FieldMask, Struct...): left to protojson.
		default:
			return w.message(md, raw, field+".")
		}
	}
	return raw, nil
}

// touches says whether fd's values can hold anything w rewrites (skips
// lists and maps of strings and numbers).
func (w jsonRewriter) touches(fd protoreflect.FieldDescriptor) bool {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		return w.enum != nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return true
	}
	return false
}

// object rewrites each value of a JSON object, keys in order; anything
// but an object (null, or a type error protojson reports), and malformed
// JSON (protojson says where), is returned as it is.
func (w jsonRewriter) object(raw json.RawMessage, each func(key string, v json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return raw, nil
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for n := 0; dec.More(); n++ {
		tok, err := dec.Token()
		if err != nil {
			return raw, nil
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return raw, nil
		}
		if v, err = each(key, v); err != nil {
			return nil, err
		}
		if n > 0 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(v)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// fieldByKey finds a field by the names protojson accepts: the proto name
// (strategy_id) or the JSON name (strategyId).
func fieldByKey(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByName(protoreflect.Name(key)); fd != nil {
		return fd
	}
	return md.Fields().ByJSONName(key)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// decimalFromJSON accepts "1.5", 1.5 and {"value":"1.5"} for a Decimal.
func decimalFromJSON(raw json.RawMessage, field string) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return raw, nil
	}
	switch raw[0] {
	case '{':
		return raw, nil
	case '"':
		return append(append([]byte(`{"value":`), raw...), '}'), nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		// A JSON number: its digits as written, so 0.1 stays "0.1" (the
		// server refuses exponents and more than 9 places, naming the field).
		s, _ := json.Marshal(string(raw))
		return append(append([]byte(`{"value":`), s...), '}'), nil
	}
	return nil, &valueError{Reason: reasonInvalidDecimal, Field: field, Value: shortened(string(raw))}
}

// shortened cuts a value quoted in an error message to 40 bytes and "...".
func shortened(s string) string {
	const most = 40
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// decimalToJSON turns {"value":"1.5"} into "1.5" ({} into "").
func decimalToJSON(raw json.RawMessage, field string) (json.RawMessage, error) {
	var d struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return raw, nil
	}
	return json.Marshal(d.Value)
}

// enumFromJSON accepts an enum's full name, short name (any letter case) or
// number; any other string is a valueError listing the accepted names.
func enumFromJSON(ed protoreflect.EnumDescriptor, raw json.RawMessage, field string) (json.RawMessage, error) {
	var name string
	if json.Unmarshal(raw, &name) != nil {
		return raw, nil // a number (or a type error protojson reports)
	}
	v := enumValueByName(ed, name)
	if v == nil {
		return nil, enumValueError(ed, field, name)
	}
	return json.Marshal(string(v.Name()))
}

// enumPrefix is what every value name of ed starts with: "SIDE_" from
// SIDE_UNSPECIFIED (the convention of every xctl enum), else the longest
// common prefix ending in '_'.
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	values := ed.Values()
	if values.Len() == 0 {
		return ""
	}
	if zero := values.ByNumber(0); zero != nil && strings.HasSuffix(string(zero.Name()), "_UNSPECIFIED") {
		return strings.TrimSuffix(string(zero.Name()), "UNSPECIFIED")
	}
	prefix := string(values.Get(0).Name())
	for i := 1; i < values.Len(); i++ {
		for !strings.HasPrefix(string(values.Get(i).Name()), prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	return prefix[:strings.LastIndex(prefix, "_")+1]
}

// enumShortName is v's name without the enum's prefix, in lower case:
// "buy" for SIDE_BUY.
func enumShortName(v protoreflect.EnumValueDescriptor) string {
	ed := v.Parent().(protoreflect.EnumDescriptor)
	return strings.ToLower(strings.TrimPrefix(string(v.Name()), enumPrefix(ed)))
}

// enumValueByName finds the value named name: full or short, any letter
// case, '-' for '_' ("post-only"); nil if none.
func enumValueByName(ed protoreflect.EnumDescriptor, name string) protoreflect.EnumValueDescriptor {
	if v := ed.Values().ByName(protoreflect.Name(name)); v != nil {
		return v
	}
	norm := strings.ReplaceAll(name, "-", "_")
	for i := 0; i < ed.Values().Len(); i++ {
		v := ed.Values().Get(i)
		if strings.EqualFold(string(v.Name()), norm) || strings.EqualFold(enumShortName(v), norm) {
			return v
		}
	}
	return nil
}

// enumValueError lists the short and full names of ed's values but the
// UNSPECIFIED one (which a request leaves out instead).
func enumValueError(ed protoreflect.EnumDescriptor, field, value string) *valueError {
	e := &valueError{Reason: reasonUnknownEnumValue, Field: field, Value: fmt.Sprintf("%q", shortened(value))}
	for i := 0; i < ed.Values().Len(); i++ {
		v := ed.Values().Get(i)
		if v.Number() == 0 && strings.HasSuffix(string(v.Name()), "_UNSPECIFIED") {
			continue
		}
		e.Accepted = append(e.Accepted, enumShortName(v))
		e.FullNames = append(e.FullNames, string(v.Name()))
	}
	return e
}
