package main

import (
	"bytes"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// restMarshaler is gRPC-Gateway's protojson marshaler with the forms of
// jsonforms.go: decimals as plain strings both ways, short enum names in
// requests. The event streams (events.go) marshal through it too.
type restMarshaler struct {
	runtime.JSONPb
}

func newRestMarshaler() *restMarshaler {
	return &restMarshaler{runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
}

// Marshal writes v as protojson with every Decimal a plain string.
func (m *restMarshaler) Marshal(v any) ([]byte, error) {
	b, err := m.JSONPb.Marshal(v)
	msg, ok := v.(proto.Message)
	if err != nil || !ok {
		return b, err
	}
	return responseForms.message(msg.ProtoReflect().Descriptor(), b, "")
}

// Unmarshal reads v from the forms people type (jsonforms.go).
func (m *restMarshaler) Unmarshal(data []byte, v any) error {
	msg, ok := v.(proto.Message)
	if !ok {
		return m.JSONPb.Unmarshal(data, v)
	}
	data, err := requestForms.message(msg.ProtoReflect().Descriptor(), data, "")
	if err != nil {
		return err
	}
	return m.JSONPb.Unmarshal(data, v)
}

// NewDecoder reads the whole body (limitBody bounds it) and unmarshals it;
// an empty body is io.EOF, which gRPC-Gateway takes as an empty request.
func (m *restMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return io.EOF
		}
		return m.Unmarshal(data, v)
	})
}

// NewEncoder writes each value as Marshal does.
func (m *restMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}

// queryParser is gRPC-Gateway's query parser taking short enum names too
// (?status=closed, ?side=BUY); an unknown name is a valueError listing the
// accepted ones.
type queryParser struct {
	runtime.DefaultQueryParser
}

// Parse rewrites enum values to their full names, then parses as usual.
func (p *queryParser) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	out := make(url.Values, len(values))
	for key, vs := range values {
		fd := queryField(msg.ProtoReflect().Descriptor(), key)
		if fd == nil || fd.Kind() != protoreflect.EnumKind {
			out[key] = vs
			continue
		}
		names := make([]string, len(vs))
		for i, v := range vs {
			names[i] = v
			if _, err := strconv.Atoi(v); err == nil || v == "" {
				continue
			}
			ev := enumValueByName(fd.Enum(), v)
			if ev == nil {
				return enumValueError(fd.Enum(), key, v)
			}
			names[i] = string(ev.Name())
		}
		out[key] = names
	}
	return p.DefaultQueryParser.Parse(msg, out, filter)
}

// queryField is the field a query key (a.b.c, proto or JSON names) names;
// nil for a key it does not (DefaultQueryParser says what is wrong).
func queryField(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	parts := strings.Split(key, ".")
	for i, part := range parts {
		fd := fieldByKey(md, part)
		if fd == nil {
			return nil
		}
		if i == len(parts)-1 {
			return fd
		}
		if fd.Message() == nil || fd.IsList() || fd.IsMap() {
			return nil
		}
		md = fd.Message()
	}
	return nil
}
