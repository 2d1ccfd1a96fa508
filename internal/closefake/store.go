package closefake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// object is one stored record, shaped as the API renders it minus what is
// embedded at read time (a lead's contacts, opportunities and tasks).
//
// Stored objects are immutable: a mutation stores a new map (copy on
// write) and values inside an object are never modified either. So a page
// being encoded, a cached listing or an event's data can share objects
// without copying, and JSON encoding runs outside the lock.
type object = map[string]any

// kindSpec describes one collection. Adding a collection is one
// registerKind call (dimensions.go registers a whole table of them) plus a
// route in routes.go.
type kindSpec struct {
	kind   string
	prefix string // id prefix before "_"; "" when ids are fixed names (roles)
	// model names the object in 404 bodies ("Empty query: Lead matching
	// query does not exist."); modelOf overrides it per object.
	model   string
	modelOf func(o object) string
	// hidden keys are kept in the truth copy but never sent over HTTP
	// (a custom field's object_type, a bulk action's kind).
	hidden []string
	// eventType is the event log's object_type of an object ("lead",
	// "task.lead", "activity.call"); nil means the kind name.
	eventType func(o object) string
	// leadChild kinds carry a lead_id: they are indexed per lead, embedded
	// or cascaded by it, and Create requires an existing lead.
	leadChild bool
	// naive kinds use offset-less timestamps (newer Close services).
	naive bool
	// defaults fills what a Create left out.
	defaults func(s *Server, o object, now time.Time)
}

var kinds = map[string]*kindSpec{}

func registerKind(k *kindSpec) *kindSpec {
	if _, dup := kinds[k.kind]; dup {
		panic("closefake: kind registered twice: " + k.kind)
	}
	kinds[k.kind] = k
	return k
}

func (k *kindSpec) modelName(o object) string {
	if k.modelOf != nil && o != nil {
		return k.modelOf(o)
	}
	return k.model
}

func (k *kindSpec) objectType(o object) string {
	if k.eventType != nil {
		return k.eventType(o)
	}
	return k.kind
}

// collection holds the objects of one kind by id.
type collection struct {
	objs   map[string]object
	sorted []string // ids in order; nil when stale
}

func (c *collection) ids() []string {
	if c.sorted == nil {
		c.sorted = slices.Sorted(maps.Keys(c.objs))
	}
	return c.sorted
}

// col returns the collection of kind, creating it empty. The caller holds
// s.mu (or is New).
func (s *Server) col(kind string) *collection {
	c := s.cols[kind]
	if c == nil {
		c = &collection{objs: map[string]object{}}
		s.cols[kind] = c
	}
	return c
}

func (s *Server) get(kind, id string) (object, bool) {
	c := s.cols[kind]
	if c == nil {
		return nil, false
	}
	o, ok := c.objs[id]
	return o, ok
}

// put stores o (replacing the object with its id) and keeps the per-lead
// index current. o must not be modified afterwards.
func (s *Server) put(kind string, o object) {
	c := s.col(kind)
	id := o["id"].(string)
	old, existed := c.objs[id]
	c.objs[id] = o
	if !existed {
		c.sorted = nil
	}
	if k := kinds[kind]; k != nil && k.leadChild {
		s.unindex(kind, id, old)
		s.index(kind, id, o)
	}
	if kind == KindUser {
		s.names = nil
	}
	s.version++
}

func (s *Server) remove(kind, id string) {
	c := s.col(kind)
	old, ok := c.objs[id]
	if !ok {
		return
	}
	delete(c.objs, id)
	c.sorted = nil
	if k := kinds[kind]; k != nil && k.leadChild {
		s.unindex(kind, id, old)
	}
	s.version++
}

func (s *Server) index(kind, id string, o object) {
	lead, _ := o["lead_id"].(string)
	if lead == "" {
		return
	}
	byKind := s.byLead[kind]
	if byKind == nil {
		byKind = map[string][]string{}
		s.byLead[kind] = byKind
	}
	byKind[lead] = append(byKind[lead], id)
}

func (s *Server) unindex(kind, id string, old object) {
	if old == nil {
		return
	}
	lead, _ := old["lead_id"].(string)
	ids := s.byLead[kind][lead]
	if i := slices.Index(ids, id); i >= 0 {
		ids = slices.Delete(ids, i, i+1)
		if len(ids) == 0 {
			delete(s.byLead[kind], lead)
		} else {
			s.byLead[kind][lead] = ids
		}
	}
}

// children returns the objects of kind belonging to a lead, oldest first
// (ties by id), the order the lead embeds them in.
func (s *Server) children(kind, leadID string) []object {
	ids := s.byLead[kind][leadID]
	out := make([]object, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.cols[kind].objs[id])
	}
	slices.SortFunc(out, func(a, b object) int {
		if c := strings.Compare(timeKey(a["date_created"]), timeKey(b["date_created"])); c != 0 {
			return c
		}
		return strings.Compare(a["id"].(string), b["id"].(string))
	})
	return out
}

// embeds are the child collections a lead embeds, by field.
var embeds = []struct{ field, kind string }{
	{"contacts", KindContact}, {"opportunities", KindOpportunity}, {"tasks", KindTask},
}

// render returns an object as the API shows it: a lead embeds its
// children; api=false keeps the truth-only keys. The result shares
// immutable values with the store and must not be modified.
func (s *Server) render(kind string, o object, api bool) object {
	k := kinds[kind]
	switch kind {
	case KindLead:
		r := make(object, len(o)+len(embeds)+1)
		maps.Copy(r, o)
		for _, e := range embeds {
			kids := s.children(e.kind, o["id"].(string))
			arr := make([]any, len(kids))
			for i, c := range kids {
				arr[i] = s.render(e.kind, c, api)
			}
			r[e.field] = arr
		}
		s.integrationLinks(r, "lead")
		return r
	case KindContact:
		r := make(object, len(o)+1)
		maps.Copy(r, o)
		s.integrationLinks(r, "contact")
		return r
	}
	if api && k != nil && len(k.hidden) > 0 {
		r := make(object, len(o))
		for key, v := range o {
			if !slices.Contains(k.hidden, key) {
				r[key] = v
			}
		}
		return r
	}
	return o
}

// integrationLinks sets a lead's or contact's integration_links: Close
// renders the organisation's integration link templates (/integration_link/)
// for each object when it is read.
func (s *Server) integrationLinks(o object, typ string) {
	links := []any{}
	if c := s.cols["integration_link"]; c != nil {
		for _, id := range c.ids() {
			l := c.objs[id]
			if l["type"] != typ {
				continue
			}
			u := strings.ReplaceAll(fmt.Sprint(l["url"]), "{{ "+typ+".display_name }}", url.QueryEscape(fmt.Sprint(o["display_name"])))
			links = append(links, object{"name": l["name"], "url": u})
		}
	}
	o["integration_links"] = links
}

// selectFields applies _fields: unknown names are dropped, "_all" keeps
// everything, and "custom" selects every custom.* key as well (Close's
// lead semantics; it is harmless elsewhere).
func selectFields(o object, fields []string) object {
	if len(fields) == 0 || slices.Contains(fields, "_all") {
		return o
	}
	out := make(object, len(fields))
	for _, f := range fields {
		if v, ok := o[f]; ok {
			out[f] = v
		}
		if f == "custom" {
			for k, v := range o {
				if strings.HasPrefix(k, "custom.") {
					out[k] = v
				}
			}
		}
	}
	return out
}

func splitFields(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// newID makes a Close-style id: prefix, "_" and 22 base62 characters.
func (s *Server) newID(prefix string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [22]byte
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return prefix + "_" + string(b[:])
}

// fmtTime renders Close's usual timestamp: a microsecond field holding
// milliseconds and an explicit +00:00. Like Python's isoformat, the
// fraction is left out when it is zero.
func fmtTime(t time.Time) string {
	t = t.UTC().Truncate(time.Millisecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05") + "+00:00"
	}
	return t.Format("2006-01-02T15:04:05.000000") + "+00:00"
}

// naiveTime renders the offset-less, true-microsecond timestamps of
// Close's newer services (pipelines, sequences, dialer, custom activity
// types).
func naiveTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

func fmtDate(t time.Time) string { return t.UTC().Format("2006-01-02") }

// timeKey turns a stored or requested date, date-time or naive date-time
// into a string that orders chronologically ("2006-01-02T15:04:05.000000",
// UTC); anything else is returned unchanged (and "" for non-strings).
func timeKey(v any) string {
	str, _ := v.(string)
	switch n := len(str); {
	case n == 32 && str[26:] == "+00:00" && str[19] == '.':
		return str[:26]
	case n == 25 && str[19:] == "+00:00":
		return str[:19] + ".000000"
	case n == 26 && str[19] == '.':
		return str
	case n == 10:
		return str + "T00:00:00.000000"
	}
	if t, ok := parseTime(str); ok {
		return t.UTC().Format("2006-01-02T15:04:05.000000")
	}
	return str
}

// parseTime accepts the date forms clients send in filters.
func parseTime(v string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func mustTime(v any) time.Time {
	t, ok := parseTime(v.(string))
	if !ok {
		panic("closefake: bad stored time " + v.(string))
	}
	return t
}

// deepCopy returns o as a client decoding the API's JSON would see it
// (numbers become float64), sharing nothing with the store.
func deepCopy(o map[string]any) map[string]any {
	v, _ := deepCopyValue(o).(map[string]any)
	return v
}

func deepCopyValue(v any) any {
	b, err := marshal(v)
	if err != nil {
		panic("closefake: value is not JSON: " + err.Error())
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// marshal encodes like the API: no HTML escaping (Python's json.dumps
// does not do it) and no trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func sameJSON(a, b any) bool {
	ja, err1 := marshal(a)
	jb, err2 := marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
