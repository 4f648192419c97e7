package main

// The start rules (exposure.go), on the built binary: a --listen other
// machines can reach and a --grpc across a network in clear are refused with
// exit code 2 and one line; the flags are in --help.

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestStartRules(t *testing.T) {
	for _, c := range []struct {
		listen              string
		tls, remote, refuse bool
	}{
		{"127.0.0.1:8080", false, false, false},
		{"localhost:8080", false, false, false},
		{"[::1]:8080", false, false, false},
		{"127.0.0.1:0", false, false, false},
		{"0.0.0.0:8080", false, false, true},
		{":8080", false, false, true},
		{"[::]:8080", false, false, true},
		{"192.0.2.1:8080", false, false, true},
		{"0.0.0.0:8080", false, true, true},
		{"0.0.0.0:8080", true, false, true},
		{"0.0.0.0:8080", true, true, false},
		{"no-port", false, false, true},
	} {
		err := checkListen(c.listen, c.tls, c.remote)
		if (err != nil) != c.refuse {
			t.Errorf("--listen %s tls=%v allow-remote=%v: %v, want refused=%v", c.listen, c.tls, c.remote, err, c.refuse)
		}
	}
	for _, c := range []struct {
		target, ca string
		refuse     bool
	}{
		{"127.0.0.1:50051", "", false},
		{"localhost:50051", "", false},
		{"[::1]:50051", "", false},
		{"dns:///localhost:50051", "", false},
		{"dns:///127.0.0.1:50051", "", false},
		{"passthrough:///127.0.0.1:50051", "", false},
		{"unix:/run/xctl/grpc.sock", "", false},
		{"192.0.2.1:50051", "", true},
		{"10.0.0.5:50051", "", true},
		{"dns:///192.0.2.1:50051", "", true},
		{"dns://8.8.8.8/127.0.0.1:50051", "", false},
		{"xds:///xctld", "", true},
		{"xctld.invalid:50051", "", true}, // does not resolve: not known to be loopback
		{"192.0.2.1:50051", "/etc/xctl/ca.crt", false},
	} {
		err := checkUpstream(c.target, c.ca)
		if (err != nil) != c.refuse {
			t.Errorf("--grpc %s --grpc-ca %q: %v, want refused=%v", c.target, c.ca, err, c.refuse)
		}
	}
}

// buildGateway compiles this package into a temporary xctl-gateway.
func buildGateway(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "xctl-gateway")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runGateway runs the binary until it exits or, when it starts serving
// (writes its port file), stops it; it returns the exit code (-1: it
// served) and stderr.
func runGateway(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	portFile := filepath.Join(t.TempDir(), "port")
	// Metrics off unless args say otherwise (the last flag wins): the
	// default address is one per machine.
	cmd := exec.Command(bin, append(append([]string{"--metrics-listen="}, args...), "--port-file="+portFile)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return exit.ExitCode(), stderr.String()
			}
			if err != nil {
				t.Fatal(err)
			}
			return 0, stderr.String()
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("%v neither served nor exited", args)
		case <-time.After(50 * time.Millisecond):
			if _, err := os.Stat(portFile); err == nil {
				_ = cmd.Process.Signal(os.Interrupt)
				<-done
				return -1, stderr.String()
			}
		}
	}
}

func TestNonLoopbackListenAndClearUpstreamAreRefusedAtStart(t *testing.T) {
	bin := buildGateway(t)
	cert, key := selfSigned(t, t.TempDir())
	tls := []string{"--tls-cert=" + cert, "--tls-key=" + key}
	for _, c := range []struct {
		name string
		args []string
		want string // "" : it serves
	}{
		{"every interface", []string{"--listen=0.0.0.0:0"}, "reachable from other machines"},
		{"every interface, no host", []string{"--listen=:0"}, "reachable from other machines"},
		{"every IPv6 interface", []string{"--listen=[::]:0"}, "reachable from other machines"},
		{"--allow-remote without TLS", []string{"--listen=0.0.0.0:0", "--allow-remote"}, "--tls-cert"},
		{"TLS without --allow-remote", append([]string{"--listen=0.0.0.0:0"}, tls...), "--allow-remote"},
		{"TLS and --allow-remote", append([]string{"--listen=0.0.0.0:0", "--allow-remote"}, tls...), ""},
		{"loopback", []string{"--listen=127.0.0.1:0"}, ""},
		{"remote xctld in clear", []string{"--listen=127.0.0.1:0", "--grpc=192.0.2.1:50051"}, "--grpc-ca"},
		{"remote xctld over TLS", []string{"--listen=127.0.0.1:0", "--grpc=192.0.2.1:50051", "--grpc-ca=" + cert}, ""},
		{"stream cap above the connection cap", []string{"--listen=127.0.0.1:0", "--max-streams=10", "--max-conns=10"}, "--max-conns"},
		{"a bad allowed host", []string{"--listen=127.0.0.1:0", "--allowed-hosts=evil.example/x"}, "allowed host"},
	} {
		code, stderr := runGateway(t, bin, c.args...)
		if c.want == "" {
			if code != -1 {
				t.Errorf("%s: exit %d, want it to serve: %s", c.name, code, stderr)
			}
			continue
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "xctl-gateway: ") ||
			!strings.Contains(lines[0], c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line with %q", c.name, code, stderr, c.want)
		}
	}
}

func TestHelpListsTheFlags(t *testing.T) {
	out, err := exec.Command(buildGateway(t), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	for _, flag := range []string{"-allowed-hosts", "-allowed-origins", "-allow-remote", "-max-streams",
		"-max-conns", "-read-header-timeout", "-read-timeout", "-write-timeout", "-idle-timeout",
		"-stream-write-timeout", `default "localhost,127.0.0.1,[::1]"`, "default 256", "default 1024"} {
		if !strings.Contains(string(out), flag) {
			t.Errorf("--help does not mention %s:\n%s", flag, out)
		}
	}
}
