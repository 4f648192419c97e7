package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
)

// methodGuard answers a request whose path is a REST route of the OpenAPI
// spec but whose method is not one the spec declares for it with 405 and an
// Allow header listing the declared methods (RFC 9110). Without it
// gRPC-Gateway either answers 405 without Allow or, worse, routes the
// request to another rule whose path parameter swallows the verb
// (PATCH /v1/strategies/x:stop reached UpdateStrategy with id "x:stop").
// Paths the spec does not have pass through (gRPC-Gateway's 404).
type methodGuard struct {
	routes []guardedRoute
	next   http.Handler
}

type guardedRoute struct {
	template string
	path     *regexp.Regexp
	methods  map[string]bool
}

// A path parameter never holds '/' or ':' (ids, symbols), so
// /v1/strategies/{id} does not match /v1/strategies/x:start.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// newMethodGuard reads the routes from the spec's "paths".
func newMethodGuard(spec []byte, next http.Handler) (*methodGuard, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("openapi spec: %w", err)
	}
	g := &methodGuard{next: next}
	for template, operations := range doc.Paths {
		var expr strings.Builder
		expr.WriteString("^")
		last := 0
		for _, loc := range pathParam.FindAllStringIndex(template, -1) {
			expr.WriteString(regexp.QuoteMeta(template[last:loc[0]]))
			expr.WriteString(`[^/:]+`)
			last = loc[1]
		}
		expr.WriteString(regexp.QuoteMeta(template[last:]))
		expr.WriteString("$")
		route := guardedRoute{template: template, path: regexp.MustCompile(expr.String()),
			methods: map[string]bool{}}
		for method := range operations {
			switch m := strings.ToUpper(method); m {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				route.methods[m] = true
			}
		}
		g.routes = append(g.routes, route)
	}
	sort.Slice(g.routes, func(i, j int) bool { return g.routes[i].template < g.routes[j].template })
	return g, nil
}

// allowed is the set of methods the spec declares for path, nil when no
// route of the spec matches it.
func (g *methodGuard) allowed(path string) map[string]bool {
	var out map[string]bool
	for _, route := range g.routes {
		if route.path.MatchString(path) {
			if out == nil {
				out = map[string]bool{}
			}
			for m := range route.methods {
				out[m] = true
			}
		}
	}
	return out
}

func (g *methodGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	methods := g.allowed(r.URL.Path)
	if methods == nil || methods[r.Method] {
		g.next.ServeHTTP(w, r)
		return
	}
	list := make([]string, 0, len(methods))
	for m := range methods {
		list = append(list, m)
	}
	sort.Strings(list)
	w.Header().Set("Allow", strings.Join(list, ", "))
	writeError(w, http.StatusMethodNotAllowed, codes.Unimplemented,
		fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(list, ", ")))
}
