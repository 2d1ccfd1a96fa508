package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leakyKey looks like a Close API key; no message may contain it.
const leakyKey = "api_5Hq0Ub7vXk2LmNpQ9rTsWy.3aBcDeFgHiJkLmN"

func TestResolveKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "close"), []byte("api_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MY_KEY", " api_fromenv\n")
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	for _, tt := range []struct {
		name string
		a    Account
		want string
	}{
		{"inline", Account{APIKey: " api_inline "}, "api_inline"},
		{"env", Account{APIKeyEnv: "MY_KEY"}, "api_fromenv"},
		{"file in $CREDENTIALS_DIRECTORY", Account{APIKeyFile: "close"}, "api_fromfile"},
		{"absolute file", Account{APIKeyFile: filepath.Join(dir, "close")}, "api_fromfile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.a.ResolveKey()
			if err != nil || got != tt.want {
				t.Errorf("ResolveKey = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestResolveKeyRelativeFileWithoutCredentialsDirectory(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	t.Chdir(t.TempDir())
	if err := os.WriteFile("key.txt", []byte("api_cwd"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := Account{Name: "main", APIKeyFile: "key.txt"}
	if got := a.KeyFilePath(); got != "key.txt" {
		t.Errorf("KeyFilePath = %q", got)
	}
	if got, err := a.ResolveKey(); err != nil || got != "api_cwd" {
		t.Errorf("ResolveKey = %q, %v", got, err)
	}
}

func TestResolveKeyErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("empty", " \n")
	write("envfile", "CLOSE_API_KEY="+leakyKey+"\nOTHER=1\n")
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	t.Setenv("UNSET_FOR_TEST", "")
	t.Setenv("SPACEY", leakyKey+" "+leakyKey)
	for _, tt := range []struct {
		name string
		a    Account
		want string
	}{
		{"none", Account{Name: "main"},
			`account "main": no API key source: set api_key, api_key_env or api_key_file`},
		{"several", Account{Name: "main", APIKey: leakyKey, APIKeyEnv: "X", APIKeyFile: "y"},
			`account "main": several API key sources (api_key, api_key_env, api_key_file): set exactly one`},
		{"blank inline", Account{Name: "main", APIKey: "  "},
			`account "main": api_key: is blank`},
		{"unset env", Account{Name: "main", APIKeyEnv: "UNSET_FOR_TEST"},
			`account "main": api_key_env: environment variable UNSET_FOR_TEST is not set or empty`},
		{"bad env name", Account{Name: "main", APIKeyEnv: "CLOSE-KEY"},
			`account "main": api_key_env: is not an environment variable name`},
		{"key in api_key_env", Account{Name: "main", APIKeyEnv: leakyKey},
			`account "main": api_key_env: looks like an API key, not the name of an environment variable`},
		{"env holds two words", Account{Name: "main", APIKeyEnv: "SPACEY"},
			`account "main": api_key_env: environment variable SPACEY contains spaces, line breaks or control characters`},
		{"missing file", Account{Name: "main", APIKeyFile: "/nonexistent/close"},
			`account "main": api_key_file: cannot read /nonexistent/close: no such file or directory`},
		{"missing credential", Account{Name: "main", APIKeyFile: "nope"},
			fmt.Sprintf(`account "main": api_key_file: cannot read %s (nope in $CREDENTIALS_DIRECTORY): no such file or directory`, filepath.Join(dir, "nope"))},
		{"directory", Account{Name: "main", APIKeyFile: dir},
			`account "main": api_key_file: cannot read ` + dir + `: is a directory`},
		{"empty file", Account{Name: "main", APIKeyFile: "empty"},
			`account "main": api_key_file: ` + filepath.Join(dir, "empty") + ` (empty in $CREDENTIALS_DIRECTORY) is empty`},
		{"env-style file", Account{Name: "main", APIKeyFile: filepath.Join(dir, "envfile")},
			`account "main": api_key_file: ` + filepath.Join(dir, "envfile") + ` contains spaces, line breaks or control characters: it must hold only the key`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, err := tt.a.ResolveKey()
			if err == nil {
				t.Fatalf("no error, key %q", key)
			}
			if err.Error() != tt.want && !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %q\nwant %q", err, tt.want)
			}
			if strings.Contains(err.Error(), leakyKey) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestSecretRedaction(t *testing.T) {
	s := Secret(leakyKey)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, leakyKey) || strings.Contains(out, fmt.Sprintf("%x", leakyKey)) {
			t.Errorf("%s printed the key: %s", verb, out)
		}
	}
	if got := fmt.Sprint(s); got != "<redacted>" {
		t.Errorf("Sprint = %q, want <redacted>", got)
	}
	if got := fmt.Sprint(Secret("")); got != "" {
		t.Errorf("empty Secret prints %q, want empty", got)
	}
	if b, err := s.MarshalText(); err != nil || string(b) != "<redacted>" {
		t.Errorf("MarshalText = %s, %v", b, err)
	}
	var back string
	if b, err := json.Marshal(s); err != nil || json.Unmarshal(b, &back) != nil || back != "<redacted>" {
		t.Errorf("JSON = %s, %v", b, err)
	}
	if string(s) != leakyKey {
		t.Error("string(s) must give the key back")
	}
}

// TestConfigNeverPrintsKey: a whole Config, printed or encoded any way,
// holds no key.
func TestConfigNeverPrintsKey(t *testing.T) {
	cfg := &Config{Accounts: []Account{{Name: "main", APIKey: leakyKey}}}
	j, _ := json.Marshal(cfg)
	for _, out := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%v", *cfg), fmt.Sprintf("%+v", cfg.Accounts), string(j)} {
		if strings.Contains(out, leakyKey) {
			t.Errorf("key printed: %s", out)
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("no <redacted> in %s", out)
		}
	}
}

// TestNoKeyInAnyMessage puts a key where people put keys by mistake and
// checks that no error or warning repeats it.
func TestNoKeyInAnyMessage(t *testing.T) {
	t.Setenv("CLOSE_API_KEY", leakyKey)
	for _, tt := range []struct{ name, yaml, want string }{
		{"inline key with problems elsewhere", `
accounts:
  - {name: Main, api_key: "` + leakyKey + `", api_key_env: CLOSE_API_KEY, max_concurrency: 0}
jobs: [{name: core, account: main, schedule: nope, reports: [leds]}]`, "accounts[0]: several API key sources"},
		{"key as api_key_env", `
accounts: [{name: main, api_key_env: "` + leakyKey + `"}]
jobs: [{name: core, account: main, schedule: "@hourly", reports: [leads]}]`, "accounts[0].api_key_env: looks like an API key"},
		{"key in base_url", `
accounts: [{name: main, api_key_env: CLOSE_API_KEY, base_url: "https://` + leakyKey + `:@api.close.com/api/v1"}]
jobs: [{name: core, account: main, schedule: "@hourly", reports: [leads]}]`, "accounts[0].base_url: must not carry credentials"},
		{"key in a list", `
accounts: [{name: main, api_key: ["` + leakyKey + `"]}]
jobs: [{name: core, account: main, schedule: "@hourly", reports: [leads]}]`, "accounts[0].api_key: want a string, got a list"},
		{"key as a map", `
accounts: [{name: main, api_key: {"` + leakyKey + `": 1}}]`, "accounts[0].api_key: want a string, got a map"},
		{"key as an unknown key's value", `
accounts: [{name: main, apikey: "` + leakyKey + `"}]`, "accounts[0].apikey: unknown key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, tt.yaml))
			var msgs []string
			if err != nil {
				msgs = append(msgs, err.Error())
			} else {
				if err := cfg.Validate(reports); err != nil {
					msgs = append(msgs, err.Error())
				}
				msgs = append(msgs, cfg.Warnings()...)
			}
			all := strings.Join(msgs, "\n")
			if !strings.Contains(all, tt.want) {
				t.Errorf("messages lack %q:\n%s", tt.want, all)
			}
			if strings.Contains(all, leakyKey) {
				t.Errorf("a message holds the key:\n%s", all)
			}
		})
	}
}
