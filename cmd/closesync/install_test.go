package main

import (
	"bufio"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

const (
	installBegin = "<!-- install:begin"
	installEnd   = "<!-- install:end -->"
	// dynamicUID is the first uid systemd hands a DynamicUser= service.
	dynamicUID = 61184
)

// readmeInstallBlock is the shell block between README's install markers.
func readmeInstallBlock(t *testing.T, readme string) string {
	t.Helper()
	s := mustRead(t, readme)
	i, j := strings.Index(s, installBegin), strings.Index(s, installEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q ... %q markers around the install steps", readme, installBegin, installEnd)
	}
	block := s[i:j]
	a, b := strings.Index(block, "```sh\n"), strings.LastIndex(block, "```")
	if a < 0 || b <= a {
		t.Fatalf("no ```sh block between README's install markers")
	}
	return block[a+len("```sh\n") : b]
}

// rooted rewrites the absolute paths of an install (/etc, /usr/local/bin,
// /var/lib, /run) into root.
func rooted(root, s string) string {
	re := regexp.MustCompile(`(^|[\s=:"'])/(etc|usr/local/bin|var/lib|run)(/|\s|$)`)
	return re.ReplaceAllString(s, "${1}"+root+"/${2}${3}")
}

// TestInstallAsREADMESays runs README's install block, word for word, into
// a temporary root (sudo, systemctl and the build are shell functions; the
// build puts this test binary in place), then starts the installed unit as
// systemd would on a machine where it is not PID 1 here: ExecStart as an
// unprivileged uid (a DynamicUser's) with the unit's credentials copied to
// $CREDENTIALS_DIRECTORY (0400, owned by that uid), its state directory,
// EnvironmentFile, NOTIFY_SOCKET and JOURNAL_STREAM. The daemon must report
// READY, sync the fake on loopback at startup (catch-up), reload on SIGHUP
// (re-reading the config as that uid), log no error and stop cleanly.
func TestInstallAsREADMESays(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the install and a daemon")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: installs files with owners and runs the daemon as another uid (CI runs as root)")
	}
	fake := closefake.New(closefake.Options{Seed: 61, Scale: 20})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	root := t.TempDir()
	// The uid must reach the root, as it reaches / on a real machine.
	for d := root; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"etc/systemd/system", "etc/default", "usr/local/bin", "var/lib", "run/systemd", "src/deploy/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The checkout the steps run in: what they install from it.
	src := filepath.Join(root, "src")
	files, _ := filepath.Glob("../../deploy/systemd/*")
	for _, f := range append(files, "../../config.example.yaml") {
		rel := strings.TrimPrefix(f, "../../")
		if err := os.WriteFile(filepath.Join(src, rel), []byte(mustRead(t, f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The state directory's database, and Close, are the fake's here.
	overrides := []string{
		"CLOSESYNC_DATABASE=" + root + "/var/lib/closesync/crm.duckdb",
		"CLOSESYNC_ACCOUNTS__0__BASE_URL=" + srv.URL + "/api/v1",
	}
	if err := os.WriteFile(filepath.Join(root, "etc/default/closesync"), []byte(strings.Join(overrides, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// 1. The steps, as README writes them.
	block := readmeInstallBlock(t, "../../README.md")
	script := `set -euo pipefail
sudo() { "$@"; }
go() {
	if [ "$*" != "build -o closesync ./cmd/closesync" ]; then echo "unexpected: go $*" >&2; return 1; fi
	cp "$TEST_BINARY" closesync
}
systemctl() { echo "$*" >> "$ROOT/systemctl.log"; }
journalctl() { :; }
` + rooted(root, block)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = src
	cmd.Env = append([]string{"PATH=" + root + "/usr/local/bin:" + os.Getenv("PATH"), "ROOT=" + root, "TEST_BINARY=" + exe,
		"TEST_CLOSESYNC_AS_MAIN=1", "GORACE=" + childRace, "CLOSE_API_KEY=" + closefake.DefaultAPIKey}, overrides...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README's install steps failed: %v\n%s\nsteps as run:\n%s", err, out, rooted(root, block))
	}
	if strings.Contains(string(out), closefake.DefaultAPIKey) {
		t.Errorf("the install printed the key:\n%s", out)
	}
	if got := mustRead(t, filepath.Join(root, "systemctl.log")); !strings.Contains(got, "daemon-reload\nenable --now closesync\n") {
		t.Fatalf("the steps do not daemon-reload and then enable --now closesync: %q", got)
	}

	// 2. systemd starts the unit they installed.
	unit := parseUnit(t, mustRead(t, filepath.Join(root, "etc/systemd/system/closesync.service")))
	svc := unit["Service"]
	if got := svc["DynamicUser"]; len(got) != 1 || got[0] != "yes" {
		t.Fatalf("the test emulates DynamicUser=yes; the unit says %q", got)
	}
	uid := uint32(dynamicUID)
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "USER=closesync", "LOGNAME=closesync",
		"SHELL=/usr/sbin/nologin", "INVOCATION_ID=0123456789abcdef0123456789abcdef",
		"TEST_CLOSESYNC_AS_MAIN=1", "GORACE=" + childRace} // makes this test binary act as closesync
	for _, d := range svc["StateDirectory"] {
		dir := filepath.Join(root, "var/lib", d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// systemd gives an existing tree to the service's uid.
		if err := filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(uid), int(uid))
		}); err != nil {
			t.Fatal(err)
		}
		env = append(env, "STATE_DIRECTORY="+dir)
	}
	for _, d := range svc["ConfigurationDirectory"] {
		dir := filepath.Join(root, "etc", d)
		mode := os.FileMode(0o755)
		if m := svc["ConfigurationDirectoryMode"]; len(m) == 1 {
			var v uint32
			fmt.Sscanf(m[0], "%o", &v)
			mode = os.FileMode(v)
		}
		// systemd creates it if missing and sets its mode; the owner stays root.
		if err := os.MkdirAll(dir, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		env = append(env, "CONFIGURATION_DIRECTORY="+dir)
	}
	creds := filepath.Join(root, "run/credentials/closesync.service")
	if err := os.MkdirAll(filepath.Dir(creds), 0o755); err != nil { // as /run/credentials
		t.Fatal(err)
	}
	if err := os.Mkdir(creds, 0o500); err != nil {
		t.Fatal(err)
	}
	for _, lc := range svc["LoadCredential"] {
		id, from, ok := strings.Cut(lc, ":")
		if !ok {
			t.Fatalf("LoadCredential=%s: no path", lc)
		}
		// systemd reads the source as root and hands the service a copy
		// only it can read.
		body, err := os.ReadFile(rooted(root, from))
		if err != nil {
			t.Fatalf("LoadCredential=%s: %v (the service would not start)", lc, err)
		}
		to := filepath.Join(creds, id)
		if err := os.WriteFile(to, body, 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(to, int(uid), int(uid)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(creds, int(uid), int(uid)); err != nil {
		t.Fatal(err)
	}
	env = append(env, "CREDENTIALS_DIRECTORY="+creds)
	for _, ef := range svc["EnvironmentFile"] {
		path := rooted(root, strings.TrimPrefix(ef, "-"))
		f, err := os.Open(path)
		if err != nil {
			if strings.HasPrefix(ef, "-") && os.IsNotExist(err) {
				continue
			}
			t.Fatalf("EnvironmentFile=%s: %v", ef, err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				env = append(env, l)
			}
		}
		f.Close()
	}
	ns := listenNotify(t)
	if err := os.Chmod(ns.path, 0o777); err != nil { // as /run/systemd/notify
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(ns.path), 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(env, "NOTIFY_SOCKET="+ns.path)
	journal, stream := streamFile(t)
	env = append(env, "JOURNAL_STREAM="+stream)

	if len(svc["ExecStart"]) != 1 {
		t.Fatalf("ExecStart=%q: want one", svc["ExecStart"])
	}
	argv := strings.Fields(rooted(root, svc["ExecStart"][0]))
	daemon := exec.Command(argv[0], argv[1:]...)
	daemon.Env = env
	if wd := svc["WorkingDirectory"]; len(wd) == 1 {
		daemon.Dir = rooted(root, wd[0])
	}
	daemon.Stdout, daemon.Stderr = journal, journal
	daemon.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	t.Cleanup(func() { daemon.Process.Kill(); <-exited })
	defer func() {
		if t.Failed() {
			t.Logf("notifications: %q\njournal:\n%s", ns.all(), mustRead(t, journal.Name()))
		}
	}()
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			select {
			case err := <-exited:
				exited <- err
				t.Fatalf("the service exited (%v) while waiting for %s", err, what)
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	has := func(s string) bool { return strings.Contains(strings.Join(ns.all(), "\n"), s) }
	wait("READY=1", func() bool { return has("READY=1") })
	// Startup catch-up: the job has never run, so it runs now.
	running := regexp.MustCompile(`^running job core \(report `)
	idle := regexp.MustCompile(`^idle; next run .* \(job core\)$`)
	wait("a finished startup run", func() bool {
		st := ns.statuses()
		for i, s := range st {
			if running.MatchString(s) {
				return idle.MatchString(st[len(st)-1]) && len(st) > i+1
			}
		}
		return false
	})
	// systemctl reload: the unprivileged uid re-reads the config.
	daemon.Process.Signal(syscall.SIGHUP)
	wait("a reload", func() bool { return has("RELOADING=1") && strings.Count(strings.Join(ns.all(), "\n"), "READY=1") >= 2 })
	daemon.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(45 * time.Second): // TimeoutStopSec
		t.Fatal("no exit within TimeoutStopSec")
	}

	t.Logf("STATUS values: %q", ns.statuses())
	logText := mustRead(t, journal.Name())
	if strings.Contains(logText, "<3>") || strings.Contains(logText, "reload failed") {
		t.Errorf("the service logged errors:\n%s", logText)
	}
	if strings.Contains(logText, closefake.DefaultAPIKey) {
		t.Errorf("the key reached the journal")
	}
	db := filepath.Join(root, "var/lib/closesync/crm.duckdb")
	st, err := os.Stat(db)
	if err != nil {
		t.Fatalf("no database in the state directory: %v", err)
	}
	if owner := st.Sys().(*syscall.Stat_t).Uid; owner != uid {
		t.Errorf("the database is owned by uid %d, want the service's %d", owner, uid)
	}
	h := &harness{t: t, db: db}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE status <> 'success'`); n != 0 {
		t.Errorf("%d runs did not succeed: %v", n, h.query(`SELECT report, status, error FROM sync.runs WHERE status <> 'success'`))
	}
	if got, want := h.count(`SELECT count(*) FROM close.leads`), int64(fake.Count("lead")); got != want {
		t.Errorf("close.leads has %d rows, the fake %d", got, want)
	}
}
