package closefake

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ErrNotFound is returned (wrapped) by the mutations for an unknown id.
var ErrNotFound = errors.New("closefake: no such object")

// readOnly are the keys a mutation cannot set: the id, and what a lead
// embeds from other collections.
var readOnly = map[string]bool{"id": true, "organization_id": true, "contacts": true, "opportunities": true, "tasks": true}

func (s *Server) kindFor(kind string) (*kindSpec, error) {
	k := kinds[kind]
	if k == nil || kind == KindEvent {
		return nil, fmt.Errorf("closefake: unknown kind %q", kind)
	}
	return k, nil
}

// Update merges fields into an object as a PUT does (every Close PUT is a
// partial update): it stamps date_updated (and updated_by, the API key's
// user) and logs an "updated" event whose changed_fields and
// previous_data name the fields whose value changed. Setting a
// custom.cf_* key to nil removes it. Status ids also update the labels
// Close derives from them. An update that changes nothing does nothing.
// As in Close, editing a contact, opportunity, task or activity does not
// touch its lead.
func (s *Server) Update(kind, id string, fields map[string]any) error {
	if _, err := s.kindFor(kind); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.get(kind, id)
	if !ok {
		return fmt.Errorf("%w: %s %s", ErrNotFound, kind, id)
	}
	n := maps.Clone(o)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if readOnly[k] {
			return fmt.Errorf("closefake: %s.%s cannot be updated", kind, k)
		}
		v := deepCopyValue(fields[k])
		if v == nil && strings.HasPrefix(k, "custom.") {
			delete(n, k)
		} else {
			n[k] = v
		}
	}
	if kinds[kind].leadChild && n["lead_id"] != o["lead_id"] {
		if _, ok := s.get(KindLead, fmt.Sprint(n["lead_id"])); !ok {
			return fmt.Errorf("%w: lead %v", ErrNotFound, n["lead_id"])
		}
	}
	if _, ok := fields["status_id"]; ok && (kind == KindLead || kind == KindOpportunity) {
		s.deriveStatus(kind, n)
	}
	if kind == KindOpportunity {
		setOppValues(n)
	}
	if changed, _ := diff(o, n); len(changed) == 0 {
		return nil
	}
	now := s.now()
	stamp(n, now, s.me, s.userName(s.me), kinds[kind].naive)
	changed, prev := diff(o, n) // again: the stamp's fields changed too
	s.put(kind, n)
	s.logEvent(kind, n, "updated", changed, prev, now, s.me, nil)
	return nil
}

// stamp sets date_updated and updated_by.
func stamp(o object, now time.Time, user string, name any, naive bool) {
	if naive {
		o["date_updated"] = naiveTime(now)
	} else {
		o["date_updated"] = fmtTime(now)
	}
	if _, ok := o["updated_by"]; ok {
		o["updated_by"] = user
	}
	if _, ok := o["updated_by_name"]; ok {
		o["updated_by_name"] = name
	}
}

// diff lists the keys whose values differ between o and n (sorted) and
// their old values.
func diff(o, n object) ([]string, object) {
	var changed []string
	prev := object{}
	for _, k := range slices.Sorted(maps.Keys(n)) {
		if old, ok := o[k]; !ok || !sameJSON(old, n[k]) {
			changed = append(changed, k)
			prev[k] = o[k]
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o)) {
		if _, ok := n[k]; !ok {
			changed = append(changed, k)
			prev[k] = o[k]
		}
	}
	slices.Sort(changed)
	return changed, prev
}

// Create adds an object and logs a "created" event. The id (prefix_ and
// 22 base62 characters), dates, audit fields and every field the kind's
// generated objects carry are filled in unless given. Contacts,
// opportunities, tasks and activities need the lead_id of an existing
// lead; adding a contact updates its lead (and logs that), as in Close.
// Tasks default to _type "lead" and activities to "Note".
func (s *Server) Create(kind string, obj map[string]any) (string, error) {
	k, err := s.kindFor(kind)
	if err != nil {
		return "", err
	}
	o := deepCopy(obj)
	if o == nil {
		o = object{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := o["id"].(string); ok {
		if _, dup := s.get(kind, id); dup {
			return "", fmt.Errorf("closefake: %s %s already exists", kind, id)
		}
	} else if k.prefix == "" {
		return "", fmt.Errorf("closefake: a %s needs an id", kind)
	} else {
		o["id"] = s.newID(k.prefix)
	}
	if k.leadChild {
		if _, ok := s.get(KindLead, fmt.Sprint(o["lead_id"])); !ok {
			return "", fmt.Errorf("%w: a %s needs an existing lead_id, got %v", ErrNotFound, kind, o["lead_id"])
		}
	}
	if kind == KindActivity {
		if _, ok := o["_type"]; ok {
			if _, known := activityTypeOf(o["_type"]); !known {
				return "", fmt.Errorf("closefake: unknown activity _type %v", o["_type"])
			}
		}
	}
	now := s.now()
	ts := fmtTime(now)
	if k.naive {
		ts = naiveTime(now)
	}
	setDefault(o, "date_created", ts)
	setDefault(o, "date_updated", o["date_created"])
	o["organization_id"] = s.orgID
	if kind != KindLeadStatus && kind != KindOpportunityStatus && kind != KindUser {
		setDefault(o, "created_by", s.me)
		setDefault(o, "updated_by", o["created_by"])
	}
	if kind == KindLead || k.leadChild {
		setDefault(o, "created_by_name", s.userName(o["created_by"]))
		setDefault(o, "updated_by_name", s.userName(o["updated_by"]))
	}
	if k.defaults != nil {
		k.defaults(s, o, now)
	}
	s.put(kind, o)
	s.logEvent(kind, o, "created", nil, nil, now, s.me, nil)
	if kind == KindContact {
		s.touchLead(o["lead_id"], now, nil)
	}
	return o["id"].(string), nil
}

// Delete removes an object and logs "deleted" (data null, previous_data
// the object). Deleting a lead first deletes its custom objects,
// activities, tasks, opportunities and contacts, each with its own event,
// as Close does; deleting a contact on its own updates its lead.
func (s *Server) Delete(kind, id string) error {
	if _, err := s.kindFor(kind); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.get(kind, id); !ok {
		return fmt.Errorf("%w: %s %s", ErrNotFound, kind, id)
	}
	now := s.now()
	if kind == KindLead {
		for _, ck := range []string{KindCustomObject, KindActivity, KindTask, KindOpportunity, KindContact} {
			for _, c := range s.children(ck, id) {
				s.deleteOne(ck, c["id"].(string), now, nil)
			}
		}
	}
	o := s.deleteOne(kind, id, now, nil)
	if kind == KindContact {
		s.touchLead(o["lead_id"], now, nil)
	}
	return nil
}

func (s *Server) deleteOne(kind, id string, now time.Time, meta map[string]any) object {
	o, _ := s.get(kind, id)
	prev := s.render(kind, o, true)
	s.remove(kind, id)
	s.logEvent(kind, o, "deleted", nil, prev, now, s.me, meta)
	return o
}

// touchLead records that a contact was added to or removed from a lead:
// Close stamps the lead and logs a lead "updated" for it (but not for
// edits of the contact itself).
func (s *Server) touchLead(leadID any, now time.Time, meta map[string]any) {
	lead, ok := s.get(KindLead, fmt.Sprint(leadID))
	if !ok {
		return
	}
	n, changed, prev := s.restampLead(lead, now)
	s.logEvent(KindLead, n, "updated", changed, prev, now, s.me, meta)
}

// restampLead stores a new version of lead whose contacts changed: stamped
// now, with the fields that changed (contact_ids among them) and their
// previous values for its "updated" event.
func (s *Server) restampLead(lead object, now time.Time) (object, []string, object) {
	n := maps.Clone(lead)
	stamp(n, now, s.me, s.userName(s.me), false)
	changed, prev := diff(lead, n)
	changed = append(changed, "contact_ids")
	slices.Sort(changed)
	s.put(KindLead, n)
	return n, changed, prev
}

// MergeLeads merges source into destination as POST /lead/merge/ does:
// source's contacts, opportunities, tasks, activities and custom objects
// move to destination (each logs an "updated" event), destination logs "merged"
// (its data is the resulting lead) and "updated", and source is deleted.
// Every one of these events carries merge_source_lead_id and
// merge_destination_lead_id in meta.
func (s *Server) MergeLeads(source, destination string) error {
	if source == destination {
		return fmt.Errorf("closefake: cannot merge lead %s into itself", source)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.get(KindLead, source)
	if !ok {
		return fmt.Errorf("%w: source lead %s", ErrNotFound, source)
	}
	dst, ok := s.get(KindLead, destination)
	if !ok {
		return fmt.Errorf("%w: destination lead %s", ErrNotFound, destination)
	}
	now := s.now()
	meta := map[string]any{"merge_source_lead_id": source, "merge_destination_lead_id": destination}
	for _, ck := range []string{KindContact, KindOpportunity, KindTask, KindActivity, KindCustomObject} {
		for _, c := range s.children(ck, source) {
			n := maps.Clone(c)
			n["lead_id"] = destination
			if _, ok := n["lead_name"]; ok {
				n["lead_name"] = dst["display_name"]
			}
			stamp(n, now, s.me, s.userName(s.me), false)
			changed, prev := diff(c, n)
			s.put(ck, n)
			s.logEvent(ck, n, "updated", changed, prev, now, s.me, meta)
		}
	}
	n, changed, prev := s.restampLead(dst, now)
	s.logEvent(KindLead, n, "merged", nil, nil, now, s.me, meta)
	s.logEvent(KindLead, n, "updated", changed, prev, now, s.me, meta)
	s.deleteOne(KindLead, src["id"].(string), now, meta)
	return nil
}
