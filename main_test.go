package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/pgtest"
)

// These tests build the real binary and run it as a user would.

var binary string

// testBinaryEnv names a prebuilt hookhouse binary for the tests to run instead of building one.
const testBinaryEnv = "HOOKHOUSE_TEST_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(bareServerEnv) != "" {
		serveBare() // BenchmarkIngest's baseline, in a process of its own
		return
	}
	binary = os.Getenv(testBinaryEnv) // e.g. to compare two builds with BenchmarkIngest
	var buildDir string
	if binary == "" {
		var err error
		if buildDir, err = os.MkdirTemp("", "hookhouse-bin"); err != nil {
			panic(err)
		}
		binary = filepath.Join(buildDir, "hookhouse")
		if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := pgtest.Run(m)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// server is a running hookhouse process.
type server struct {
	cmd    *exec.Cmd
	URL    string
	log    string // the server's stderr, in a file as a deployed server's would be
	exited chan error
}

var listening = regexp.MustCompile(`addr"?[=:]"?(127\.0\.0\.1:\d+)`)

// startServer runs the hookhouse binary on a free port of 127.0.0.1 with its log in a file
// (no pipe for this process to drain while it is also the benchmark's client).
func startServer(t testing.TB, dataDir string, env ...string) *server {
	t.Helper()
	return startServerAt(t, "127.0.0.1:0", dataDir, env...)
}

// startServerAt runs the hookhouse binary like startServer, listening on addr.
func startServerAt(t testing.TB, addr, dataDir string, env ...string) *server {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), "server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(binary, "-addr", addr, "-data", dataDir)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, log: logFile.Name(), exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	for deadline := time.Now().Add(30 * time.Second); s.URL == ""; time.Sleep(5 * time.Millisecond) {
		if m := listening.FindStringSubmatch(s.logs()); m != nil {
			s.URL = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", s.logs())
		}
	}
	return s
}

func (s *server) logs() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, s.logs())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30s after SIGTERM:\n%s", s.logs())
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	out, err := exec.Command(binary, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v\n%s", err, out)
	}
	for _, want := range []string{"-addr", "HOOKHOUSE_ADDR", "-data", "HOOKHOUSE_DATA", "-public-url", "HOOKHOUSE_PUBLIC_URL",
		"-log-format", "HOOKHOUSE_LOG_FORMAT", "-log-level", "HOOKHOUSE_LOG_LEVEL", "-max-body-bytes", "HOOKHOUSE_MAX_BODY_BYTES", "HOOKHOUSE_ADMIN_EMAIL", "HOOKHOUSE_ADMIN_PASSWORD",
		"-max-columns", "HOOKHOUSE_MAX_COLUMNS", "-rate-limit", "HOOKHOUSE_RATE_LIMIT", "-rate-burst", "HOOKHOUSE_RATE_BURST",
		"-log-retention", "HOOKHOUSE_LOG_RETENTION", "-log-max-requests", "HOOKHOUSE_LOG_MAX_REQUESTS", "-metrics-token", "HOOKHOUSE_METRICS_TOKEN",
		"-read-header-timeout", "HOOKHOUSE_READ_HEADER_TIMEOUT", "-read-timeout", "HOOKHOUSE_READ_TIMEOUT",
		"-trusted-proxies", "HOOKHOUSE_TRUSTED_PROXIES", "-warehouse", "HOOKHOUSE_WAREHOUSE",
		"-max-inflight-body-bytes", "HOOKHOUSE_MAX_INFLIGHT_BODY_BYTES", "-log-max-bytes", "HOOKHOUSE_LOG_MAX_BYTES",
		"-dedup-window", "HOOKHOUSE_DEDUP_WINDOW", "HOOKHOUSE_SECRET_KEY", "-database", "HOOKHOUSE_DATABASE",
		"-shutdown-drain", "HOOKHOUSE_SHUTDOWN_DRAIN", "-idle-writer-timeout", "HOOKHOUSE_IDLE_WRITER_TIMEOUT"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("-h output lacks %s:\n%s", want, out)
		}
	}
}

func TestBadSettingsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"-log-format", "xml"}, {"-log-level", "loud"}, {"-public-url", "hooks.example.com"},
		{"-max-columns", "5000"}, {"-rate-limit", "-1"}, {"-rate-burst", "0"},
		{"-log-retention", "10s"}, {"-log-max-requests", "0"}, {"-read-timeout", "1s"},
		{"-trusted-proxies", "10.0.0.0/8,proxy.example"}, {"-max-inflight-body-bytes", "1000"}, {"-log-max-bytes", "1000"},
		{"-dedup-window", "10s"}, {"-database", "mysql://db.example.com/hooks"}, {"-shutdown-drain", "-1s"},
		{"-idle-writer-timeout", "10ms"}} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), args[0]) {
			t.Errorf("%v: err %v, output %q: want a failure naming the flag", args, err, out)
		}
	}
}

// HOOKHOUSE_ADMIN_* create the owner by the rules of the setup form: an account the form
// would refuse (a named address, a password past its limit) does not start hookhouse.
func TestHeadlessOwnerFollowsTheSetupFormsRules(t *testing.T) {
	const password = "HOOKHOUSE_ADMIN_PASSWORD=a long admin password"
	for _, tc := range []struct {
		env   []string
		names string
	}{
		{[]string{"HOOKHOUSE_ADMIN_EMAIL=Ops <ops@example.com>", password}, "HOOKHOUSE_ADMIN_EMAIL"},
		{[]string{"HOOKHOUSE_ADMIN_EMAIL=ops@", password}, "HOOKHOUSE_ADMIN_EMAIL"},
		{[]string{"HOOKHOUSE_ADMIN_EMAIL=ops@example.com", "HOOKHOUSE_ADMIN_PASSWORD=" + strings.Repeat("p", 1025)}, "HOOKHOUSE_ADMIN_PASSWORD"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // started, it would serve on
		cmd := exec.CommandContext(ctx, binary, "-addr", "127.0.0.1:0", "-data", t.TempDir())
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		started := ctx.Err() != nil
		cancel()
		if err == nil || started || !strings.Contains(string(out), tc.names) {
			t.Errorf("%.70q: err %v, output %q: want hookhouse to refuse it at start, naming %s", tc.env, err, out, tc.names)
		}
	}
}

// With -database the nodes share the metadata, so each must seal secrets with the operator's
// key: a node without HOOKHOUSE_SECRET_KEY does not start, and says why.
func TestSharedDatabaseNeedsTheSecretKey(t *testing.T) {
	cmd := exec.Command(binary, "-database", "postgres://hookhouse@db.example.com/hooks", "-data", t.TempDir())
	cmd.Env = append(os.Environ(), "HOOKHOUSE_SECRET_KEY=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-database needs HOOKHOUSE_SECRET_KEY") {
		t.Fatalf("started without the key: err %v, output %q", err, out)
	}
}

// Accepted webhook requests would flood the log at full rate: they get an access-log line only
// at -log-level debug. Refusals and dashboard pages always get one, the token always redacted.
func TestAcceptedWebhooksAreLoggedAtDebugOnly(t *testing.T) {
	accepted := regexp.MustCompile(`msg=request method=POST path=/v1/clients/1/token/… status=200`)
	refused := regexp.MustCompile(`msg=request method=POST path=/v1/clients/1/token/… status=401`)
	for _, level := range []string{"info", "debug"} {
		s := startServer(t, filepath.Join(t.TempDir(), "data"), append(adminEnv, "HOOKHOUSE_LOG_LEVEL="+level)...)
		hookURL := addIntegration(t, s, "vero", "Stitch Vero", "")
		for _, target := range []string{hookURL, hookURL + "0"} {
			resp, err := http.Post(target, "application/json", strings.NewReader(`{"type":"sent"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		s.stop(t)
		logs := s.logs()
		if got := accepted.MatchString(logs); got != (level == "debug") {
			t.Errorf("-log-level %s: the accepted webhook logged: %v, want %v\n%s", level, got, level == "debug", logs)
		}
		if !refused.MatchString(logs) || !strings.Contains(logs, "path=/integrations/new/vero status=200") {
			t.Errorf("-log-level %s: the refused webhook or the dashboard page is not logged:\n%s", level, logs)
		}
		if token := hookURL[strings.LastIndex(hookURL, "/")+1:]; strings.Contains(logs, token) {
			t.Errorf("-log-level %s: the token is in the log", level)
		}
	}
}

func TestHeadlessOwnerRestartAndGracefulShutdown(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env := []string{"HOOKHOUSE_ADMIN_EMAIL=ops@example.com", "HOOKHOUSE_ADMIN_PASSWORD=a long admin password", "HOOKHOUSE_LOG_FORMAT=json"}
	s := startServer(t, data, env...)
	if _, err := os.Stat(filepath.Join(data, "hookhouse.db")); err != nil {
		t.Fatalf("metadata database not created in the data folder: %v", err)
	}
	if resp, err := http.Get(s.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	if !signIn(t, s.URL, "ops@example.com", "a long admin password") {
		t.Fatal("the owner from HOOKHOUSE_ADMIN_* cannot sign in")
	}

	// A request in flight at SIGTERM still gets its answer: the login form's body arrives only
	// after the signal, and the server waits for it (a missing CSRF token makes it a 403).
	body, bodyWriter := io.Pipe()
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(s.URL+"/login", "application/x-www-form-urlencoded", body)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	bodyWriter.Write([]byte("email=a%40example.com"))
	time.Sleep(200 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	bodyWriter.Close()
	if status := <-answered; status != http.StatusForbidden {
		t.Fatalf("request in flight at SIGTERM: status %d, want the 403 for its missing CSRF token:\n%s", status, s.logs())
	}
	if err := <-s.exited; err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, s.logs())
	}
	if !strings.Contains(s.logs(), `"msg":"shutting down`) {
		t.Fatalf("no JSON shutdown log line:\n%s", s.logs())
	}

	// A second start on the same folder keeps the account and does not create another.
	s = startServer(t, data, "HOOKHOUSE_ADMIN_EMAIL=other@example.com", "HOOKHOUSE_ADMIN_PASSWORD=another long password")
	if !signIn(t, s.URL, "ops@example.com", "a long admin password") {
		t.Fatal("owner lost across restart")
	}
	if signIn(t, s.URL, "other@example.com", "another long password") {
		t.Fatal("HOOKHOUSE_ADMIN_* created a second account although one existed")
	}
	s.stop(t)
}

// The first visitor of an unclaimed server must not become its owner: /setup asks for the code
// each start writes to the data folder (never to the log), and the file goes once setup is done.
func TestSetupNeedsTheCodeFromTheDataFolder(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	file := filepath.Join(data, "setup-code")
	readCode := func() string {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("no setup code in the data folder: %v", err)
		}
		if info, _ := os.Stat(file); info.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v: others could read the code", file, info.Mode().Perm())
		}
		return strings.TrimSpace(string(b))
	}
	s := startServer(t, data)
	first := readCode()
	s.stop(t)
	if logs := s.logs(); !strings.Contains(logs, file) || strings.Contains(logs, first) {
		t.Fatalf("the log must name %s and not hold the code %s:\n%s", file, first, logs)
	}

	s = startServer(t, data)
	second := readCode()
	if second == first {
		t.Fatal("a restart kept the same setup code")
	}
	if status := postSetup(t, s.URL, first); status != http.StatusForbidden {
		t.Fatalf("the previous start's code: status %d, want 403", status)
	}
	if status := postSetup(t, s.URL, second); status != http.StatusSeeOther {
		t.Fatalf("the newest code: status %d, want 303 (the owner is created)", status)
	}
	if !signIn(t, s.URL, "ops@example.com", "a long admin password") {
		t.Fatal("the owner made with the setup code cannot sign in")
	}
	s.stop(t)

	s = startServer(t, data)
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the setup code file is still there once the owner exists: %v", err)
	}
	s.stop(t)
}

// postSetup posts the setup form with code, as a browser would, and returns the status.
func postSetup(t *testing.T, base, code string) int {
	t.Helper()
	c, csrf := formClient(t, base+"/setup")
	resp, err := c.PostForm(base+"/setup", url.Values{"code": {code}, "email": {"ops@example.com"}, "password": {"a long admin password"}, "_csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)

// signIn posts the login form as a browser would and reports whether it was accepted.
func signIn(t *testing.T, base, email, password string) bool {
	t.Helper()
	_, ok := signInClient(t, base, email, password)
	return ok
}

// signInClient signs in like signIn and returns the client holding the session cookie.
func signInClient(t testing.TB, base, email, password string) (*http.Client, bool) {
	t.Helper()
	c, csrf := formClient(t, base+"/login")
	resp, err := c.PostForm(base+"/login", url.Values{"email": {email}, "password": {password}, "_csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/integrations"
}

// formClient loads the form page as a browser would: a client that keeps its cookies and does
// not follow redirects, and the page's CSRF token.
func formClient(t testing.TB, page string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("%s (%d) has no CSRF field:\n%s", page, resp.StatusCode, body)
	}
	return c, string(m[1])
}
