package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

const unitPath = "../../deploy/systemd/closesync.service"

// builtUnit writes the shipped unit with ExecStart pointed at an existing
// executable (this test binary: systemd-analyze checks that ExecStart
// exists, it does not run it) and returns its path and text.
func builtUnit(t *testing.T) (path, text string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text = strings.ReplaceAll(mustRead(t, unitPath), "/usr/local/bin/closesync", exe)
	path = filepath.Join(t.TempDir(), "closesync.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, text
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the shipped unit.
// Any complaint fails.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	path, _ := builtUnit(t)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdUnitSettings checks the settings the install depends on: a bad
// config (exit 2) is not restarted, restarts are bounded, the config
// directory is readable by the dynamic user, and the key is a credential
// from the directory README's validate step names.
func TestSystemdUnitSettings(t *testing.T) {
	u := parseUnit(t, mustRead(t, unitPath))
	for _, c := range []struct{ section, key, want string }{
		{"Service", "Type", "notify"},
		{"Service", "ExecReload", "/bin/kill -HUP $MAINPID"},
		{"Service", "Restart", "on-failure"},
		{"Service", "RestartPreventExitStatus", "2"},
		{"Unit", "StartLimitBurst", "5"},
		{"Unit", "StartLimitIntervalSec", "10min"},
		{"Service", "DynamicUser", "yes"},
		{"Service", "StateDirectory", "closesync"},
		{"Service", "ConfigurationDirectory", "closesync"},
		{"Service", "ConfigurationDirectoryMode", "0755"},
		{"Service", "LoadCredential", "close:/etc/closesync/credentials/close"},
		{"Service", "ExecStart", "/usr/local/bin/closesync run --config /etc/closesync/config.yaml"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "NoNewPrivileges", "yes"},
	} {
		if got := u[c.section][c.key]; len(got) != 1 || got[0] != c.want {
			t.Errorf("[%s] %s = %q, want %q", c.section, c.key, got, c.want)
		}
	}
}

// TestSystemdUnitSecurity runs systemd-analyze security on the unit and
// holds its exposure score to the one README records (lower is better).
func TestSystemdUnitSecurity(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	path, _ := builtUnit(t)
	out, err := exec.Command(analyze, "security", "--offline=yes", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for closesync\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	got, _ := strconv.ParseFloat(string(m[1]), 64)
	rm := regexp.MustCompile("`systemd-analyze security` rates its exposure \\*\\*([0-9.]+) ").FindStringSubmatch(mustRead(t, "../../README.md"))
	if rm == nil {
		t.Fatal("README does not record the unit's exposure score")
	}
	want, _ := strconv.ParseFloat(rm[1], 64)
	if got > want {
		t.Errorf("exposure %.1f, README records %.1f: harden the unit or correct README\n%s", got, want, out)
	}
	t.Logf("systemd-analyze security: exposure %.1f (README: %.1f)", got, want)
}

// parseUnit reads a unit file into section -> key -> values (in order).
func parseUnit(t *testing.T, text string) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("unit line %d: %q is not key=value in a section", n+1, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

// TestValidateCredentialsDir: README's validate step reads the key from
// the directory the unit's LoadCredential= copies it from, and --check
// calls Close with it; without the flag the relative api_key_file is not
// found there, and the error names the file.
func TestValidateCredentialsDir(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "") // restored after the test; the flag sets it
	h := newHarness(t, closefake.Options{Seed: 3, Scale: 10})
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "close"), []byte(closefake.DefaultAPIKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(mustRead(t, "../../deploy/systemd/config.yaml"), "/var/lib/closesync/", dir+"/", 1)
	cfg = strings.Replace(cfg, "https://api.close.com/api/v1", h.srv.URL+"/api/v1", 1)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"without the flag", nil, exitUsage, "accounts[0].api_key_file: cannot read "},
		{"with the unit's credentials", []string{"--credentials-dir", creds}, exitOK, path + ": ok (1 accounts, 1 jobs)"},
		{"a directory without the key", []string{"--credentials-dir", dir}, exitUsage, "cannot read " + filepath.Join(dir, "close")},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Setenv("CREDENTIALS_DIRECTORY", "")
			code, out, errOut := h.run(append([]string{"validate", "--config", path, "--check"}, c.args...)...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, c.code, c.want, out, errOut)
			}
			if strings.Contains(out+errOut, closefake.DefaultAPIKey) {
				t.Errorf("the key was printed:\n%s%s", out, errOut)
			}
		})
	}
}
