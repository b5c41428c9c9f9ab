package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

// port is only the socket file's name (.s.PGSQL.5432): the server listens on no TCP address and
// its socket folder is private, so no other server can collide with it, across restarts too.
const port = "5432"

// readyTimeout bounds a start, crash recovery included.
const readyTimeout = 30 * time.Second

// Cluster is a private PostgreSQL server run by the test process: a data folder and a Unix socket
// in a temporary folder. Its postmaster is a direct child of the test process and gets SIGQUIT
// (immediate shutdown) if the test process dies first, so it never outlives the tests.
type Cluster struct {
	bin  string              // folder holding initdb and postgres
	dir  string              // temporary folder: data/, the socket, postgres.log
	cred *syscall.Credential // the postgres system user's when running as root, else nil

	mu   sync.Mutex
	proc *process // nil while stopped
}

type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd.Wait has returned
	waitErr error
}

// NewCluster starts a dedicated cluster for a test that stops, kills or restarts PostgreSQL, so the
// shared one stays undisturbed; it is removed at the end of the test. It needs Debian's postgresql
// package even when HOOKHOUSE_TEST_POSTGRES is set.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := findBinaries()
	if bin == "" {
		skipOrFatal(t, "a dedicated PostgreSQL cluster needs initdb: "+installHint)
	}
	c, err := newCluster(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.destroy(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func newCluster(ctx context.Context, bin string) (*Cluster, error) {
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hookhouse-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, dir: dir, cred: cred}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", c.dataDir(), "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--locale=C.UTF-8")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	if err := c.Start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// URL is the connection string of database db on this cluster, for pgx.
func (c *Cluster) URL(db string) string {
	q := url.Values{"host": {c.dir}, "port": {port}, "sslmode": {"disable"}}
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + db, RawQuery: q.Encode()}
	return u.String()
}

// CreateDatabase creates a fresh, empty database and returns its URL. It goes with the cluster.
func (c *Cluster) CreateDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	name := newDatabaseName()
	if err := createDatabase(ctx, c.URL("postgres"), name); err != nil {
		t.Fatal(err)
	}
	return c.URL(name)
}

// Start starts the stopped cluster and waits until it accepts connections; after Kill that
// includes crash recovery.
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		select {
		case <-c.proc.exited: // it died on its own: start it again
		default:
			return errors.New("pgtest: cluster already running")
		}
	}
	log, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close() // the server writes to its own copy
	cmd := exec.Command(filepath.Join(c.bin, "postgres"),
		"-D", c.dataDir(), "-k", c.dir, "-p", port,
		"-c", "listen_addresses=",
		"-c", "fsync=on", // the default, stated: crash tests rely on it
		"-c", "max_connections=200",
		"-c", "shared_buffers=128MB",
	)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGQUIT}
	p, err := startProcess(cmd)
	if err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	if err := c.waitReady(ctx, p); err != nil {
		killErr := killAll(p)
		return errors.Join(fmt.Errorf("pgtest: %w\n%s", err, c.logTail()), killErr)
	}
	c.proc = p
	return nil
}

// startProcess starts cmd from a goroutine locked to its thread until cmd exits: the kernel sends
// Pdeathsig when the thread that forked the child ends, not the process, and Go may end threads.
func startProcess(cmd *exec.Cmd) (*process, error) {
	p := &process{cmd: cmd, exited: make(chan struct{})}
	started := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

func (c *Cluster) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-p.exited:
			return fmt.Errorf("postgres exited at start: %v", p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("postgres accepted no connection within %v: %v", readyTimeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop shuts the cluster down the fast way (sessions ended, a checkpoint written) and waits for
// it; if ctx ends first, it kills it. Stopping a stopped cluster does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proc
	if p == nil {
		return nil
	}
	c.proc = nil
	// SIGINT is PostgreSQL's fast shutdown; the postmaster exits after all its children.
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return errors.Join(err, killAll(p))
	}
	select {
	case <-p.exited:
		return nil
	case <-ctx.Done():
		return errors.Join(fmt.Errorf("pgtest: fast shutdown unfinished, killed: %w", ctx.Err()), killAll(p))
	}
}

// Kill crashes the cluster: the postmaster and every server process get SIGKILL at once, with no
// chance to write anything. What was committed must survive the next Start (crash recovery).
func (c *Cluster) Kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proc
	if p == nil {
		return nil
	}
	c.proc = nil
	return killAll(p)
}

// killAll kills the postmaster and its children and returns once none of them runs: a new
// postmaster refuses to start while an old process still holds the shared memory.
func killAll(p *process) error {
	// Stopped, the postmaster forks nothing between the listing and the kill, and reaps nothing,
	// so the listed pids stay its children's.
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		<-p.exited
		return nil // it had exited already, and its children with it
	}
	children := childPIDs(p.cmd.Process.Pid)
	for _, pid := range children {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	// As a child subreaper the test process inherits the orphans and can reap them below, rather
	// than leave zombies to an init that may reap late or never (containers).
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	deadline := time.Now().Add(readyTimeout)
	for _, pid := range children {
		for {
			syscall.Wait4(pid, nil, syscall.WNOHANG, nil) // fails harmlessly if it is not ours
			if !running(pid) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("pgtest: server process %d still running after SIGKILL", pid)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var children []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if fields := procStat(child); len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			children = append(children, child)
		}
	}
	return children
}

// running reports whether pid is alive: a zombie has released its memory already.
func running(pid int) bool {
	fields := procStat(pid)
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// procStat returns the fields of /proc/pid/stat after the command name (state, ppid, ...); the
// name is in parentheses and may hold spaces.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// destroy stops the cluster and removes its folder.
func (c *Cluster) destroy() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	err := c.Stop(ctx)
	return errors.Join(err, os.RemoveAll(c.dir))
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// logTail is the end of the server's log, for errors.
func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.logPath())
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	const max = 8 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "server log " + c.logPath() + ":\n" + string(b)
}

// serverCredential is who runs initdb and postgres: PostgreSQL refuses to run as root, so a root
// test process (as in CI) runs them as the postgres system user, like runuser -u postgres would,
// but keeps the postmaster its own child so it can signal and wait for it.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the postgres system user (%s): %w", installHint, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	// No Groups: root's supplementary groups are dropped.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// findBinaries returns the folder of the newest Debian PostgreSQL's initdb and postgres, else of
// those on PATH, else "".
func findBinaries() string {
	best, bestVersion := "", []int(nil)
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	for _, initdb := range matches {
		bin := filepath.Dir(initdb)
		version := parseVersion(filepath.Base(filepath.Dir(bin)))
		if hasPostgres(bin) && (best == "" || newer(version, bestVersion)) {
			best, bestVersion = bin, version
		}
	}
	if best != "" {
		return best
	}
	if initdb, err := exec.LookPath("initdb"); err == nil && hasPostgres(filepath.Dir(initdb)) {
		return filepath.Dir(initdb)
	}
	return ""
}

func hasPostgres(bin string) bool {
	_, err := os.Stat(filepath.Join(bin, "postgres"))
	return err == nil
}

// parseVersion reads "15" or "9.6" as numbers, so 10 sorts above 9.6.
func parseVersion(s string) []int {
	var v []int
	for _, part := range strings.Split(s, ".") {
		n, _ := strconv.Atoi(part)
		v = append(v, n)
	}
	return v
}

func newer(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return len(a) > len(b)
}
