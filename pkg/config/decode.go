package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// problem is one thing wrong with a config, at a key path such as
// "jobs[0].reports[1].mode" (or, for a bad override, a variable name).
type problem struct {
	path, msg string
	// suggests is, for an unknown key with a did-you-mean, the key paths it
	// probably meant: a "required" problem there is the same mistake.
	suggests []string
}

func (p problem) String() string { return p.path + ": " + p.msg }

// annotated adds the variable that set the key, if one did.
func (p problem) annotated(origins map[string]string) string {
	if v, ok := origins[p.path]; ok {
		return p.String() + " (set by " + v + ")"
	}
	return p.String()
}

var (
	configType    = reflect.TypeFor[Config]()
	reportRefType = reflect.TypeFor[ReportRef]()
	dateType      = reflect.TypeFor[Date]()
	durationType  = reflect.TypeFor[time.Duration]()
	secretType    = reflect.TypeFor[Secret]()
)

// decode decodes raw into cfg and returns every problem: unknown keys first
// (with suggestions), then values of the wrong type.
func decode(raw map[string]any, cfg *Config) []problem {
	var problems []problem
	unknownKeys(raw, configType, "", &problems)
	dc := &mapstructure.DecoderConfig{
		Result:  cfg,
		TagName: "koanf",
		// Unknown keys are reported above, with paths and suggestions;
		// ErrorUnused is the safety net for any the walk would miss.
		ErrorUnused: len(problems) == 0,
		// Environment values are strings, and YAML may give 8 where a
		// string is wanted: convert where that is unambiguous.
		WeaklyTypedInput: true,
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(listHook, mapHook, reportRefHook, dateHook, durationHook),
	}
	d, err := mapstructure.NewDecoder(dc)
	if err != nil {
		return append(problems, problem{path: "config", msg: err.Error()})
	}
	if err := d.Decode(raw); err != nil {
		problems = append(problems, decodeProblems(err)...)
	}
	return problems
}

// unknownKeys walks raw alongside the struct type t and reports each key no
// field is tagged with.
func unknownKeys(raw any, t reflect.Type, path string, out *[]problem) {
	switch {
	case t.Kind() == reflect.Slice:
		l, _ := raw.([]any)
		for i, it := range l {
			unknownKeys(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case t.Kind() == reflect.Struct && t != dateType:
		m, ok := raw.(map[string]any)
		if !ok {
			return // a string ReportRef, or a type error the decoder reports
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := joinPath(path, k)
			if f, ok := fieldByKey(t, k); ok {
				unknownKeys(m[k], f.Type, p, out)
				continue
			}
			msg := unknownKeyMsg(t, k)
			var suggests []string
			if hint, ok := strings.CutPrefix(msg, "unknown key (did you mean "); ok {
				for _, m := range quotedRE.FindAllStringSubmatch(hint, -1) {
					suggests = append(suggests, joinPath(path, m[1]))
				}
			}
			*out = append(*out, problem{path: p, msg: msg, suggests: suggests})
		}
	}
}

var quotedRE = regexp.MustCompile(`"([^"]+)"`)

// unknownKeyMsg explains a key that struct type t lacks.
func unknownKeyMsg(t reflect.Type, key string) string {
	if nested := strings.Split(key, "."); len(nested) > 1 {
		if _, n := walkTypeFrom(t, nested); n == len(nested) {
			// YAML does not split keys on dots.
			return fmt.Sprintf("unknown key; nest it: %s: {%s: ...}", nested[0], strings.Join(nested[1:], "."))
		}
	}
	keys := fieldKeys(t)
	if hint := didYouMean(key, keys); hint != "" {
		return "unknown key " + hint
	}
	return "unknown key (valid: " + strings.Join(keys, ", ") + ")"
}

// fieldByKey finds the field of struct type t tagged koanf:"key".
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && f.Tag.Get("koanf") == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// fieldKeys lists the keys of struct type t in declaration order.
func fieldKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("koanf"); k != "" && t.Field(i).IsExported() {
			keys = append(keys, k)
		}
	}
	return keys
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// listHook refuses a map where a list belongs, which WeaklyTypedInput would
// take as a list of one (and the defaults would miss). A single report name
// stays a list of one.
func listHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() == reflect.Slice && from.Kind() == reflect.Map {
		return nil, errors.New("want a list (each item starting with \"- \"), got a map")
	}
	return data, nil
}

// mapHook refuses a list where a map of names to values belongs
// (notify.headers), which WeaklyTypedInput would merge item by item.
func mapHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() == reflect.Map && from.Kind() == reflect.Slice {
		return nil, errors.New("want a map (name: value, one per line), got a list")
	}
	return data, nil
}

// reportRefHook lets a report be its bare name.
func reportRefHook(from, to reflect.Type, data any) (any, error) {
	if to != reportRefType {
		return data, nil
	}
	switch from.Kind() {
	case reflect.String:
		return map[string]any{"name": data}, nil
	case reflect.Map, reflect.Struct:
		return data, nil
	}
	return nil, fmt.Errorf("want %s, got %s", describeType(reportRefType), describeValue(data))
}

// dateHook decodes a Date from a YAML timestamp or a string.
func dateHook(_, to reflect.Type, data any) (any, error) {
	if to != dateType {
		return data, nil
	}
	switch v := data.(type) {
	case nil:
		return Date{}, nil
	case Date:
		return v, nil
	case time.Time:
		return Date{v.UTC()}, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return Date{}, nil
		}
		return ParseDate(v)
	}
	return nil, fmt.Errorf("want a date (YYYY-MM-DD), got %s", describeValue(data))
}

// durationHook decodes a duration from a string such as "90m" or "7d"
// (ParseDuration) and refuses a bare number other than 0: the decoder
// would read `timeout: 3600` as 3600 nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from == durationType {
		return data, nil
	}
	switch v := reflect.ValueOf(data); v.Kind() {
	case reflect.String:
		return ParseDuration(v.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if v.IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("%v has no unit: write a duration such as %vs (units: ms, s, m, h, d, w, y)", data, data)
	}
	return data, nil
}

// decodeProblems turns the decoder's (joined, nested) errors into problems
// at key paths, in plain words.
func decodeProblems(err error) []problem {
	var out []problem
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		// One level at a time, not errors.As: every DecodeError of a joined
		// tree is a problem of its own.
		de, ok := err.(*mapstructure.DecodeError) //nolint:errorlint // see above
		if !ok {
			// The decoder wraps several errors in a heading: look inside.
			if inner := errors.Unwrap(err); inner != nil {
				walk(inner)
				return
			}
			out = append(out, problem{path: "config", msg: err.Error()})
			return
		}
		inner := de.Unwrap()
		if _, ok := inner.(interface{ Unwrap() []error }); ok {
			walk(inner)
			return
		}
		path := de.Name()
		if path == "" {
			path = "config"
		}
		out = append(out, problem{path: path, msg: describeDecodeError(inner)})
	}
	walk(err)
	return out
}

func describeDecodeError(err error) string {
	var ut *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ut) {
		return fmt.Sprintf("want %s, got %s", describeType(ut.Expected.Type()), describeValue(ut.Value))
	}
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		if pe.Expected.Type() == secretType {
			return "want " + describeType(pe.Expected.Type())
		}
		return fmt.Sprintf("want %s, got %q", describeType(pe.Expected.Type()), fmt.Sprint(pe.Value))
	}
	s := err.Error()
	if keys, ok := strings.CutPrefix(s, "has invalid keys: "); ok {
		return "unknown keys: " + keys
	}
	if m := wantMapRE.FindStringSubmatch(s); m != nil {
		if w, ok := kindWords[m[1]]; ok {
			return "want a map, got " + w
		}
		return "want a map, got " + m[1]
	}
	return s
}

// wantMapRE matches the decoder's complaint about a section given as
// something else.
var wantMapRE = regexp.MustCompile(`^expected a map or struct, got "(\w+)"$`)

var kindWords = map[string]string{
	"string": "a string", "slice": "a list", "bool": "true/false", "int": "a number", "float64": "a number",
}

func describeType(t reflect.Type) string {
	switch t {
	case durationType:
		return "a duration such as 90m, 6h or 7d"
	case dateType:
		return "a date (YYYY-MM-DD)"
	case reportRefType:
		return "a report name or a map with a name"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a map"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return "another kind of value" // never a Go type name
}

// describeValue names the kind of a YAML value, never the value itself
// (it could be a key in the wrong place).
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "true/false"
	case time.Time:
		return "a date"
	case int, int64, uint64, float64:
		return "a number"
	case []byte:
		return "binary data"
	}
	return "a value of another kind" // never a Go type name
}

// yamlTags names the YAML types in user words.
var yamlTags = map[string]string{
	"!!str": "a string", "!!seq": "a list", "!!map": "a map", "!!int": "a whole number", "!!float": "a number",
	"!!bool": "true/false", "!!timestamp": "a date", "!!null": "nothing", "!!binary": "binary data",
}

var (
	// yaml.v3: "line 1: cannot unmarshal !!seq into map[string]interface {}"
	// (the whole file is not a map).
	yamlUnmarshalRE = regexp.MustCompile("^(line \\d+): cannot unmarshal (!!\\w+)(?: `[^`]*`)? into .*$")
	// yaml.v3: "cannot decode !!str `x` as a !!float" (a tag the value does
	// not fit).
	yamlDecodeRE = regexp.MustCompile("^cannot decode (!!\\w+) (`[^`]*`) as an? (!!\\w+)$")
)

// describeYAMLError rewrites the YAML parser's errors that name Go types
// or YAML tags; ok is false for other errors (file errors, syntax errors,
// which are in words already).
func describeYAMLError(err error) (string, bool) {
	s := err.Error()
	rest, ok := strings.CutPrefix(s, "yaml: ")
	if !ok {
		return "", false
	}
	body, changed := strings.CutPrefix(rest, "unmarshal errors:\n")
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if m := yamlUnmarshalRE.FindStringSubmatch(l); m != nil {
			l = fmt.Sprintf("%s: the file must be a map of keys (database: ..., accounts: ..., jobs: ...), got %s", m[1], tagWord(m[2]))
			changed = true
		} else if m := yamlDecodeRE.FindStringSubmatch(l); m != nil {
			what := tagWord(m[1]) + " " + m[2]
			if m[2] == "``" {
				what = "an empty value"
			}
			l = fmt.Sprintf("%s is not %s, as its tag says: drop the tag or fix the value", what, tagWord(m[3]))
			changed = true
		}
		lines[i] = l
	}
	if !changed {
		return "", false
	}
	return "yaml: " + strings.Join(lines, "; "), true
}

func tagWord(tag string) string {
	if w, ok := yamlTags[tag]; ok {
		return w
	}
	return "a value tagged " + tag
}
