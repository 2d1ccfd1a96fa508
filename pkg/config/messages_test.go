package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// keyPaths lists every key of type t as path segments, a list as its item 0,
// with the type at each (sections included).
func keyPaths(t reflect.Type, prefix []string, out *[][]string, types *[]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		k := f.Tag.Get("koanf")
		if k == "" || !f.IsExported() {
			continue
		}
		p := append(append([]string{}, prefix...), k)
		*out = append(*out, p)
		*types = append(*types, f.Type)
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ip := append(append([]string{}, p...), "0")
			*out = append(*out, ip)
			*types = append(*types, ft.Elem())
			keyPaths(ft.Elem(), ip, out, types)
		} else if ft.Kind() == reflect.Struct && ft != dateType {
			keyPaths(ft, p, out, types)
		}
	}
}

// flowYAML nests value at segs in YAML flow style.
func flowYAML(segs []string, value string) string {
	if len(segs) == 0 {
		return value
	}
	if isIndex(segs[0]) {
		return "[" + flowYAML(segs[1:], value) + "]"
	}
	return "{" + segs[0] + ": " + flowYAML(segs[1:], value) + "}"
}

// wrongValues are YAML values of every shape.
var wrongValues = []string{"[a, b]", "{a: 1}", "x", "lots", "5", "-1", "1.5", "true", "2024-01-01", "2024-01-01T10:00:00Z", "[[1]]", "[{a: 1}]", `""`, "99999999999999999999"}

// TestNoGoTypeNamesInMessages sets every key of the config, sections
// included, to a value of every YAML shape, and checks that no message
// shows a Go type or package (cannot unmarshal !!str into []config.Report,
// expected type '[]interface {}', *bool ...).
func TestNoGoTypeNamesInMessages(t *testing.T) {
	var paths [][]string
	var types []reflect.Type
	keyPaths(configType, nil, &paths, &types)
	dir := t.TempDir()
	// The whole file as one value of each shape, tagged values, and the
	// header map as a list.
	paths = append(paths, nil, nil, nil)
	types = append(types, configType, configType, configType)
	for i, p := range paths {
		for j, v := range wrongValues {
			doc := v // the whole file
			switch {
			case len(p) > 0:
				doc = flowYAML(p, v)
				doc = doc[1 : len(doc)-1] // the top-level map without braces
			case i == len(paths)-2:
				doc = "database: !!float " + v + "\nschema: !!int " + v + "\nlog: !!seq " + v
			case i == len(paths)-1:
				doc = "notify: {url: https://x.test, headers: [" + v + "]}"
			}
			path := filepath.Join(dir, fmt.Sprintf("c%d_%d.yaml", i, j))
			if err := os.WriteFile(path, []byte(doc+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Check(path, reports, Needs{})
			if err == nil {
				continue
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if os.Getenv("DUMP") != "" {
					fmt.Println(segsPath(p), "=", v, "->", line)
				}
				for _, w := range goWords {
					if strings.Contains(line, w) {
						t.Errorf("%s = %s (%s): message shows %q: %s", segsPath(p), v, types[i], w, line)
					}
				}
			}
		}
	}
}

// TestNoGoTypeNamesInOverrideMessages sets every single-valued key by a
// CLOSESYNC_ variable to values no key takes, over a file that has the list
// items, and checks the messages the same way.
func TestNoGoTypeNamesInOverrideMessages(t *testing.T) {
	var paths [][]string
	var types []reflect.Type
	keyPaths(configType, nil, &paths, &types)
	path := writeConfig(t, "accounts: [{name: a}]\njobs: [{name: j, reports: [{name: leads}]}]\nnotify: {url: https://x.test, on: [failure]}\n")
	for i, p := range paths {
		if isSection(types[i]) && types[i] != dateType {
			continue
		}
		for _, v := range []string{"lots", "[a]", "{a: 1}", "-1", "1e400", "2024-13-45"} {
			name := EnvPrefix + strings.ToUpper(strings.Join(p, "__"))
			t.Setenv(name, v)
			_, err := Check(path, reports, Needs{})
			t.Setenv(name, "")
			if err == nil {
				continue
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				for _, w := range goWords {
					if strings.Contains(line, w) {
						t.Errorf("%s=%s: message shows %q: %s", name, v, w, line)
					}
				}
			}
		}
	}
}
