package closefake

import (
	"net/http"
	"time"
)

const orgName = "Demo Org"

// membershipID is the membership of a user in the fake's organisation.
func membershipID(userID string) string { return "memb_" + userID[len("user_"):] }

// serveMe serves GET /me/: the API key's user with its organizations,
// memberships, email accounts, phone numbers and email signatures.
func (s *Server) serveMe(w http.ResponseWriter, r *request) {
	s.mu.Lock()
	u, _ := s.get(KindUser, s.me)
	me := cloneWith(u)
	memb := membershipID(s.me)
	org := object{"id": s.orgID, "name": orgName, "plan_type": "business", "currency": "USD", "currency_symbol": "$",
		"memberships":   []any{object{"id": memb, "user_id": s.me, "role_id": s.meRole()}},
		"lead_statuses": s.statusSummaries(KindLeadStatus), "opportunity_statuses": s.statusSummaries(KindOpportunityStatus),
		"pipelines": s.renderAll("pipeline"), "features": []any{"calling", "email_sequences", "custom_activities"}}
	me["organizations"] = []any{org}
	me["memberships"] = []any{object{"id": memb, "organization_id": s.orgID, "user_id": s.me, "role_id": s.meRole(), "role": s.meRole()}}
	me["email_signatures"] = []any{object{"id": "emailsig_" + s.me[5:], "membership_id": memb, "value": "<p>Best,</p>"}}
	me["phone_numbers"] = []any{object{"id": "phon_" + s.me[5:], "number": "+14155550100", "number_formatted": "+1 415-555-0100", "label": "Direct"}}
	var accounts []any
	if c := s.cols["connected_account"]; c != nil {
		for _, id := range c.ids() {
			if a := c.objs[id]; a["user_id"] == s.me {
				accounts = append(accounts, a)
			}
		}
	}
	me["email_accounts"] = accounts
	body := selectFields(me, splitFields(r.q.Get("_fields")))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) statusSummaries(kind string) []any {
	var out []any
	for _, id := range s.col(kind).ids() {
		st := s.cols[kind].objs[id]
		sum := object{"id": st["id"], "label": st["label"]}
		if kind == KindOpportunityStatus {
			sum["type"], sum["pipeline_id"] = st["type"], st["pipeline_id"]
		}
		out = append(out, sum)
	}
	return out
}

func (s *Server) renderAll(kind string) []any {
	var out []any
	for _, id := range s.col(kind).ids() {
		out = append(out, s.render(kind, s.cols[kind].objs[id], true))
	}
	return out
}

// serveOrganization serves /organization/{id}/: the org with its
// memberships, inactive memberships (user fields prefixed user_), statuses
// and pipelines. It carries no invoices: the public API has none to show.
func (s *Server) serveOrganization(w http.ResponseWriter, r *request, id string) {
	s.mu.Lock()
	if id != s.orgID {
		s.mu.Unlock()
		writeErr(w, errorf(http.StatusNotFound, "Empty query: Organization matching query does not exist."))
		return
	}
	var members, inactive []any
	for i, uid := range s.col(KindUser).ids() {
		u := s.cols[KindUser].objs[uid]
		role := "user"
		if uid == s.me {
			role = s.meRole()
		}
		m := object{"id": membershipID(uid), "user_id": uid, "user_email": u["email"], "user_first_name": u["first_name"],
			"user_last_name": u["last_name"], "user_full_name": s.userName(uid), "role_id": role, "role": role,
			"permissions_granted": emptyList, "date_created": u["date_created"]}
		if i%4 == 1 {
			inactive = append(inactive, m)
		} else {
			members = append(members, m)
		}
	}
	org := object{"id": s.orgID, "name": orgName, "status": "active", "currency": "USD", "currency_symbol": "$",
		"memberships": members, "inactive_memberships": inactive, "lead_statuses": s.statusSummaries(KindLeadStatus),
		"opportunity_statuses": s.statusSummaries(KindOpportunityStatus), "pipelines": s.renderAll("pipeline"),
		"lead_custom_fields": emptyList, "billing_account_id": "acct_" + s.orgID[5:], "leads_email": "leads@example.com",
		"date_created": fmtTime(s.now().Add(-dataSpan - 200*24*time.Hour).Truncate(24 * time.Hour)),
		"date_updated": fmtTime(s.now().Add(-24 * time.Hour).Truncate(time.Hour)),
		"created_by":   s.me, "updated_by": s.me}
	body := selectFields(org, splitFields(r.q.Get("_fields")))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// meRole is the key's user's role (Options.MeRole, default admin).
func (s *Server) meRole() string {
	if s.opts.MeRole != "" {
		return s.opts.MeRole
	}
	return "admin"
}
