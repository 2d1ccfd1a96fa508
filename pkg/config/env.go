package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/knadh/koanf/providers/env/v2"
)

// override is one CLOSESYNC_* variable: its name, the key path it sets
// split into segments ("accounts", "0", "api_key_file") and its value.
type override struct {
	name  string
	segs  []string
	value string
}

// path is the key path as problems print it: accounts[0].api_key_file.
func (o override) path() string { return segsPath(o.segs) }

func segsPath(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		if isIndex(s) {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func isIndex(s string) bool {
	_, err := strconv.ParseUint(s, 10, 31)
	return err == nil
}

// applyEnv applies the CLOSESYNC_* variables that environ returns to raw.
// It returns the problems with the variables (each at the variable's name)
// and, for the keys it set, which variable set them.
func applyEnv(raw map[string]any, environ func() []string) ([]problem, map[string]string, error) {
	var overrides []override
	p := env.Provider("", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: environ,
		TransformFunc: func(name, value string) (string, any) {
			if value == "" {
				return "", nil // documented: an empty variable is ignored
			}
			key := strings.ToLower(strings.TrimPrefix(name, EnvPrefix))
			overrides = append(overrides, override{name: name, segs: strings.Split(key, "__"), value: value})
			return name, value
		},
	})
	if _, err := p.Read(); err != nil {
		return nil, nil, fmt.Errorf("read environment overrides: %w", err)
	}
	slices.SortFunc(overrides, func(a, b override) int { return strings.Compare(a.name, b.name) })
	var problems []problem
	origins := map[string]string{}
	for _, o := range overrides {
		if err := checkOverride(o); err != nil {
			problems = append(problems, problem{path: o.name, msg: err.Error()})
			continue
		}
		if err := setPath(raw, o.segs, o.value); err != nil {
			problems = append(problems, problem{path: o.name, msg: err.Error()})
			continue
		}
		origins[o.path()] = o.name
	}
	return problems, origins, nil
}

// checkOverride checks that the variable names a single-valued key.
func checkOverride(o override) error {
	t, n := walkType(o.segs)
	if n == len(o.segs) {
		if isSection(t) {
			return fmt.Errorf("%s is a %s; set its keys one by one (%s%s__...)",
				segsPath(o.segs), kindWord(t), EnvPrefix, strings.ToUpper(strings.Join(o.segs, "__")))
		}
		return nil
	}
	msg := fmt.Sprintf("no config key %s", segsPath(o.segs))
	if alt := underscoreFix(o.segs); alt != "" {
		return fmt.Errorf("%s (did you mean %s? a double underscore separates levels)", msg, alt)
	}
	if t.Kind() == reflect.Struct {
		if hint := didYouMean(o.segs[n], fieldKeys(t)); hint != "" {
			return fmt.Errorf("%s: %s is not a key of %s %s", msg, o.segs[n], orTop(segsPath(o.segs[:n])), hint)
		}
		return fmt.Errorf("%s: %s is not a key of %s (valid: %s)", msg, o.segs[n], orTop(segsPath(o.segs[:n])), strings.Join(fieldKeys(t), ", "))
	}
	if t.Kind() == reflect.Slice {
		return fmt.Errorf("%s: %s is a list; follow it with an index (%s%s__0__...)",
			msg, segsPath(o.segs[:n]), EnvPrefix, strings.ToUpper(strings.Join(o.segs[:n], "__")))
	}
	return fmt.Errorf("%s: %s is a single value", msg, segsPath(o.segs[:n]))
}

func orTop(path string) string {
	if path == "" {
		return "the config"
	}
	return path
}

// walkType follows segs through the Config type and returns the type
// reached and how many segments it consumed.
func walkType(segs []string) (reflect.Type, int) { return walkTypeFrom(configType, segs) }

// walkTypeFrom is walkType from the type t.
func walkTypeFrom(t reflect.Type, segs []string) (reflect.Type, int) {
	for i, s := range segs {
		switch {
		case t.Kind() == reflect.Slice && isIndex(s):
			t = t.Elem()
		case isSection(t) && t.Kind() == reflect.Struct:
			f, ok := fieldByKey(t, s)
			if !ok {
				return t, i
			}
			t = f.Type
		default:
			return t, i
		}
	}
	return t, len(segs)
}

// isSection tells whether t holds keys rather than a single value.
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Slice || (t.Kind() == reflect.Struct && t != dateType)
}

func kindWord(t reflect.Type) string {
	if t.Kind() == reflect.Slice {
		return "list"
	}
	return "section"
}

// underscoreFix suggests the variable with one single underscore made
// double when that names a key (CLOSESYNC_LOG_LEVEL -> CLOSESYNC_LOG__LEVEL).
func underscoreFix(segs []string) string {
	key := strings.Join(segs, "__")
	for i := 0; i < len(key); i++ {
		if key[i] != '_' || (i > 0 && key[i-1] == '_') || (i+1 < len(key) && key[i+1] == '_') {
			continue
		}
		alt := strings.Split(key[:i]+"__"+key[i+1:], "__")
		if t, n := walkType(alt); n == len(alt) && !isSection(t) {
			return EnvPrefix + strings.ToUpper(key[:i]+"__"+key[i+1:])
		}
	}
	return ""
}

// setPath sets the key at segs in raw, descending into the file's lists by
// index. A missing section is created; a missing list item is an error,
// since an override cannot tell what the rest of the item would be.
func setPath(raw map[string]any, segs []string, value string) error {
	var cur any = raw
	for i, s := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[s] = value
				return nil
			}
			next := c[s]
			if next == nil {
				if isIndex(segs[i+1]) {
					return fmt.Errorf("%s has no items in the config file to override", segsPath(segs[:i+1]))
				}
				next = map[string]any{}
				c[s] = next
			}
			cur = next
		case []any:
			idx, _ := strconv.Atoi(s)
			if idx >= len(c) {
				return fmt.Errorf("%s has %d items in the config file, so there is no %s", segsPath(segs[:i]), len(c), segsPath(segs[:i+1]))
			}
			if name, ok := c[idx].(string); ok { // a report given by its name
				c[idx] = map[string]any{"name": name}
			}
			if c[idx] == nil {
				c[idx] = map[string]any{}
			}
			cur = c[idx]
		default:
			return fmt.Errorf("%s in the config file is not a %s", segsPath(segs[:i]), map[bool]string{true: "list", false: "map"}[isIndex(s)])
		}
	}
	return nil
}
